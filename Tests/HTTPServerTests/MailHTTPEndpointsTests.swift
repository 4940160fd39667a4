import Testing
@testable import HTTPServer

@Suite struct MailHTTPEndpointsTests {
    static func endpoints(anyHost: Bool = false, policy: MTASTSPolicy? = MTASTSPolicy(mx: ["mail.example.org"])) -> MailHTTPEndpoints {
        var configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0)
        configuration.mtaSTS = policy
        configuration.mtaSTSAnyHost = anyHost
        configuration.metricsAllowed = [AddressRange("127.0.0.0/8")!, AddressRange("::1")!, AddressRange("192.0.2.0/24")!]
        return MailHTTPEndpoints(configuration: configuration, settings: { settings() }, metrics: { "# TYPE x counter\nx 1\n" })
    }

    static let autodiscoverBody = Array(OutlookAutodiscoverTests.outlookRequest.utf8)

    /// Request → status, like a transcript: `GET path?query  Host  peer  →  status`.
    static let transcript: [(HTTPRequestSummary, Int)] = [
        (HTTPRequestSummary(method: .get, path: "/mail/config-v1.1.xml"), 200),
        (HTTPRequestSummary(method: .get, path: "/mail/config-v1.1.xml", query: ["emailaddress": "alice@example.org"]), 200),
        (HTTPRequestSummary(method: .get, path: "/mail/config-v1.1.xml", query: ["emailaddress": "alice@EXAMPLE.net"]), 200),
        (HTTPRequestSummary(method: .get, path: "/mail/config-v1.1.xml", query: ["emailaddress": "alice@other.example"]), 404),
        (HTTPRequestSummary(method: .get, path: "/mail/config-v1.1.xml", query: ["emailaddress": "garbage"]), 404),
        (HTTPRequestSummary(method: .get, path: "/.well-known/autoconfig/mail/config-v1.1.xml"), 200),
        (HTTPRequestSummary(method: .post, path: "/mail/config-v1.1.xml"), 405),
        (HTTPRequestSummary(method: .post, path: "/autodiscover/autodiscover.xml", body: autodiscoverBody), 200),
        (HTTPRequestSummary(method: .post, path: "/Autodiscover/Autodiscover.xml", body: autodiscoverBody), 200),
        (HTTPRequestSummary(method: .post, path: "/autodiscover/autodiscover.xml", body: Array("<x".utf8)), 400),
        (HTTPRequestSummary(method: .post, path: "/autodiscover/autodiscover.xml",
                            body: Array("<Autodiscover><Request><EMailAddress>a@other.example</EMailAddress></Request></Autodiscover>".utf8)), 404),
        (HTTPRequestSummary(method: .get, path: "/autodiscover/autodiscover.xml"), 405),
        (HTTPRequestSummary(method: .get, path: "/apple/mail.mobileconfig", query: ["emailaddress": "alice@example.org"]), 200),
        (HTTPRequestSummary(method: .get, path: "/apple/mail.mobileconfig"), 400),
        (HTTPRequestSummary(method: .get, path: "/apple/mail.mobileconfig", query: ["emailaddress": "alice@other.example"]), 404),
        (HTTPRequestSummary(method: .get, path: "/.well-known/mta-sts.txt", host: "mta-sts.example.org"), 200),
        (HTTPRequestSummary(method: .get, path: "/.well-known/mta-sts.txt", host: "MTA-STS.example.net:8443"), 200),
        (HTTPRequestSummary(method: .get, path: "/.well-known/mta-sts.txt", host: "mta-sts.other.example"), 404),
        (HTTPRequestSummary(method: .get, path: "/.well-known/mta-sts.txt", host: "example.org"), 404),
        (HTTPRequestSummary(method: .get, path: "/.well-known/mta-sts.txt"), 404),
        (HTTPRequestSummary(method: .get, path: "/metrics", peer: "127.0.0.1"), 200),
        (HTTPRequestSummary(method: .get, path: "/metrics", peer: "::1"), 200),
        (HTTPRequestSummary(method: .get, path: "/metrics", peer: "192.0.2.77"), 200),
        (HTTPRequestSummary(method: .get, path: "/metrics", peer: "198.51.100.1"), 403),
        (HTTPRequestSummary(method: .get, path: "/metrics"), 403),
        (HTTPRequestSummary(method: .get, path: "/"), 404),
        (HTTPRequestSummary(method: .other, path: "/metrics", peer: "127.0.0.1"), 405),
    ]

    @Test(arguments: transcript)
    func routes(request: HTTPRequestSummary, status: Int) async {
        let reply = await Self.endpoints().respond(to: request)
        let context: String = "\(request.method) \(request.path) \(request.query) → \(reply.status) \(reply.text)"
        #expect(reply.status == status, Comment(rawValue: context))
    }

    @Test func contentTypes() async {
        let endpoints = Self.endpoints()
        let cases: [(HTTPRequestSummary, String)] = [
            (HTTPRequestSummary(method: .get, path: "/mail/config-v1.1.xml"), "application/xml; charset=utf-8"),
            (HTTPRequestSummary(method: .get, path: "/apple/mail.mobileconfig", query: ["emailaddress": "a@example.org"]), "application/x-apple-aspen-config"),
            (HTTPRequestSummary(method: .get, path: "/.well-known/mta-sts.txt", host: "mta-sts.example.org"), "text/plain; charset=utf-8"),
            (HTTPRequestSummary(method: .get, path: "/metrics", peer: "127.0.0.1"), "text/plain; version=0.0.4; charset=utf-8"),
        ]
        for (request, type) in cases { #expect(await endpoints.respond(to: request).contentType == type, "\(request.path)") }
    }

    @Test func mtaSTSAnswersAnyHostWhenConfigured() async {
        let reply = await Self.endpoints(anyHost: true).respond(to: HTTPRequestSummary(method: .get, path: "/.well-known/mta-sts.txt", host: "x"))
        #expect(reply.status == 200)
        #expect(reply.text == "version: STSv1\r\nmode: testing\r\nmx: mail.example.org\r\nmax_age: 604800\r\n")
        let none = await Self.endpoints(anyHost: true, policy: nil).respond(to: HTTPRequestSummary(method: .get, path: "/.well-known/mta-sts.txt"))
        #expect(none.status == 404)
    }

    @Test(arguments: [("autoconfig.example.net", "example.net", ["example.net"]), ("EXAMPLE.net:443", "example.net", ["example.net"]),
                      ("127.0.0.1:8080", "example.org", ["example.org", "example.net"])])
    func autoconfigByHost(host: String, provider: String, domains: [String]) async throws {
        let reply = await Self.endpoints().respond(to: HTTPRequestSummary(method: .get, path: "/mail/config-v1.1.xml", host: host))
        let root = try #require(XMLNode.parse(reply.text))
        #expect(root.first("emailProvider")?.attributes["id"] == provider)
        #expect(root.first("emailProvider")?.all("domain").map(\.text) == domains)
    }

    @Test func autoconfigForAnAddressNamesItsDomain() async throws {
        let reply = await Self.endpoints().respond(to: HTTPRequestSummary(
            method: .get, path: "/mail/config-v1.1.xml", query: ["emailaddress": "bob@Example.NET"]))
        let root = try #require(XMLNode.parse(reply.text))
        #expect(root.first("emailProvider")?.attributes["id"] == "example.net")
    }

    @Test(arguments: [("mail.example.org:8080", "mail.example.org"), ("[::1]:80", "::1"), ("::1", "::1"), ("h", "h")])
    func hostWithoutPort(authority: String, host: String) {
        #expect(MailHTTPEndpoints.hostWithoutPort(authority) == host)
    }
}
