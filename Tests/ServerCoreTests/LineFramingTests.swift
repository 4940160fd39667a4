import NIOCore
import ServerCore
import Testing

/// Framing over real sockets: each case is a transcript. "C:" lines are sent as separate TCP writes (no newline added),
/// "S:" lines are expected replies in order.
@Suite("Line framing")
struct LineFramingTests {
    struct Transcript: CustomTestStringConvertible, Sendable {
        let name: String
        let steps: [Step]
        var testDescription: String { name }
    }

    enum Step: Sendable {
        case client(String)
        case server(String)
    }

    static let transcripts: [Transcript] = [
        Transcript(name: "CRLF line", steps: [.client("hello\r\n"), .server("+ECHO hello crlf")]),
        Transcript(name: "bare LF line", steps: [.client("hello\n"), .server("+ECHO hello lf")]),
        Transcript(name: "empty line", steps: [.client("\r\n"), .server("+ECHO  crlf")]),
        Transcript(
            name: "line split across TCP writes, CR and LF apart",
            steps: [.client("HEL"), .client("LO wor"), .client("ld\r"), .client("\n"), .server("+ECHO HELLO world crlf")]
        ),
        Transcript(
            name: "pipelined lines in one write",
            steps: [.client("one\r\ntwo\nthree\r\n"), .server("+ECHO one crlf"), .server("+ECHO two lf"),
                    .server("+ECHO three crlf")]
        ),
        Transcript(
            name: "line of exactly the limit (16) is accepted",
            steps: [.client("0123456789abcdef\r\n"), .server("+ECHO 0123456789abcdef crlf")]
        ),
        Transcript(
            name: "over-long line with its LF in the same write: rejected, next line fine",
            steps: [.client(String(repeating: "A", count: 40) + "\r\nnext\r\n"), .server("-ERR line too long (16)"),
                    .server("+ECHO next crlf")]
        ),
        Transcript(
            name: "over-long line without LF: rejected early, the rest discarded up to LF",
            steps: [.client(String(repeating: "B", count: 30)), .server("-ERR line too long (16)"),
                    .client(String(repeating: "C", count: 30)), .client("CCC\r\nafter\r\n"), .server("+ECHO after crlf")]
        ),
        Transcript(
            name: "17 bytes plus a CR waiting for its LF is already too long",
            steps: [.client("0123456789abcdefg\r"), .server("-ERR line too long (16)"), .client("\nok\r\n"),
                    .server("+ECHO ok crlf")]
        ),
        Transcript(
            name: "readBytes takes exactly n bytes, CRLF included, split over writes",
            steps: [.client("BYTES 7\r\nab"), .client("c\r\nde"), .client("\r\nrest\r\n"),
                    // The reply echoes the CRLF inside the 7 bytes; the CRLF after them is an empty line.
                    .server("+OK got abc"), .server("de"), .server("+ECHO  crlf"),
                    .server("+ECHO rest crlf")]
        ),
        Transcript(
            name: "readAvailable returns what is buffered, at most max",
            steps: [.client("AVAIL 4\r\nxyzzy\r\n"), .server("+OK avail xyzz"), .server("+ECHO y crlf")]
        ),
        Transcript(
            name: "batched writes arrive in order after one flush",
            steps: [.client("BATCH\r\n"), .server("+OK part 1"), .server("+OK part 2"), .server("+OK part 3")]
        ),
    ]

    @Test(arguments: transcripts)
    func transcript(_ transcript: Transcript) async throws {
        let configuration = ListenerConfiguration(name: "lines", port: 0, maxLineLength: 16)
        try await withListener(configuration) { _, port in
            try await TestClient.with(port: port) { client in
                #expect(try await client.readLine() == "+OK ready")
                for step in transcript.steps {
                    switch step {
                    case .client(let text): try await client.send(text)
                    case .server(let expected): #expect(try await client.readLine() == expected)
                    }
                }
                try await client.send("QUIT\r\n")
                #expect(try await client.readLine() == "+OK bye")
                #expect(try await client.readLine() == nil)
            }
        }
    }

    @Test("idle timeout ends a silent session")
    func idleTimeout() async throws {
        let configuration = ListenerConfiguration(name: "idle", port: 0, idleTimeout: .milliseconds(150))
        let log = SessionLog()
        try await withListener(configuration, log: log) { _, port in
            try await TestClient.with(port: port) { client async throws in
                #expect(try await client.readLine() == "+OK ready")
                #expect(try await client.readLine() == "-ERR idle timeout")
                #expect(try await client.readLine() == nil)
            }
        }
        #expect(log.all.contains("idle timeout"))
    }

    @Test("the session changes the idle timeout per read; activity before it expires keeps the session")
    func idleTimeoutChangedBySession() async throws {
        // The listener default (1 hour) would never fire in a test; the session lowers it to 600 ms.
        let configuration = ListenerConfiguration(name: "idle", port: 0, idleTimeout: .seconds(3600))
        try await withListener(configuration) { _, port in
            try await TestClient.with(port: port) { client in
                #expect(try await client.readLine() == "+OK ready")
                try await client.send("TIMEOUT 600\r\n")
                #expect(try await client.readLine() == "+OK")
                try await client.send("still here\r\n")
                #expect(try await client.readLine() == "+ECHO still here crlf")
                #expect(try await client.readLine() == "-ERR idle timeout")
            }
        }
    }

    @Test("a wake-up interrupts a waiting read and coalesces")
    func wakeUp() async throws {
        let log = SessionLog()
        try await withListener(log: log) { _, port in
            try await TestClient.with(port: port) { client in
                #expect(try await client.readLine() == "+OK ready")
                let waker = try #require(log.allWakers.first)
                waker.wakeUp()
                #expect(try await client.readLine() == "* WOKEN")
                // The session answers a line sent after the wake-up: nothing is lost or reordered.
                try await client.send("after\r\n")
                #expect(try await client.readLine() == "+ECHO after crlf")
            }
        }
    }
}
