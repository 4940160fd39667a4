import MailCore
import NIOCore
import Testing

@testable import SMTPProtocol

private let preamble = """
    S: 220 mx.local.example ESMTP Letterbox
    C: HELO client.example
    C: MAIL FROM:<a@b.example>
    S: 250 mx.local.example
    S: 250 2.1.0 Sender ok

    """

@Suite struct RelayTests {
    static let tricks: [(String, String)] = [
        // (RCPT argument, expected reply on the MX role)
        ("<\"user@other.example\"@local.example>", "554 5.7.1 Relay access denied"),
        ("<user%other.example@local.example>", "554 5.7.1 Relay access denied"),
        ("<\"user%other.example\"@local.example>", "554 5.7.1 Relay access denied"),
        ("<other.example!user@local.example>", "554 5.7.1 Relay access denied"),
        ("<@local.example:user@other.example>", "554 5.7.1 Relay access denied"),
        ("<@local.example,@relay.example:alice@local.example>", "554 5.7.1 Relay access denied"),
        ("<user@other.example@local.example>", "554 5.7.1 Relay access denied"),
        ("<alice@[192.0.2.1]>", "554 5.7.1 Relay access denied"),
        ("<user@other.example>", "554 5.7.1 Relay access denied"),
        ("<alice@local.example>", "250 2.1.5 Recipient ok"),
        ("<\"alice\"@local.example>", "250 2.1.5 Recipient ok"),
        ("<ALICE@LOCAL.EXAMPLE>", "250 2.1.5 Recipient ok"),
    ]

    @Test(arguments: tricks)
    func mxRefusesRelayTricks(argument: String, reply: String) {
        runServerTranscript(preamble + "C: RCPT TO:\(argument)\nS: \(reply)", configuration: mxConfiguration())
    }

    @Test func relayTricksNeverReachTheServerCheck() {
        for (argument, reply) in Self.tricks where reply.hasPrefix("554") && argument != "<user@other.example>" {
            var harness = ServerHarness(mxConfiguration())
            harness.world.localDomains = ["local.example", "other.example"]  // even if the server would say yes
            harness.send(Array("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:\(argument)\r\n".utf8))
            #expect(harness.output.last == "554 5.7.1 Relay access denied", "\(argument)")
        }
    }
}

@Suite struct BodyTransactionTests {
    @Test func smugglingThroughTheSessionInjectsNothing() {
        // <LF>.<CR><LF> does not end the body: the "second message" is part of the first, which is refused.
        runServerTranscript(
            preamble + """
                C: RCPT TO:<alice@local.example>
                C: DATA
                S: 250 2.1.5 Recipient ok
                S: 354 End data with <CR><LF>.<CR><LF>
                R: hello\\n.\\r\\nMAIL FROM:<evil@b.example>\\r\\nRCPT TO:<bob@local.example>\\r\\nDATA\\r\\nforged\\r\\n.\\r\\nNOOP\\r\\n
                S: * discard
                S: 550 5.5.2 Message contains bare <CR> or <LF>; lines must end with <CR><LF>
                S: 250 2.0.0 Ok
                C: RCPT TO:<alice@local.example>
                S: 503 5.5.1 Bad sequence of commands
                """, configuration: mxConfiguration())
    }

    @Test(arguments: ["x\\r.\\r\\n", "x\\n.\\n", "x\\r\\n.\\n", "x\\rmore"])
    func smugglingVectorsAreRefused(vector: String) {
        runServerTranscript(
            preamble + """
                C: RCPT TO:<alice@local.example>
                C: DATA
                S: 250 2.1.5 Recipient ok
                S: 354 End data with <CR><LF>.<CR><LF>
                R: \(vector)QUIT\\r\\n.\\r\\n
                S: * discard
                S: 550 5.5.2 Message contains bare <CR> or <LF>; lines must end with <CR><LF>
                """, configuration: mxConfiguration())
    }

    @Test func sizeLimitDuringData() {
        var configuration = mxConfiguration()
        configuration.maximumMessageSize = 8
        runServerTranscript(
            preamble + """
                C: RCPT TO:<alice@local.example>
                C: DATA
                S: 250 2.1.5 Recipient ok
                S: 354 End data with <CR><LF>.<CR><LF>
                C: 0123456789
                C: .
                C: NOOP
                S: * discard
                S: 552 5.3.4 Message size exceeds fixed maximum message size
                S: 250 2.0.0 Ok
                """, configuration: configuration)
    }

    @Test func bdatChunks() {
        runServerTranscript(
            preamble + """
                C: RCPT TO:<alice@local.example>
                R: BDAT 5\\r\\nab\\r\\nc
                R: BDAT 3 LAST\\r\\nd\\r\\n
                S: 250 2.1.5 Recipient ok
                S: 250 2.0.0 Ok: 5 octets received
                S: * deliver <a@b.example> to=alice@local.example
                S: * body ab\\r\\ncd\\r\\n
                S: 250 2.0.0 Ok: queued as Q1
                C: MAIL FROM:<a@b.example>
                C: RCPT TO:<alice@local.example>
                R: BDAT 0 LAST\\r\\n
                S: 250 2.1.0 Sender ok
                S: 250 2.1.5 Recipient ok
                S: * deliver <a@b.example> to=alice@local.example
                S: * body 
                S: 250 2.0.0 Ok: queued as Q1
                """, configuration: mxConfiguration())
    }

    @Test func bdatSplitAtEveryByte() {
        let wire = Array("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@local.example>\r\nBDAT 4\r\nab\r\nBDAT 4 LAST\r\ncd\r\nQUIT\r\n".utf8)
        var reference = ServerHarness(mxConfiguration())
        reference.send(wire)
        #expect(reference.output.contains("* body ab\\r\\ncd\\r\\n"))
        for cut in 0...wire.count {
            var harness = ServerHarness(mxConfiguration())
            harness.send(Array(wire[..<cut]))
            harness.send(Array(wire[cut...]))
            #expect(harness.output == reference.output, "split at \(cut)")
        }
    }

