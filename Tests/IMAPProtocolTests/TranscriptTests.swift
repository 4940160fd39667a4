import NIOCore
import Testing
@testable import IMAPProtocol

/// Parser, session and encoder together, checked against transcripts (`C:` client bytes, `S:` server bytes).
/// Commands the session hands back as `.execute` are answered by a tiny stand-in for the server.
struct TranscriptTests {
    struct Harness {
        var parser = IMAPCommandParser()
        /// The connection's inbound bytes: the parser keeps its place in it between reads.
        var buffer = ByteBuffer()
        var session: IMAPSessionState
        /// The parser's limits once authenticated; before, the session narrows them (`parserLimits`), as the server does.
        var authenticatedLimits: IMAPParserLimits
        var output: [String] = []
        var closed = false

        init(isTLS: Bool, configuration: IMAPSessionState.Configuration = .init()) {
            session = IMAPSessionState(configuration: configuration, isTLS: isTLS)
            authenticatedLimits = IMAPParserLimits(maximumLiteralSize: configuration.appendLimit)
            send(session.greeting)
        }

        mutating func send(_ response: IMAPResponse) {
            let wire = IMAPResponseEncoder(utf8Enabled: session.utf8Enabled).encode(response).text
            output.append(contentsOf: wire.split(separator: "\r\n", omittingEmptySubsequences: true).map { "S: " + $0 })
        }

        mutating func client(_ line: String) {
            guard !closed else { return }
            buffer.writeString(line + "\r\n")
            while !closed {
                parser.limits = session.parserLimits(authenticatedLimits)
                switch parser.parseCommand(&buffer) {
                case .needMoreBytes: return
                case .needLiteral(_, let synchronizing): if synchronizing { send(.continuation("Ready")) }
                case .syntaxError(let tag, let reason):
                    send(tag.map { .tagged(tag: $0, .bad, text: reason) } ?? .untagged(.status(.bad, text: reason)))
                    parser.skipFailedCommand(&buffer)
                case .literalTooLarge(let tag, _, let synchronizing):
                    parser.skipFailedCommand(&buffer)
                    for action in session.literalTooLarge(tag: tag, synchronizing: synchronizing) { perform(action) }
                case .lineTooLong: send(.untagged(.status(.bye, text: "line too long"))); return
                case .command(let tag, let command):
                    for action in session.receive(tag: tag, command) { perform(action) }
                    parser.options.utf8Enabled = session.utf8Enabled
                }
            }
        }

        mutating func perform(_ action: IMAPSessionState.Action) {
            switch action {
            case .send(let response): send(response)
            case .startTLS: session.tlsStarted()
            case .close:
                output.append("(closed)")
                closed = true
            case .execute(let tag, .login(let user, let password)):
                if user == "bob", password == "secret" {
                    session.authenticated()
                    send(.tagged(tag: tag, .ok, code: .capability(session.capabilities), text: "LOGIN completed"))
                } else {
                    send(.tagged(tag: tag, .no, code: .authenticationFailed, text: "Invalid credentials"))
                }
            case .execute(let tag, let command): send(.tagged(tag: tag, .ok, text: "\(command) executed"))
            }
        }
    }

    static let base = SessionStateTests.base

    @Test func cleartextSessionMustStartTLSBeforeLogin() {
        var harness = Harness(isTLS: false)
        harness.client("a1 LOGIN bob secret")
        harness.client("a2 STARTTLS")
        harness.client("a3 CAPABILITY")
        harness.client("a4 LOGIN bob wrong")
        harness.client("a5 LOGIN {3}")
        harness.client("bob {6}")
        harness.client("secret")
        harness.client("a6 ENABLE IMAP4rev2")
        harness.client("a7 FROB")
        harness.client("a8 LOGOUT")
        #expect(harness.output == [
            "S: * OK [CAPABILITY \(Self.base) STARTTLS LOGINDISABLED] Letterbox ready",
            "S: a1 NO [PRIVACYREQUIRED] authentication requires TLS: use STARTTLS first",
            "S: a2 OK Begin TLS negotiation now",
            "S: * CAPABILITY \(Self.base) AUTH=PLAIN AUTH=SCRAM-SHA-256",
            "S: a3 OK CAPABILITY completed",
            "S: a4 NO [AUTHENTICATIONFAILED] Invalid credentials",
            "S: + Ready",
            "S: + Ready",
            "S: a5 OK [CAPABILITY \(Self.base)] LOGIN completed",
            "S: * ENABLED IMAP4rev2",
            "S: a6 OK ENABLE completed",
            "S: a7 BAD unknown command FROB",
            "S: * BYE Letterbox logging out",
            "S: a8 OK LOGOUT completed",
            "(closed)",
        ])
    }

    @Test func oversizedAppendIsRefusedWithoutReadingIt() {
        var harness = Harness(isTLS: true, configuration: .init(appendLimit: 100))
        harness.client("a0 LOGIN bob secret")
        harness.client("a1 APPEND INBOX {5000}")
        harness.client("a2 NOOP")
        harness.client("a3 APPEND INBOX {5000+}")
        #expect(harness.output.dropFirst(2) == [
            "S: a1 NO [TOOBIG] literal exceeds the limit of 100 bytes",
            "S: a2 OK NOOP completed",
            "S: a3 NO [TOOBIG] literal exceeds the limit of 100 bytes",
            "S: * BYE literal too large",
            "(closed)",
        ])
    }

    /// RFC 7888 §4 with LITERAL- as the model: before login no large literal is invited (no "+") or read.
    @Test func largeSynchronizingLiteralBeforeLoginIsRefusedWithBAD() {
        var harness = Harness(isTLS: true)
        harness.client("a1 LOGIN {49000000}")
        harness.client("a2 LOGIN {3}")
        harness.client("bob {6}")
        harness.client("secret")
        harness.client("a3 APPEND INBOX {49000000}")
        #expect(harness.output.dropFirst() == [
            "S: a1 BAD [TOOBIG] literal exceeds 8192 bytes before authentication",
            "S: + Ready",
            "S: + Ready",
            "S: a2 OK [CAPABILITY \(Self.base)] LOGIN completed",
            "S: + Ready",  // logged in: APPENDLIMIT applies
        ])
    }

    @Test func largeNonSynchronizingLiteralBeforeLoginEndsTheConnection() {
        var harness = Harness(isTLS: true)
        harness.client("a1 LOGIN {49000000+}")
        harness.client("a2 NOOP")
        #expect(harness.output.dropFirst() == [
            "S: * BYE [TOOBIG] literal exceeds 8192 bytes before authentication",
            "(closed)",
        ])
    }

    @Test func literalsUpToTheConfiguredLimitAreReadBeforeLogin() {
        let configuration = IMAPSessionState.Configuration(maximumLiteralSizeBeforeAuthentication: 1024)
        var harness = Harness(isTLS: true, configuration: configuration)
        harness.client("a1 LOGIN {1025}")
        harness.client("a2 LOGIN {3+}")
        harness.client("bob {6+}")
        harness.client("secret")
        #expect(harness.output.dropFirst() == [
            "S: a1 BAD [TOOBIG] literal exceeds 1024 bytes before authentication",
            "S: a2 OK [CAPABILITY \(Self.base)] LOGIN completed",
        ])
    }
}
