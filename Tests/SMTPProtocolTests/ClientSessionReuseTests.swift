import MailCore
import NIOCore
import Testing

@testable import SMTPProtocol

/// AUTH PLAIN to a smarthost and several messages over one connection.
@Suite struct ClientSessionReuseTests {
    private func outbound(_ to: String, body: String = "Subject: t\r\n\r\nhi\r\n") -> SMTPOutboundMessage {
        SMTPOutboundMessage(
            mailFrom: EmailAddress("a@local.example"), recipients: [SMTPRecipient(address: EmailAddress(to)!)],
            body: ByteBuffer(string: body))
    }

    /// Feeds server lines; returns the client's output as text lines ("* finished …", "* starttls", "* close" for the
    /// other actions), completing TLS handshakes at once.
    private func feed(_ session: inout SMTPClientSession, _ lines: [String]) -> [String] {
        var parser = SMTPReplyParser()
        var incoming = ByteBuffer(string: lines.map { $0 + "\r\n" }.joined())
        var output: [String] = []
        while let reply = try? parser.next(from: &incoming) { output += render(session.receive(reply), &session) }
        return output
    }

    private func render(_ actions: [SMTPClientAction], _ session: inout SMTPClientSession) -> [String] {
        var output: [String] = []
        for action in actions {
            switch action {
            case .send(let bytes): output += String(decoding: bytes.readableBytesView, as: UTF8.self).split(separator: "\r\n").map(String.init)
            case .startTLS: output.append("* starttls"); output += render(session.tlsEstablished(), &session)
            case .finished(let result): output.append("* finished \(result.outcome)")
            case .close: output.append("* close")
            }
        }
        return output
    }

    @Test func smarthostLoginAfterTLS() {
        var session = SMTPClientSession(
            configuration: .init(hostname: "out.example", tlsPolicy: .required,
                                 credentials: SMTPClientCredentials(username: "user", password: "secret")),
            message: outbound("b@remote.example"))
        #expect(feed(&session, ["220 relay ESMTP"]) == ["EHLO out.example"])
        #expect(feed(&session, ["250-relay", "250 STARTTLS"]) == ["STARTTLS"])
        #expect(feed(&session, ["220 go"]) == ["* starttls", "EHLO out.example"])
        // base64("\0user\0secret")
        #expect(feed(&session, ["250-relay", "250 AUTH PLAIN"]) == ["AUTH PLAIN AHVzZXIAc2VjcmV0"])
        #expect(feed(&session, ["235 2.7.0 ok"]) == ["MAIL FROM:<a@local.example>"])
    }

    @Test func refusedLoginEndsTheSession() {
        var session = SMTPClientSession(
            configuration: .init(hostname: "out.example", tlsPolicy: .required,
                                 credentials: SMTPClientCredentials(username: "user", password: "wrong")),
            message: outbound("b@remote.example"))
        _ = feed(&session, ["220 relay ESMTP", "250-relay", "250 STARTTLS", "220 go"])
        let output = feed(&session, ["250 relay", "535 5.7.8 no"])
        #expect(output.last == "QUIT")
        if case .failed(let stage, let reply)? = session.finishedResult?.outcome {
            #expect(stage == .authentication && reply.code == 535)
        } else {
            Issue.record("expected an authentication failure")
        }
    }

    @Test func credentialsAreNeverSentWithoutTLS() {
        var session = SMTPClientSession(
            configuration: .init(hostname: "out.example", tlsPolicy: .opportunistic,
                                 credentials: SMTPClientCredentials(username: "user", password: "secret")),
            message: outbound("b@remote.example"))
        let output = feed(&session, ["220 relay ESMTP", "250-relay", "250 AUTH PLAIN"])
        #expect(!output.contains { $0.hasPrefix("AUTH") })
        #expect(session.finishedResult?.outcome == .tlsUnavailable)
    }

    @Test func secondMessageOnTheSameConnection() {
        var session = SMTPClientSession(
            configuration: .init(hostname: "out.example", tlsPolicy: .none, keepsConnectionOpen: true),
            message: outbound("b@remote.example"))
        _ = feed(&session, ["220 mx ESMTP"])
        #expect(feed(&session, ["250-mx", "250 PIPELINING"]) == ["MAIL FROM:<a@local.example>", "RCPT TO:<b@remote.example>", "DATA"])
        #expect(feed(&session, ["250 ok", "250 ok", "354 go"]) == ["Subject: t", "hi", "."])
        #expect(feed(&session, ["250 queued"]) == ["* finished delivered"])
        #expect(session.isIdle)
        #expect(render(session.send(outbound("c@remote.example")), &session) == ["RSET"])
        #expect(feed(&session, ["250 reset"]) == ["MAIL FROM:<a@local.example>", "RCPT TO:<c@remote.example>", "DATA"])
        #expect(feed(&session, ["250 ok", "550 5.1.1 unknown", "354 go"]) == ["."])
        #expect(feed(&session, ["554 no valid recipients"]) == ["* finished allRecipientsRefused"])
        #expect(session.finishedResult?.recipients.first?.recipient.address.description == "c@remote.example")
        #expect(render(session.quit(), &session) == ["QUIT"])
        #expect(feed(&session, ["221 bye"]) == ["* close"])
    }
}
