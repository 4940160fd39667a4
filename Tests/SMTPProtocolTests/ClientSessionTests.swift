import MailCore
import NIOCore
import Testing

@testable import SMTPProtocol

/// Runs a client transcript: `S:` lines are what the scripted server sends (consecutive lines form one read),
/// `C:` lines what the client must write (body bytes are shown escaped, `\r\n` between lines), `* …` lines the
/// other actions: `* starttls`, `* finished <outcome>`, `* close`. TLS handshakes always succeed.
private func runClientTranscript(
    _ transcript: String, configuration: SMTPClientSession.Configuration = .init(hostname: "out.local.example"),
    message: SMTPOutboundMessage, sourceLocation: SourceLocation = #_sourceLocation
) -> SMTPClientSession {
    var session = SMTPClientSession(configuration: configuration, message: message)
    var parser = SMTPReplyParser()
    var output: [String] = []
    var expected: [String] = []
    var incoming = ByteBuffer()

    func perform(_ actions: [SMTPClientAction], _ session: inout SMTPClientSession, _ output: inout [String]) {
        for action in actions {
            switch action {
            case .send(let bytes):
                let text = String(decoding: bytes.readableBytesView, as: UTF8.self)
                if text.hasPrefix("BDAT") || !text.hasSuffix("\r\n") || text.contains("\r\n.\r\n") || text == ".\r\n" {
                    output.append("C: " + escape(Array(bytes.readableBytesView)))
                } else {
                    output += text.split(separator: "\r\n").map { "C: " + $0 }
                }
            case .startTLS:
                output.append("* starttls")
                perform(session.tlsEstablished(), &session, &output)
            case .finished(let result):
                output.append("* finished \(describe(result.outcome))")
            case .close:
                output.append("* close")
            }
        }
    }

    func flushServer(_ session: inout SMTPClientSession, _ output: inout [String]) {
        while true {
            do {
                guard let reply = try parser.next(from: &incoming) else { return }
                perform(session.receive(reply), &session, &output)
            } catch {
                perform(session.receiveInvalidReply(), &session, &output)
                return
            }
        }
    }

    for line in transcript.split(separator: "\n").map({ String($0.drop { $0 == " " }) }) where !line.isEmpty {
        if line.hasPrefix("S: ") {
            if !expected.isEmpty {
                flushServer(&session, &output)
                #expect(output == expected, sourceLocation: sourceLocation)
                output = []
                expected = []
            }
            incoming.writeString(String(line.dropFirst(3)) + "\r\n")
        } else {
            expected.append(line)
        }
    }
    flushServer(&session, &output)
    #expect(output == expected, sourceLocation: sourceLocation)
    return session
}

private func describe(_ outcome: SMTPClientOutcome) -> String {
    guard case .failed(let stage, let reply) = outcome else { return "\(outcome)" }
    return "failed \(stage) \(reply.code) \(reply.enhancedCode?.description ?? "-")"
}

private func message(
    from: String? = "sender@local.example", to: [String] = ["rcpt@remote.example"], body: String = "Subject: t\r\n\r\nhi\r\n",
    parameters: SMTPMailParameters = SMTPMailParameters()
) -> SMTPOutboundMessage {
    SMTPOutboundMessage(
        mailFrom: from.flatMap { EmailAddress($0) }, recipients: to.map { SMTPRecipient(address: EmailAddress($0)!) },
        parameters: parameters, body: ByteBuffer(string: body))
}

private let fullEHLO = """
    S: 250-mx.remote.example
    S: 250-PIPELINING
    S: 250-SIZE 1000
    S: 250-8BITMIME
    S: 250-SMTPUTF8
    S: 250-DSN
    S: 250-CHUNKING
    S: 250 STARTTLS
    """

