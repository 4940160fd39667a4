import MailCore
import Testing

@testable import SMTPServer

@Suite struct TraceHeadersTests {
    static let host = DomainName("mx.example.test")!
    static let date = MessageDate(secondsSinceEpoch: 1_795_748_400)  // Fri, 27 Nov 2026 00:20:00 +0000

    static func transaction(ehlo: Bool = true, utf8: Bool = false, tls: Bool = false, user: String? = nil) -> TraceHeaders.Transaction {
        TraceHeaders.Transaction(
            clientName: "client.test", clientAddress: "192.0.2.7", usedEHLO: ehlo, smtpUTF8: utf8, tlsActive: tls,
            tlsVersion: tls ? "TLSv1.3" : nil, authenticatedUser: user, id: "0123456789abcdef",
            singleRecipient: EmailAddress("alice@example.test"))
    }

    // RFC 5321 §4.4 (SMTP, ESMTP), RFC 3848 §3 (ESMTPA, ESMTPS, ESMTPSA), RFC 6531 §3.7.3 (UTF8SMTP…).
    @Test(arguments: [
        (transaction(ehlo: false), "SMTP"),
        (transaction(), "ESMTP"),
        (transaction(user: "alice@example.test"), "ESMTPA"),
        (transaction(tls: true), "ESMTPS"),
        (transaction(tls: true, user: "alice@example.test"), "ESMTPSA"),
        (transaction(utf8: true), "UTF8SMTP"),
        (transaction(utf8: true, tls: true, user: "a@b.test"), "UTF8SMTPSA"),
    ])
    func withProtocol(_ transaction: TraceHeaders.Transaction, _ expected: String) {
        #expect(transaction.withProtocol == expected)
    }

    @Test func receivedFieldCarriesTLSAndAuthentication() {
        let field = TraceHeaders.received(Self.transaction(tls: true, user: "alice@example.test"), hostname: Self.host, date: Self.date)
        #expect(field == """
            Received: from client.test ([192.0.2.7])\r
            \tby mx.example.test (Letterbox) with ESMTPSA id 0123456789abcdef\r
            \t(version=TLSv1.3; authenticated as alice@example.test)\r
            \tfor <alice@example.test>;\r
            \t\(Self.date.rfc5322)\r\n
            """)
    }

    @Test func receivedFieldWithoutTLSHasNoComment() {
        var transaction = Self.transaction()
        transaction.singleRecipient = nil
        transaction.clientName = "evil) (injected"
        transaction.clientAddress = "2001:db8::1"
        let field = TraceHeaders.received(transaction, hostname: Self.host, date: Self.date)
        #expect(field.hasPrefix("Received: from evil_ _injected ([IPv6:2001:db8::1])\r\n\tby mx.example.test (Letterbox) with ESMTP id "))
        #expect(!field.contains("for <"))
        #expect(field.hasSuffix("0123456789abcdef;\r\n\t\(Self.date.rfc5322)\r\n"))
    }

    @Test(arguments: [
        ("Subject: x\r\n\r\nbody\r\n", "Date: \(date.rfc5322)\r\nMessage-ID: <id1@mx.example.test>\r\n"),
        ("date: Thu, 1 Jan 2026 00:00:00 +0000\r\nSubject: x\r\n\r\n", "Message-ID: <id1@mx.example.test>\r\n"),
        ("Message-Id : <a@b>\r\n\r\nDate: in the body does not count\r\n", "Date: \(date.rfc5322)\r\n"),
        ("Subject: folded\r\n date: not a field\r\nDATE: Thu, 1 Jan 2026 00:00:00 +0000\r\nMESSAGE-ID: <x@y>\r\n\r\n", ""),
        ("", "Date: \(date.rfc5322)\r\nMessage-ID: <id1@mx.example.test>\r\n"),
    ])
    func missingSubmissionFields(_ message: String, _ expected: String) {
        #expect(TraceHeaders.missingSubmissionFields(Array(message.utf8), hostname: Self.host, date: Self.date, uniqueID: "id1") == expected)
    }
}
