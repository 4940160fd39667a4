import Testing
@testable import HTTPServer

@Suite struct ThunderbirdAutoconfigTests {
    /// (server element, type, port, socketType) in document order.
    private func servers(_ root: XMLNode) -> [String] {
        (root.first("emailProvider")?.children ?? []).filter { $0.name.hasSuffix("Server") }.map {
            "\($0.name) \($0.attributes["type"] ?? "?") \($0.value("hostname") ?? "?"):\($0.value("port") ?? "?") \($0.value("socketType") ?? "?")"
        }
    }

    @Test func fullDocumentPrefersImplicitTLS() throws {
        let text = ThunderbirdAutoconfig.document(settings(), domain: "example.net")
        let root = try #require(XMLNode.parse(text))
        #expect(root.name == "clientConfig")
        #expect(root.attributes["version"] == "1.1")
        let provider = try #require(root.first("emailProvider"))
        #expect(provider.attributes["id"] == "example.net")
        #expect(provider.all("domain").map(\.text) == ["example.net"])
        #expect(servers(root) == [
            "incomingServer imap mail.example.org:993 SSL",
            "incomingServer imap mail.example.org:143 STARTTLS",
            "outgoingServer smtp mail.example.org:465 SSL",
            "outgoingServer smtp mail.example.org:587 STARTTLS",
        ])
        for server in provider.children where server.name.hasSuffix("Server") {
            #expect(server.all("authentication").map(\.text) == ["password-cleartext"])
            #expect(server.value("username") == "%EMAILADDRESS%")
        }
        #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"))
    }

    static let partial: [(Set<MailClientService.Kind>, [String])] = [
        ([.imaps, .submissions], ["incomingServer imap mail.example.org:993 SSL", "outgoingServer smtp mail.example.org:465 SSL"]),
        ([.imap, .submission], ["incomingServer imap mail.example.org:143 STARTTLS", "outgoingServer smtp mail.example.org:587 STARTTLS"]),
        ([.imaps], ["incomingServer imap mail.example.org:993 SSL"]),
        ([], []),
    ]

    @Test(arguments: partial)
    func disabledServicesAreAbsent(enabled: Set<MailClientService.Kind>, expected: [String]) throws {
        let root = try #require(XMLNode.parse(ThunderbirdAutoconfig.document(settings(enabled: enabled), domain: nil)))
        #expect(servers(root) == expected)
    }

    @Test func servicesWithoutPasswordLoginAreNotOffered() throws {
        let root = try #require(XMLNode.parse(ThunderbirdAutoconfig.document(settings(mechanisms: ["SCRAM-SHA-256"]), domain: nil)))
        #expect(servers(root).isEmpty)
    }

    @Test func neverAPlainOption() throws {
        for enabled in [Set(MailClientService.Kind.allCases), [.imap], [.submission]] {
            let root = try #require(XMLNode.parse(ThunderbirdAutoconfig.document(settings(enabled: enabled), domain: nil)))
            let socketTypes = root.descendants.filter { $0.name == "socketType" }.map(\.text)
            #expect(!socketTypes.isEmpty)
            #expect(socketTypes.allSatisfy { $0 == "SSL" || $0 == "STARTTLS" })
        }
    }

    @Test func withoutAnAddressTheFirstDomainIsTheProvider() throws {
        let root = try #require(XMLNode.parse(ThunderbirdAutoconfig.document(settings(), domain: nil)))
        #expect(root.first("emailProvider")?.attributes["id"] == "example.org")
        #expect(root.first("emailProvider")?.all("domain").map(\.text) == ["example.org", "example.net"])
        let noDomains = try #require(XMLNode.parse(ThunderbirdAutoconfig.document(settings(domains: []), domain: nil)))
        #expect(noDomains.first("emailProvider")?.attributes["id"] == "mail.example.org")
    }

    @Test func hostileNamesAreEscaped() throws {
        let text = ThunderbirdAutoconfig.document(settings(hostname: "a<b>&\"c'\u{1}", domains: ["x</domain><evil/>"]), domain: nil)
        let root = try #require(XMLNode.parse(text))
        #expect(root.first("emailProvider")?.attributes["id"] == "x</domain><evil/>")
        #expect(root.first("emailProvider")?.value("domain") == "x</domain><evil/>")
        #expect(root.descendants.first { $0.name == "hostname" }?.text == "a<b>&\"c'")
        #expect(!root.descendants.contains { $0.name == "evil" })
    }

    @Test(arguments: [
        ("plain", "plain"), ("a&b", "a&amp;b"), ("<>", "&lt;&gt;"), ("\"'", "&quot;&apos;"), ("x\u{0}y\u{1F}z\t\n", "xyz\t\n"),
        ("ünï", "ünï"), ("\u{FFFE}", ""),
    ])
    func escaping(input: String, expected: String) {
        #expect(XMLText.escape(input) == expected)
    }
}