@Suite struct ClientSessionTests {
    @Test func pipelinedDeliveryWithOpportunisticTLS() {
        let session = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            \(fullEHLO)
            C: STARTTLS
            S: 220 2.0.0 Ready
            * starttls
            C: EHLO out.local.example
            S: 250-mx.remote.example
            S: 250-PIPELINING
            S: 250-SIZE 1000
            S: 250 8BITMIME
            C: MAIL FROM:<sender@local.example> SIZE=23
            C: RCPT TO:<rcpt@remote.example>
            C: RCPT TO:<nobody@remote.example>
            C: DATA
            S: 250 2.1.0 Ok
            S: 250 2.1.5 Ok
            S: 550 5.1.1 No such user
            S: 354 Go ahead
            C: Subject: t\\r\\n\\r\\n..hidden\\r\\n.\\r\\n
            S: 250 2.0.0 Ok: queued as X
            * finished delivered
            C: QUIT
            S: 221 2.0.0 Bye
            * close
            """,
            message: message(to: ["rcpt@remote.example", "nobody@remote.example"], body: "Subject: t\r\n\r\n.hidden\r\n"))
        let result = session.finishedResult
        #expect(result?.tlsActive == true)
        #expect(result?.recipients.map(\.reply.code) == [250, 550])
        #expect(result?.recipients.first?.reply.enhancedCode == SMTPEnhancedStatusCode(2, 0, 0))
        #expect(result?.messageReply?.text == "Ok: queued as X")
    }

    @Test func oneCommandAtATimeWithoutPipelining() {
        _ = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            S: 250 mx.remote.example
            C: MAIL FROM:<>
            S: 250 Ok
            C: RCPT TO:<rcpt@remote.example>
            S: 250 Ok
            C: RCPT TO:<two@remote.example>
            S: 451 4.3.0 Later
            C: DATA
            S: 354 Go
            C: Subject: t\\r\\n\\r\\nhi\\r\\n.\\r\\n
            S: 250 Ok
            * finished delivered
            C: QUIT
            """, configuration: .init(hostname: "out.local.example", tlsPolicy: .none),
            message: message(from: nil, to: ["rcpt@remote.example", "two@remote.example"]))
    }

    @Test func heloFallback() {
        _ = runClientTranscript(
            """
            S: 220 old.remote.example SMTP
            C: EHLO out.local.example
            S: 502 Command not implemented
            C: HELO out.local.example
            S: 250 old.remote.example
            C: MAIL FROM:<sender@local.example>
            S: 250 Ok
            C: RCPT TO:<rcpt@remote.example>
            S: 250 Ok
            C: DATA
            """, message: message())
    }

    @Test func requiredTLSNotOffered() {
        _ = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            S: 250-mx.remote.example
            S: 250 PIPELINING
            * finished tlsUnavailable
            C: QUIT
            """, configuration: .init(hostname: "out.local.example", tlsPolicy: .required), message: message())
    }

    @Test func preChecks() {
        _ = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            \(fullEHLO)
            * finished messageTooLarge(limit: 1000)
            C: QUIT
            """, configuration: .init(hostname: "out.local.example", tlsPolicy: .none),
            message: message(body: String(repeating: "x", count: 1001)))
        _ = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            S: 250-mx.remote.example
            S: 250 PIPELINING
            * finished needs8BitMIME
            C: QUIT
            """, configuration: .init(hostname: "out.local.example", tlsPolicy: .none), message: message(body: "caf\u{e9}\r\n"))
        _ = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            S: 250-mx.remote.example
            S: 250 8BITMIME
            * finished needsSMTPUTF8
            C: QUIT
            """, configuration: .init(hostname: "out.local.example", tlsPolicy: .none), message: message(to: ["jos\u{e9}@remote.example"]))
        _ = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            \(fullEHLO)
            * finished requireTLSUnsupported
            C: QUIT
            """, configuration: .init(hostname: "out.local.example", tlsPolicy: .none),
            message: message(parameters: SMTPMailParameters(requireTLS: true)))
    }

    @Test func mailRefusedInPipelineConsumesAllReplies() {
        _ = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            S: 250-mx.remote.example
            S: 250-DSN
            S: 250 PIPELINING
            C: MAIL FROM:<sender@local.example> RET=HDRS ENVID=id+2B1
            C: RCPT TO:<rcpt@remote.example> NOTIFY=FAILURE
            C: DATA
            S: 550 5.7.1 Go away
            S: 503 5.5.1 No MAIL
            S: 554 5.5.1 No valid recipients
            * finished failed mail 550 5.7.1
            C: QUIT
            """, configuration: .init(hostname: "out.local.example", tlsPolicy: .none),
            message: SMTPOutboundMessage(
                mailFrom: EmailAddress("sender@local.example"),
                recipients: [SMTPRecipient(address: EmailAddress("rcpt@remote.example")!, notify: .conditions(success: false, failure: true, delay: false))],
                parameters: SMTPMailParameters(dsnReturn: .headers, envelopeID: "id+1"), body: ByteBuffer(string: "x\r\n")))
    }

    @Test func allRecipientsRefusedButDataAccepted() {
        _ = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            S: 250-mx.remote.example
            S: 250 PIPELINING
            C: MAIL FROM:<sender@local.example>
            C: RCPT TO:<rcpt@remote.example>
            C: DATA
            S: 250 Ok
            S: 550 5.1.1 No
            S: 354 Go
            C: .\\r\\n
            S: 554 5.5.1 No valid recipients
            * finished allRecipientsRefused
            C: QUIT
            """, configuration: .init(hostname: "out.local.example", tlsPolicy: .none), message: message())
    }

    @Test func chunkingWhenPreferred() {
        _ = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            S: 250-mx.remote.example
            S: 250-PIPELINING
            S: 250 CHUNKING
            C: MAIL FROM:<sender@local.example>
            C: RCPT TO:<rcpt@remote.example>
            S: 250 Ok
            S: 250 Ok
            C: BDAT 3 LAST\\r\\nx\\r\\n
            S: 250 Ok
            * finished delivered
            C: QUIT
            """, configuration: .init(hostname: "out.local.example", tlsPolicy: .none, preferChunking: true),
            message: message(body: "x\r\n"))
    }

    @Test func greetingRefusedAndStartTLSRefused() {
        _ = runClientTranscript(
            """
            S: 554 5.7.1 No service
            * finished failed greeting 554 5.7.1
            C: QUIT
            S: 221 Bye
            * close
            """, message: message())
        _ = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            S: 250-mx.remote.example
            S: 250 STARTTLS
            C: STARTTLS
            S: 454 4.7.0 TLS not available
            C: MAIL FROM:<sender@local.example>
            S: 250 Ok
            C: RCPT TO:<rcpt@remote.example>
            """, message: message())
        _ = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            S: 250-mx.remote.example
            S: 250 STARTTLS
            C: STARTTLS
            S: 454 4.7.0 TLS not available
            * finished tlsUnavailable
            C: QUIT
            """, configuration: .init(hostname: "out.local.example", tlsPolicy: .required), message: message())
    }

    @Test func messageRefusedAfterData() {
        let session = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            S: 250 mx.remote.example
            C: MAIL FROM:<sender@local.example>
            S: 250 Ok
            C: RCPT TO:<rcpt@remote.example>
            S: 250 Ok
            C: DATA
            S: 354 Go
            C: x\\r\\n.\\r\\n
            S: 552 5.3.4 Too big
            * finished failed message 552 5.3.4
            C: QUIT
            """, configuration: .init(hostname: "out.local.example", tlsPolicy: .none), message: message(body: "x\r\n"))
        #expect(session.finishedResult?.recipients.map(\.reply.code) == [552])
    }

    @Test func garbageReplyIsAProtocolError() {
        _ = runClientTranscript(
            """
            S: 220 mx.remote.example ESMTP
            C: EHLO out.local.example
            S: hello there
            * finished protocolError
            * close
            """, message: message())
    }
}

@Suite struct ReplyParserTests {
    @Test func multiLineAndEnhancedCodes() throws {
        var parser = SMTPReplyParser()
        var buffer = ByteBuffer(string: "250-first\r\n250-SIZE 10\r\n250 last\r\n550 5.1.1 No such user\r\n334 \r\n220\r\n")
        #expect(try parser.next(from: &buffer) == SMTPReply(code: 250, enhanced: nil, lines: ["first", "SIZE 10", "last"]))
        #expect(try parser.next(from: &buffer) == SMTPReply(550, SMTPEnhancedStatusCode(5, 1, 1), "No such user"))
        #expect(try parser.next(from: &buffer) == SMTPReply(334, nil, ""))
        #expect(try parser.next(from: &buffer) == SMTPReply(220, nil, ""))
        #expect(try parser.next(from: &buffer) == nil)
    }

    @Test func partialInput() throws {
        var parser = SMTPReplyParser()
        let wire = Array("250-2.0.0 a\r\n250 2.0.0 b\r\n".utf8)
        for cut in 0...wire.count {
            var buffer = ByteBuffer(bytes: wire[..<cut])
            var replies: [SMTPReply] = []
            if let reply = try parser.next(from: &buffer) { replies.append(reply) }
            buffer.writeBytes(wire[cut...])
            if let reply = try parser.next(from: &buffer) { replies.append(reply) }
            #expect(replies.map(\.lines) == [["a", "b"]], "split at \(cut)")
        }
    }

    @Test(arguments: [
        ("abc\r\n", SMTPReplyParseError.malformed), ("250*x\r\n", .malformed), ("150 old\r\n", .malformed),
        ("250-a\r\n251 b\r\n", .inconsistentCode),
    ])
    func errors(wire: String, error: SMTPReplyParseError) {
        var parser = SMTPReplyParser()
        var buffer = ByteBuffer(string: wire)
        #expect(throws: error) { while try parser.next(from: &buffer) != nil {} }
    }

    @Test func limits() {
        var parser = SMTPReplyParser(maximumLineLength: 16, maximumLines: 2)
        var long = ByteBuffer(string: "250 " + String(repeating: "x", count: 20))
        #expect(throws: SMTPReplyParseError.lineTooLong) { try parser.next(from: &long) }
        var parser2 = SMTPReplyParser(maximumLineLength: 16, maximumLines: 2)
        var many = ByteBuffer(string: "250-a\r\n250-b\r\n250-c\r\n250 d\r\n")
        #expect(throws: SMTPReplyParseError.tooManyLines) { try parser2.next(from: &many) }
    }

    @Test func encoderRoundTrip() throws {
        for reply in [SMTPReply.relayDenied, .tooManyRecipients, .queued("ABC"), SMTPReply(code: 250, enhanced: nil, lines: ["h", "PIPELINING"])] {
            var parser = SMTPReplyParser()
            var buffer = ByteBuffer(bytes: reply.encodedBytes())
            #expect(try parser.next(from: &buffer) == reply)
        }
        #expect(SMTPReply(code: 250, enhanced: SMTPEnhancedStatusCode(2, 0, 0), lines: ["a", "b"]).description == "250-2.0.0 a\r\n250 2.0.0 b\r\n")
        #expect(SMTPReply(250, nil, "a\r\n250 forged").description == "250 a  250 forged\r\n")
    }

    @Test func dotStuffer() {
        let encoded = SMTPDotStuffer.encode(ByteBuffer(string: ".a\r\nb\n.\r\n..c\rd"))
        #expect(String(buffer: encoded) == "..a\r\nb\r\n..\r\n...c\r\nd\r\n.\r\n")
        // What the stuffer writes, the DATA decoder reads back.
        var decoder = SMTPDataDecoder()
        var wire = encoded
        let output = decoder.decode(&wire)
        #expect(output.outcome == .complete(size: 18))
        #expect(output.content.map { String(buffer: $0) } == ".a\r\nb\r\n.\r\n..c\r\nd\r\n")
        #expect(String(buffer: SMTPDotStuffer.encode(ByteBuffer())) == ".\r\n")
    }

    @Test func catalogueHasEnhancedCodesMatchingClass() {
        let replies: [SMTPReply] = [
            .ok, .senderOk, .recipientOk, .cannotVerify, .help, .readyToStartTLS, .authenticationSucceeded, .tooManyErrors,
            .localError, .tooManyRecipients, .tlsNotAvailable, .commandUnrecognized, .syntaxError, .lineTooLong,
            .invalidArguments, .badSenderSyntax, .badRecipientSyntax, .invalidBase64, .authenticationCancelled,
            .commandNotImplemented, .badSequence, .mechanismNotSupported, .parameterNotRecognized, .authRequired,
            .authenticationFailed, .encryptionRequired, .unknownUser, .relayDenied, .senderNotOwned, .messageTooBig,
            .bareLineEnding, .messageLineTooLong, .noValidRecipients, .nonASCIISenderRefused, .nonASCIIRecipientRefused,
        ]
        for reply in replies {
            #expect(reply.enhancedCode?.statusClass == reply.code / 100, "\(reply)")
        }
        #expect(SMTPReply.relayDenied.code == 554 && SMTPReply.relayDenied.enhancedCode?.description == "5.7.1")
        #expect(SMTPReply.unknownUser.code == 550 && SMTPReply.unknownUser.enhancedCode?.description == "5.1.1")
        #expect(SMTPReply.tooManyRecipients.code == 452 && SMTPReply.tooManyRecipients.enhancedCode?.description == "4.5.3")
        #expect(SMTPReply.authRequired.code == 530 && SMTPReply.authRequired.enhancedCode?.description == "5.7.0")
        #expect(SMTPReply.encryptionRequired.code == 538 && SMTPReply.encryptionRequired.enhancedCode?.description == "5.7.11")
        #expect(SMTPReply.senderNotOwned.code == 553 && SMTPReply.senderNotOwned.enhancedCode?.description == "5.7.1")
    }
}
