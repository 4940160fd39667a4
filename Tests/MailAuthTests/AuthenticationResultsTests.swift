import Testing
@testable import MailAuth

@Suite("Authentication-Results (RFC 8601)")
struct AuthenticationResultsTests {
    @Test("the field with dkim, spf and dmarc results")
    func build() {
        let results = AuthenticationResults(
            authservID: "mx.example.net",
            dkim: [DKIMResult(status: .pass, domain: "example.org", selector: "sel", algorithm: "ed25519-sha256", signaturePrefix: "abcd/efg"),
                   DKIMResult(status: .fail, domain: "example.org", selector: "rsa", algorithm: "rsa-sha256", reason: "body hash mismatch")],
            spf: [SPFResult(status: .pass, identity: .mailFrom, domain: "example.org", sender: "alice@example.org", mechanism: "ip4:192.0.2.1")],
            dmarc: DMARCResult(status: .pass, fromDomain: "example.org", requestedPolicy: .reject, disposition: .none,
                               dkimAligned: true, spfAligned: true))
        #expect(results.headerField == """
            Authentication-Results: mx.example.net;\r
            \tdkim=pass header.d=example.org header.s=sel header.a=ed25519-sha256 header.b=abcd/efg;\r
            \tdkim=fail reason="body hash mismatch" header.d=example.org header.s=rsa header.a=rsa-sha256;\r
            \tspf=pass reason="matched ip4:192.0.2.1" smtp.mailfrom=alice@example.org;\r
            \tdmarc=pass header.from=example.org\r

            """)
    }

    @Test("no results; no signatures; HELO identity; failed DMARC shows the policy")
    func variants() {
        #expect(AuthenticationResults(authservID: "mx.example.net").headerField == "Authentication-Results: mx.example.net; none\r\n")
        let field = AuthenticationResults(
            authservID: "mx.example.net",
            spf: [SPFResult(status: .none, identity: .helo, domain: "host.example", sender: "postmaster@host.example")],
            dmarc: DMARCResult(status: .fail, fromDomain: "example.org", requestedPolicy: .quarantine, disposition: .quarantine,
                               dkimAligned: false, spfAligned: false, reason: "no aligned DKIM or SPF pass")).headerField
        #expect(field.contains("\tdkim=none;\r\n\tspf=none smtp.helo=host.example;\r\n"))
        #expect(field.contains("dmarc=fail reason=\"no aligned DKIM or SPF pass\" policy.dmarc=quarantine header.from=example.org"))
    }

    @Test("values are quoted when they are not tokens")
    func quoting() {
        #expect(AuthenticationResults.value("example.org") == "example.org")
        #expect(AuthenticationResults.value("a b") == "\"a b\"")
        #expect(AuthenticationResults.value("x\"y") == "\"x\\\"y\"")
        #expect(AuthenticationResults.reason("say \"hi\"") == " reason=\"say \\\"hi\\\"\"")
    }

    @Test("fields claiming our authserv-id are found and removed; others stay")
    func forged() {
        let message = """
            Received: from x\r
            Authentication-Results: MX.example.net; spf=pass smtp.mailfrom=a@b.example\r
            Authentication-Results: other.example; dkim=pass\r
            Authentication-Results: (comment) mx.example.net;\r
             dkim=pass header.d=bank.example\r
            Authentication-Results: "mx.example.net" 1; none\r
            Authentication-Results: mx.example.network; none\r
            Subject: hi\r
            \r
            Authentication-Results: mx.example.net; in the body\r

            """.bytes
        let ranges = AuthenticationResults.fieldsClaiming(authservID: "mx.example.net", in: message)
        #expect(ranges.count == 3)
        let cleaned = String(decoding: AuthenticationResults.removingFields(claiming: "mx.example.net", from: message), as: UTF8.self)
        #expect(cleaned == """
            Received: from x\r
            Authentication-Results: other.example; dkim=pass\r
            Authentication-Results: mx.example.network; none\r
            Subject: hi\r
            \r
            Authentication-Results: mx.example.net; in the body\r

            """)
    }
}