    @Test func dataSplitAtEveryByte() {
        let wire = Array("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@local.example>\r\nDATA\r\nab\r\n..c\r\n.\r\nQUIT\r\n".utf8)
        var reference = ServerHarness(mxConfiguration())
        reference.send(wire)
        #expect(reference.output.contains("* body ab\\r\\n.c\\r\\n"))
        for cut in 0...wire.count {
            var harness = ServerHarness(mxConfiguration())
            harness.send(Array(wire[..<cut]))
            harness.send(Array(wire[cut...]))
            #expect(harness.output == reference.output, "split at \(cut)")
        }
    }

    @Test func bdatRefusalsStillConsumeTheChunk() {
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: HELO c
            R: BDAT 6\\r\\nNOOP\\r\\n
            C: MAIL FROM:<a@b.example>
            R: BDAT 6 LAST\\r\\nQUIT\\r\\n
            C: RCPT TO:<alice@local.example>
            R: BDAT 3\\r\\na\\nb
            R: BDAT 2 LAST\\r\\nc\\r
            C: RSET
            S: 250 mx.local.example
            S: 503 5.5.1 Bad sequence of commands
            S: 250 2.1.0 Sender ok
            S: 554 5.5.1 No valid recipients
            S: 250 2.1.5 Recipient ok
            S: * discard
            S: 550 5.5.2 Message contains bare <CR> or <LF>; lines must end with <CR><LF>
            S: 503 5.5.1 Bad sequence of commands
            S: 250 2.0.0 Ok
            """, configuration: mxConfiguration())
    }

    @Test func bdatSizeLimitAndDataAfterBdat() {
        var configuration = mxConfiguration()
        configuration.maximumMessageSize = 4
        runServerTranscript(
            preamble + """
                C: RCPT TO:<alice@local.example>
                R: BDAT 2\\r\\nab
                C: DATA
                S: 250 2.1.5 Recipient ok
                S: 250 2.0.0 Ok: 2 octets received
                S: 503 5.5.1 Bad sequence of commands
                R: BDAT 3 LAST\\r\\ncde
                S: * discard
                S: 552 5.3.4 Message size exceeds fixed maximum message size
                R: BDAT 1 LAST\\r\\nx
                S: 503 5.5.1 Bad sequence of commands
                """, configuration: configuration)
    }

    @Test func binaryMIMERequiresBdat() {
        var configuration = mxConfiguration()
        configuration.acceptBinaryMIME = true
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: HELO c
            C: MAIL FROM:<a@b.example> BODY=BINARYMIME
            C: RCPT TO:<alice@local.example>
            C: DATA
            S: 250 mx.local.example
            S: 250 2.1.0 Sender ok
            S: 250 2.1.5 Recipient ok
            S: 503 5.5.1 Bad sequence of commands
            R: BDAT 3 LAST\\r\\n\\n\\r\\r
            S: * deliver <a@b.example> to=alice@local.example
            S: * body \\n\\r\\r
            S: 250 2.0.0 Ok: queued as Q1
            """, configuration: configuration)
    }

    @Test func rsetDuringChunksDiscardsBody() {
        runServerTranscript(
            preamble + """
                C: RCPT TO:<alice@local.example>
                R: BDAT 2\\r\\nab
                C: RSET
                S: 250 2.1.5 Recipient ok
                S: 250 2.0.0 Ok: 2 octets received
                S: * discard
                S: 250 2.0.0 Ok
                """, configuration: mxConfiguration())
    }
}

@Suite struct RobustnessTests {
    /// A small deterministic generator (SplitMix64) so failures reproduce.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func randomInputNeverBreaksTheSession() {
        var random = SplitMix(state: 42)
        let fragments = [
            "EHLO c\r\n", "MAIL FROM:<a@b.example>\r\n", "RCPT TO:<alice@local.example>\r\n", "DATA\r\n", "BDAT 3\r\n",
            "BDAT 2 LAST\r\n", ".\r\n", "\r\n", "\n", "\r", ".", "RSET\r\n", "AUTH PLAIN\r\n", "*\r\n", "STARTTLS\r\n",
            "x", "\u{0}", "\u{FF}", "QUIT\r\n", "BDAT 99999\r\n",
        ]
        for _ in 0..<300 {
            var configuration = mxConfiguration(tls: Bool.random(using: &random))
            configuration.maximumErrors = 1000
            var harness = ServerHarness(configuration)
            for _ in 0..<40 {
                var bytes: [UInt8] = []
                for _ in 0..<Int.random(in: 1...6, using: &random) {
                    bytes += Array(fragments.randomElement(using: &random)!.utf8)
                }
                harness.send(bytes)
                #expect(harness.session.inputMode != .none || harness.session.isClosed)
            }
            // Whatever happened, every opened body was closed exactly once or is still open in a live session.
            #expect(!harness.bodyOpen || (!harness.session.isClosed && harness.session.transaction != nil))
        }
    }

    @Test func randomBytesThroughTheReplyParser() {
        var random = SplitMix(state: 7)
        for _ in 0..<2000 {
            var parser = SMTPReplyParser(maximumLineLength: 64, maximumLines: 4)
            let length = Int.random(in: 0...40, using: &random)
            let alphabet = Array("0123456789 -\r\n25xA.".utf8)
            var buffer = ByteBuffer(bytes: (0..<length).map { _ in alphabet.randomElement(using: &random)! })
            while (try? parser.next(from: &buffer)) != nil {}
        }
    }
}
