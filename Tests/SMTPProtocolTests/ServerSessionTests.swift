import MailCore
import NIOCore
import Testing

@testable import SMTPProtocol

@Suite struct ServerSessionTests {
    @Test func mxHappyPathWithEHLOAdvertisement() {
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: EHLO client.example
            S: 250-mx.local.example greets client.example
            S: 250-PIPELINING
            S: 250-SIZE 52428800
            S: 250-8BITMIME
            S: 250-SMTPUTF8
            S: 250-ENHANCEDSTATUSCODES
            S: 250-CHUNKING
            S: 250-DSN
            S: 250 STARTTLS
            C: MAIL FROM:<a@b.example> SIZE=10
            S: 250 2.1.0 Sender ok
            C: RCPT TO:<alice@local.example>
            S: 250 2.1.5 Recipient ok
            C: DATA
            S: 354 End data with <CR><LF>.<CR><LF>
            C: Subject: hi
            C:
            C: ..dot
            C: .
            S: * deliver <a@b.example> to=alice@local.example
            S: * body Subject: hi\\r\\n\\r\\n.dot\\r\\n
            S: 250 2.0.0 Ok: queued as Q1
            C: QUIT
            S: 221 2.0.0 mx.local.example closing connection
            S: * close
            """, configuration: mxConfiguration())
    }

    @Test func ehloAfterTLSOffersAuthAndRequireTLS() {
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: EHLO client.example
            S: 250-mx.local.example greets client.example
            S: 250-PIPELINING
            S: 250-SIZE 52428800
            S: 250-8BITMIME
            S: 250-SMTPUTF8
            S: 250-ENHANCEDSTATUSCODES
            S: 250-CHUNKING
            S: 250-DSN
            S: 250-AUTH PLAIN LOGIN SCRAM-SHA-256
            S: 250 REQUIRETLS
            """, configuration: mxConfiguration(tls: true))
    }

    @Test func heloAndCommandOrder() {
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: MAIL FROM:<a@b.example>
            S: 503 5.5.1 Bad sequence of commands
            C: RCPT TO:<alice@local.example>
            S: 503 5.5.1 Bad sequence of commands
            C: DATA
            S: 503 5.5.1 Bad sequence of commands
            C: VRFY alice
            S: 252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery
            C: EXPN staff
            S: 502 5.5.1 Command not implemented
            C: HELP
            S: 214 2.0.0 See https://www.rfc-editor.org/rfc/rfc5321
            C: NOOP
            S: 250 2.0.0 Ok
            C: HELO client.example
            S: 250 mx.local.example
            C: RCPT TO:<alice@local.example>
            S: 503 5.5.1 Bad sequence of commands
            C: MAIL FROM:<>
            S: 250 2.1.0 Sender ok
            C: MAIL FROM:<a@b.example>
            S: 503 5.5.1 Bad sequence of commands
            C: DATA
            S: 554 5.5.1 No valid recipients
            C: RCPT TO:<nobody@local.example>
            S: 550 5.1.1 No such user here
            C: RCPT TO:<temp@local.example>
            S: 451 4.3.0 Recipient temporarily unavailable, try again later
            C: RCPT TO:<Postmaster>
            S: 250 2.1.5 Recipient ok
            C: RSET
            S: 250 2.0.0 Ok
            C: RCPT TO:<alice@local.example>
            S: 503 5.5.1 Bad sequence of commands
            C: FOO
            S: 500 5.5.1 Command unrecognized
            C: MAIL FROM:<a@b.example> FOO=1
            S: 555 5.5.4 Parameter not recognized or not implemented
            """, configuration: mxConfiguration())
    }

    @Test func pipelinedBatchRepliesInOrder() {
        // One write carries the whole batch; replies come back in command order, DATA's 354 last.
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: EHLO client.example
            S: 250-mx.local.example greets client.example
            S: 250-PIPELINING
            S: 250-SIZE 52428800
            S: 250-8BITMIME
            S: 250-SMTPUTF8
            S: 250-ENHANCEDSTATUSCODES
            S: 250-CHUNKING
            S: 250-DSN
            S: 250 STARTTLS
            C: MAIL FROM:<a@b.example>
            C: RCPT TO:<alice@local.example>
            C: RCPT TO:<nobody@local.example>
            C: RCPT TO:<someone@elsewhere.example>
            C: RCPT TO:<bob@local.example> NOTIFY=FAILURE ORCPT=rfc822;bob@local.example
            C: DATA
            S: 250 2.1.0 Sender ok
            S: 250 2.1.5 Recipient ok
            S: 550 5.1.1 No such user here
            S: 554 5.7.1 Relay access denied
            S: 250 2.1.5 Recipient ok
            S: 354 End data with <CR><LF>.<CR><LF>
            R: x\\r\\n.\\r\\nRSET\\r\\nQUIT\\r\\n
            S: * deliver <a@b.example> to=alice@local.example,bob@local.example
            S: * body x\\r\\n
            S: 250 2.0.0 Ok: queued as Q1
            S: 250 2.0.0 Ok
            S: 221 2.0.0 mx.local.example closing connection
            S: * close
            """, configuration: mxConfiguration())
    }

    @Test func startTLSResetsStateAndDropsInjectedCommands() {
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: STARTTLS
            S: 503 5.5.1 Bad sequence of commands
            C: EHLO client.example
            S: 250-mx.local.example greets client.example
            S: 250-PIPELINING
            S: 250-SIZE 52428800
            S: 250-8BITMIME
            S: 250-SMTPUTF8
            S: 250-ENHANCEDSTATUSCODES
            S: 250-CHUNKING
            S: 250-DSN
            S: 250 STARTTLS
            C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
            S: 538 5.7.11 Encryption required for requested authentication mechanism
            C: STARTTLS
            C: MAIL FROM:<injected@b.example>
            S: 220 2.0.0 Ready to start TLS
            S: * starttls
            C: MAIL FROM:<a@b.example>
            S: 503 5.5.1 Bad sequence of commands
            C: STARTTLS
            S: 503 5.5.1 Bad sequence of commands
            C: HELO client.example
            S: 250 mx.local.example
            C: MAIL FROM:<a@b.example> REQUIRETLS
            S: 250 2.1.0 Sender ok
            """, configuration: mxConfiguration())
    }

    @Test func tlsNotConfigured() {
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: HELO client.example
            S: 250 mx.local.example
            C: STARTTLS
            S: 502 5.5.1 Command not implemented
            C: MAIL FROM:<a@b.example> REQUIRETLS
            S: 555 5.5.4 Parameter not recognized or not implemented
            C: MAIL FROM:<a@b.example> BODY=BINARYMIME
            S: 555 5.5.4 Parameter not recognized or not implemented
            C: MAIL FROM:<a@b.example> SIZE=52428801
            S: 552 5.3.4 Message size exceeds fixed maximum message size
            """, configuration: mxConfiguration(tlsAvailable: false))
    }

    @Test func submissionRequiresAuthAndOwnedSender() {
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: EHLO laptop
            S: 250-mx.local.example greets laptop
            S: 250-PIPELINING
            S: 250-SIZE 52428800
            S: 250-8BITMIME
            S: 250-SMTPUTF8
            S: 250-ENHANCEDSTATUSCODES
            S: 250-CHUNKING
            S: 250-DSN
            S: 250-AUTH PLAIN LOGIN SCRAM-SHA-256
            S: 250 REQUIRETLS
            C: MAIL FROM:<alice@local.example>
            S: 530 5.7.0 Authentication required
            C: AUTH CRAM-MD5
            S: 504 5.5.4 Unrecognized authentication type
            C: AUTH PLAIN AGFsaWNlAHdyb25n
            S: * auth PLAIN
            S: 535 5.7.8 Authentication credentials invalid
            C: AUTH PLAIN
            S: * auth PLAIN
            S: 334 
            C: AGFsaWNlAHNlY3JldA==
            S: 235 2.7.0 Authentication successful
            C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
            S: 503 5.5.1 Bad sequence of commands
            C: MAIL FROM:<bob@local.example>
            S: 553 5.7.1 Sender address not owned by authenticated user
            C: MAIL FROM:<alice@local.example>
            S: 250 2.1.0 Sender ok
            C: RCPT TO:<friend@elsewhere.example>
            S: 250 2.1.5 Recipient ok
            C: RCPT TO:<a%b@elsewhere.example>
            S: 250 2.1.5 Recipient ok
            """, configuration: submissionConfiguration())
    }

    @Test func authCancelAndBadBase64() {
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: HELO laptop
            S: 250 mx.local.example
            C: AUTH PLAIN
            S: * auth PLAIN
            S: 334 
            C: *
            S: * auth cancelled
            S: 501 5.0.0 Authentication cancelled
            C: AUTH PLAIN
            S: * auth PLAIN
            S: 334 
            C: not base64!
            S: * auth cancelled
            S: 501 5.5.2 Cannot decode base64 response
            C: NOOP
            S: 250 2.0.0 Ok
            """, configuration: submissionConfiguration())
    }

    @Test func tooManyAuthFailuresClose() {
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: HELO laptop
            C: AUTH PLAIN AGFsaWNlAHdyb25n
            C: AUTH PLAIN AGFsaWNlAHdyb25n
            C: AUTH PLAIN AGFsaWNlAHdyb25n
            C: NOOP
            S: 250 mx.local.example
            S: * auth PLAIN
            S: 535 5.7.8 Authentication credentials invalid
            S: * auth PLAIN
            S: 535 5.7.8 Authentication credentials invalid
            S: * auth PLAIN
            S: 535 5.7.8 Authentication credentials invalid
            S: 421 4.7.0 Too many errors, closing connection
            S: * close
            """, configuration: submissionConfiguration())
    }

    @Test func recipientLimit() {
        var configuration = mxConfiguration()
        configuration.maximumRecipients = 2
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: HELO c
            C: MAIL FROM:<a@b.example>
            C: RCPT TO:<alice@local.example>
            C: RCPT TO:<alice@local.example>
            C: RCPT TO:<bob@local.example>
            C: RCPT TO:<postmaster@local.example>
            S: 250 mx.local.example
            S: 250 2.1.0 Sender ok
            S: 250 2.1.5 Recipient ok
            S: 250 2.1.5 Recipient ok
            S: 250 2.1.5 Recipient ok
            S: 452 4.5.3 Too many recipients
            """, configuration: configuration)
    }

    @Test func tooManyErrorsClose() {
        var configuration = mxConfiguration()
        configuration.maximumErrors = 3
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: FOO
            C: BAR
            C: BAZ
            C: NOOP
            S: 500 5.5.1 Command unrecognized
            S: 500 5.5.1 Command unrecognized
            S: 500 5.5.1 Command unrecognized
            S: 421 4.7.0 Too many errors, closing connection
            S: * close
            """, configuration: configuration)
    }

    @Test func longAndMalformedCommandLines() {
        let long = String(repeating: "x", count: 600)
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: NOOP \(long)
            S: 500 5.5.6 Line too long
            R: NOOP\\n
            S: 500 5.5.2 Syntax error
            C: NOOP
            S: 250 2.0.0 Ok
            """, configuration: mxConfiguration())
    }

    @Test func smtpUTF8Addresses() {
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: EHLO c
            S: 250-mx.local.example greets c
            S: 250-PIPELINING
            S: 250-SIZE 52428800
            S: 250-8BITMIME
            S: 250-SMTPUTF8
            S: 250-ENHANCEDSTATUSCODES
            S: 250-CHUNKING
            S: 250-DSN
            S: 250 STARTTLS
            C: MAIL FROM:<josé@b.example>
            S: 550 5.6.7 Non-ASCII addresses require SMTPUTF8
            C: MAIL FROM:<a@b.example>
            S: 250 2.1.0 Sender ok
            C: RCPT TO:<josé@local.example>
            S: 553 5.6.7 Non-ASCII addresses require SMTPUTF8
            C: RSET
            S: 250 2.0.0 Ok
            C: MAIL FROM:<josé@b.example> SMTPUTF8 BODY=8BITMIME
            S: 250 2.1.0 Sender ok
            C: RCPT TO:<josé@local.example>
            S: 550 5.1.1 No such user here
            """, configuration: mxConfiguration())
    }

    @Test func envelopeKeepsDSNParameters() {
        var harness = ServerHarness(mxConfiguration())
        harness.send(Array("EHLO c\r\nMAIL FROM:<a@b.example> RET=HDRS ENVID=abc+2B1 SIZE=5 BODY=8BITMIME\r\nRCPT TO:<alice@local.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;alice@local.example\r\n".utf8))
        let envelope = harness.session.transaction
        #expect(envelope?.mailFrom == EmailAddress("a@b.example"))
        #expect(envelope?.dsnReturn == .headers)
        #expect(envelope?.envelopeID == "abc+1")
        #expect(envelope?.declaredSize == 5)
        #expect(envelope?.body == .eightBitMIME)
        #expect(envelope?.clientName == .domain(DomainName("c")!))
        #expect(envelope?.recipients.first?.notify == .conditions(success: true, failure: false, delay: true))
        #expect(envelope?.recipients.first?.originalRecipient == SMTPOriginalRecipient(addressType: "rfc822", address: "alice@local.example"))
    }
}

@Suite struct ServerSessionEdgeTests {
    @Test func submissionBeforeTLSOffersStartTLSNotAuth() {
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: EHLO laptop
            S: 250-mx.local.example greets laptop
            S: 250-PIPELINING
            S: 250-SIZE 52428800
            S: 250-8BITMIME
            S: 250-SMTPUTF8
            S: 250-ENHANCEDSTATUSCODES
            S: 250-CHUNKING
            S: 250-DSN
            S: 250 STARTTLS
            C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
            S: 538 5.7.11 Encryption required for requested authentication mechanism
            C: MAIL FROM:<alice@local.example>
            S: 530 5.7.0 Authentication required
            C: STARTTLS
            S: 220 2.0.0 Ready to start TLS
            S: * starttls
            C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
            S: 503 5.5.1 Bad sequence of commands
            C: EHLO laptop
            C: AUTH PLAIN AGFsaWNlAHNlY3JldA==
            C: MAIL FROM:<alice@local.example>
            S: 250-mx.local.example greets laptop
            S: 250-PIPELINING
            S: 250-SIZE 52428800
            S: 250-8BITMIME
            S: 250-SMTPUTF8
            S: 250-ENHANCEDSTATUSCODES
            S: 250-CHUNKING
            S: 250-DSN
            S: 250-AUTH PLAIN LOGIN SCRAM-SHA-256
            S: 250 REQUIRETLS
            S: * auth PLAIN
            S: 235 2.7.0 Authentication successful
            S: 250 2.1.0 Sender ok
            """, configuration: submissionConfiguration(tls: false))
    }

    @Test func authAllowedWithoutTLSWhenConfigured() {
        var configuration = submissionConfiguration(tls: false)
        configuration.allowAuthenticationWithoutTLS = true
        var harness = ServerHarness(configuration)
        harness.send(Array("EHLO laptop\r\n".utf8))
        #expect(harness.output.contains("250 AUTH PLAIN LOGIN SCRAM-SHA-256"))
        harness.send(Array("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n".utf8))
        #expect(harness.session.authenticatedUser == "alice")
    }

    @Test func authInsideTransactionAndLongAuthLine() {
        let long = String(repeating: "A", count: 13_000)
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: EHLO c
            C: MAIL FROM:<a@b.example>
            C: AUTH PLAIN
            C: RSET
            C: AUTH PLAIN
            S: 250-mx.local.example greets c
            S: 250-PIPELINING
            S: 250-SIZE 52428800
            S: 250-8BITMIME
            S: 250-SMTPUTF8
            S: 250-ENHANCEDSTATUSCODES
            S: 250-CHUNKING
            S: 250-DSN
            S: 250-AUTH PLAIN LOGIN SCRAM-SHA-256
            S: 250 REQUIRETLS
            S: 250 2.1.0 Sender ok
            S: 503 5.5.1 Bad sequence of commands
            S: 250 2.0.0 Ok
            S: * auth PLAIN
            S: 334 
            C: \(long)
            S: * auth cancelled
            S: 500 5.5.6 Authentication exchange line is too long
            C: NOOP
            S: 250 2.0.0 Ok
            """, configuration: mxConfiguration(tls: true))
    }

    @Test func shutdownAndDisconnectDiscardOpenBody() {
        var harness = ServerHarness(mxConfiguration())
        harness.send(Array("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@local.example>\r\nDATA\r\npartial".utf8))
        #expect(harness.bodyOpen)
        harness.output = []
        harness.perform(harness.session.shutdown())
        #expect(harness.output == ["* discard", "421 4.3.2 mx.local.example Service not available, closing connection", "* close"])
        #expect(harness.session.inputMode == .none)
        #expect(harness.session.shutdown().isEmpty)

        var other = ServerHarness(mxConfiguration())
        other.send(Array("HELO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<alice@local.example>\r\nBDAT 10\r\nabc".utf8))
        #expect(other.session.connectionClosed() == [.discardData])
    }

    @Test func addressLiteralHelloAndSenderRules() {
        runServerTranscript(
            """
            S: 220 mx.local.example ESMTP Letterbox
            C: HELO [192.0.2.7]
            S: 250 mx.local.example
            C: MAIL FROM:<a@[192.0.2.7]>
            S: 501 5.1.7 Bad sender address syntax
            C: MAIL FROM:<tempfail@b.example>
            S: 451 4.3.0 Local error in processing, try again later
            C: MAIL FROM:<a@b.example>
            S: 250 2.1.0 Sender ok
            """, configuration: mxConfiguration())
    }
}
