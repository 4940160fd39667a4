import Foundation
import HTTPServer
@testable import LetterboxServer
import Testing

@Suite struct HTTPConfigurationTests {
    @Test func defaults() throws {
        var configuration = LetterboxConfiguration()
        configuration.hostname = "Mail.Example.org"
        let http = try #require(try HTTPWiring.serverConfiguration(configuration))
        #expect(http.host == "127.0.0.1" && http.port == 8080)
        #expect(http.metricsAllowed == AddressRange.loopback)
        #expect(http.mtaSTS == MTASTSPolicy(mode: .testing, mx: ["mail.example.org"], maxAge: 604_800))
        #expect(!http.mtaSTSAnyHost)
        #expect(http.requestHeadTimeout == .seconds(10) && http.requestBodyTimeout == .seconds(30))
        #expect(http.maximumConnections == 512)
    }

    @Test func keysAreRead() throws {
        let configuration = try LetterboxConfiguration.parse(toml: """
            [listen]
            http = "[::1]:0"
            [http]
            metrics_allow = ["10.0.0.0/8", "2001:db8::1"]
            request_head_timeout = 3
            request_body_timeout = 7
            max_connections = 40
            [mta_sts]
            mode = "enforce"
            max_age = 86400
            mx = ["MX1.example.org", "*.example.net"]
            any_host = true
            """)
        let http = try #require(try HTTPWiring.serverConfiguration(configuration))
        #expect(http.host == "::1" && http.port == 0)
        #expect(http.metricsAllowed.map(\.description) == ["10.0.0.0/8", "2001:db8:0:0:0:0:0:1/128"])
        #expect(http.mtaSTS == MTASTSPolicy(mode: .enforce, mx: ["mx1.example.org", "*.example.net"], maxAge: 86_400))
        #expect(http.mtaSTSAnyHost)
        #expect(http.requestHeadTimeout == .seconds(3) && http.requestBodyTimeout == .seconds(7))
        #expect(http.maximumConnections == 40)
    }

    @Test func disabledListenerMeansNoServer() throws {
        let configuration = try LetterboxConfiguration.parse(toml: "[listen]\nhttp = \"\"")
        #expect(try HTTPWiring.serverConfiguration(configuration) == nil)
    }

    @Test(arguments: [
        ("[http]\nmetrics_allow = [\"localhost\"]", "http.metrics_allow"),
        ("[http]\nmetrics_allow = [\"127.0.0.1/33\"]", "http.metrics_allow"),
        ("[http]\nmetrics_allow = \"127.0.0.1\"", "http.metrics_allow"),
        ("[http]\nrequest_head_timeout = 0", "http.request_head_timeout"),
        ("[http]\nrequest_body_timeout = 99999", "http.request_body_timeout"),
        ("[http]\nmax_connections = 0", "http.max_connections"),
        ("[mta_sts]\nmode = \"strict\"", "mta_sts.mode"),
        ("[mta_sts]\nmax_age = 99999999", "mta_sts.max_age"),
        ("[mta_sts]\nmx = [\"bad name!\"]", "mta_sts.mx"),
        ("[mta_sts]\nany_host = \"yes\"", "mta_sts.any_host"),
    ])
    func badValuesNameTheirKey(toml: String, key: String) {
        do throws(ConfigurationError) {
            _ = try LetterboxConfiguration.parse(toml: toml)
            Issue.record("accepted \(toml)")
        } catch {
            #expect(error.key == key)
        }
    }

    @Test func theExampleFileDocumentsTheHTTPKeys() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../letterbox.example.toml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let configuration = try LetterboxConfiguration.parse(toml: text)
        #expect(configuration.http == LetterboxConfiguration.HTTPSettings())
        for section in ["[http]", "[mta_sts]"] { #expect(text.contains("\n\(section)\n")) }
        for leaf in ["metrics_allow", "mode", "max_age", "mx", "any_host"] { #expect(text.contains("\n\(leaf) = "), "\(leaf)") }
    }
}
