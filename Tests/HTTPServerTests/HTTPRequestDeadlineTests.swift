import NIOCore
import Testing
@testable import HTTPServer

/// The request deadlines as a transcript: what arrives or is sent, and what the deadline does.
@Suite struct HTTPRequestDeadlineTests {
    static let head = TimeAmount.seconds(10), body = TimeAmount.seconds(30)

    enum Event {
        case received(String)
        case written
        case flushed
    }

    static func run(_ events: [Event]) -> [HTTPRequestDeadline.Action] {
        var deadline = HTTPRequestDeadline(headTimeout: head, bodyTimeout: body)
        var actions = [deadline.opened()]
        for event in events {
            switch event {
            case .received(let text): actions.append(deadline.received(ByteBuffer(string: text).readableBytesView))
            case .written: actions.append(deadline.responseWritten())
            case .flushed: actions.append(deadline.responseFlushed())
            }
        }
        return actions
    }

    @Test func aHeadTrickledInNeverMovesTheDeadline() {
        let actions = Self.run(["GET / HTTP/1.1\r\n", "Host: a\r\n", "X", "-", "a", ":", " ", "b"].map { .received($0) })
        #expect(actions == [.armTimer(Self.head)] + Array(repeating: .none, count: 8))
    }

    @Test func aCompleteHeadGivesTheBodyItsOwnDeadlineOnce() {
        let actions = Self.run([.received("POST /x HTTP/1.1\r\nContent-Length: 5\r\n"), .received("\r\nab"), .received("\r\n\r\n"),
                                .written, .written, .flushed])
        #expect(actions == [.armTimer(Self.head), .none, .armTimer(Self.body), .none, .cancelTimer, .none, .armTimer(Self.head)])
    }

    @Test func theHeadEndsAtAnEmptyLineWithBareLineFeedsToo() {
        #expect(Self.run([.received("GET / HTTP/1.1\nHost: a\n\n")]).last == .armTimer(Self.body))
        // Empty lines before the request line are not the end of a head (RFC 9112 §2.2).
        #expect(Self.run([.received("\r\n\r\nGET / HTTP/1.1\r\n")]).last == HTTPRequestDeadline.Action.none)
    }

    @Test func eachKeptAliveRequestStartsAFreshHeadDeadline() {
        let actions = Self.run([.received("GET /1 HTTP/1.1\r\n\r\n"), .written, .flushed, .received("GET /2 HTTP/1.1\r\n"),
                                .received("\r\n"), .written, .flushed])
        #expect(actions == [.armTimer(Self.head), .armTimer(Self.body), .cancelTimer, .armTimer(Self.head), .none,
                            .armTimer(Self.body), .cancelTimer, .armTimer(Self.head)])
    }
}

@Suite struct HTTPConnectionCountTests {
    @Test func admitsUpToTheMaximumAndAgainAfterARelease() {
        let count = HTTPConnectionCount(maximum: 2)
        #expect(count.admit() && count.admit())
        #expect(!count.admit())
        count.release()
        #expect(count.admit())
        #expect(count.current == 2)
    }
}
