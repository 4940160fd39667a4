import Testing
@testable import HTTPServer

@Suite struct OutlookAutodiscoverTests {
    /// The request Outlook sends ([MS-OXDSCLI] §4.1).
    static let outlookRequest = """
        <?xml version="1.0" encoding="utf-8"?>
        <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
          <Request>
            <EMailAddress>alice@example.org</EMailAddress>
            <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
          </Request>
        </Autodiscover>
        """

    @Test(arguments: [
        (outlookRequest, "alice@example.org"),
        ("<a:Autodiscover xmlns:a=\"urn:x\"><a:Request><a:EMailAddress> bob@example.net </a:EMailAddress></a:Request></a:Autodiscover>", "bob@example.net"),
        ("<Autodiscover><Request><EMailAddress>a&amp;b@example.org</EMailAddress></Request></Autodiscover>", "a&b@example.org"),
        ("\u{FEFF}<?xml version='1.0'?><!-- c --><Autodiscover a='1' b=\"x&gt;y\"><Request><EMailAddress><![CDATA[c@example.org]]></EMailAddress>"
         + "</Request></Autodiscover>\n<!-- after -->", "c@example.org"),
        ("<Autodiscover><Request><Other><EMailAddress>no@x</EMailAddress></Other><EMailAddress>d&#64;example.org</EMailAddress>"
         + "<EMailAddress>second@x</EMailAddress></Request></Autodiscover>", "d@example.org"),
    ])
    func requestAddresses(body: String, expected: String) throws {
        #expect(try OutlookAutodiscover.emailAddress(inRequest: Array(body.utf8)) == expected)
    }

    @Test(arguments: [
        ("", "malformed"),
        ("<Autodiscover><Request><EMailAddress>x@y</Request>", "malformed"),
        ("not xml at all", "malformed"),
        ("<Autodiscover/><Request/>", "malformed"),
        ("<Autodiscover><Request a=\"<\"/></Autodiscover>", "malformed"),
        ("<Autodiscover><Request><EMailAddress>&nbsp;</EMailAddress></Request></Autodiscover>", "malformed"),
        ("<!DOCTYPE a [<!ENTITY lol \"lol\">]><Autodiscover/>", "malformed"),
        (String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100), "malformed"),
        ("<Autodiscover><Request></request></Autodiscover>", "malformed"),
        ("<Autodiscover><Request></Request></Autodiscover>", "missing"),
        ("<Autodiscover><EMailAddress>x@example.org</EMailAddress></Autodiscover>", "missing"),
        ("<Autodiscover><Request><EMailAddress>  </EMailAddress></Request></Autodiscover>", "missing"),
        ("""
         <?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>
         <Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>
         """, "any"),
    ])
    func badRequestsAreErrors(body: String, kind: String) {
        do throws(OutlookAutodiscover.RequestError) {
            let address = try OutlookAutodiscover.emailAddress(inRequest: Array(body.utf8))
            Issue.record("parsed \(address)")
        } catch {
            switch (kind, error) {
            case ("malformed", .malformed), ("missing", .missingEmailAddress), ("any", _): break
            default: Issue.record("\(error) for \(kind)")
            }
        }
    }

    @Test func binaryGarbageIsAnErrorNotACrash() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let body = (0..<Int.random(in: 0..<300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(throws: OutlookAutodiscover.RequestError.self) { try OutlookAutodiscover.emailAddress(inRequest: body) }
        }
    }

    @Test func responseHasOneIMAPAndOneSMTPProtocolWithTLS() throws {
        let root = try #require(XMLNode.parse(OutlookAutodiscover.response(settings(), emailAddress: "alice@example.org")))
        #expect(root.name == "Autodiscover")
        #expect(root.attributes["xmlns"] == OutlookAutodiscover.responseNamespace)
        let response = try #require(root.first("Response"))
        #expect(response.attributes["xmlns"] == OutlookAutodiscover.outlookNamespace)
        let account = try #require(response.first("Account"))
        #expect(account.value("AccountType") == "email")
        #expect(account.value("Action") == "settings")
        let protocols = account.all("Protocol").map {
            [$0.value("Type"), $0.value("Server"), $0.value("Port"), $0.value("SSL"), $0.value("Encryption"), $0.value("LoginName"), $0.value("SPA")]
        }
        #expect(protocols == [
            ["IMAP", "mail.example.org", "993", "on", "SSL", "alice@example.org", "off"],
            ["SMTP", "mail.example.org", "465", "on", "SSL", "alice@example.org", "off"],
        ])
    }

    @Test func startTLSOnlyServer() throws {
        let root = try #require(XMLNode.parse(OutlookAutodiscover.response(settings(enabled: [.imap, .submission]), emailAddress: "a@example.org")))
        let protocols = root.first("Response")?.first("Account")?.all("Protocol").map { [$0.value("Port"), $0.value("SSL"), $0.value("Encryption")] }
        #expect(protocols == [["143", "on", "TLS"], ["587", "on", "TLS"]])
    }

    @Test func loginNameIsEscaped() throws {
        let root = try #require(XMLNode.parse(OutlookAutodiscover.response(settings(), emailAddress: "\"<x>&\"@example.org")))
        #expect(root.first("Response")?.first("Account")?.first("Protocol")?.value("LoginName") == "\"<x>&\"@example.org")
    }
}
