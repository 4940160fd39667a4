import Foundation
@testable import LetterboxServer
import Testing

@Suite struct ConfigurationTests {
    @Test func defaultsAreSafe() {
        let configuration = LetterboxConfiguration()
        #expect(configuration.allowCleartextAuthentication == false)
        #expect(configuration.credentialIterations >= 10_000, "RFC 7677 asks at least 4096; 10,000 is what Cyrus SASL clients accept")
        #expect(configuration.listeners[.http]?.host == "127.0.0.1", "the HTTP side (metrics) is loopback-only by default")
        #expect(configuration.listeners[.smtp]?.port == 25 && configuration.listeners[.imaps]?.port == 993)
    }

    @Test func developmentModeUsesLoopbackUnprivilegedPorts() {
        let configuration = LetterboxConfiguration.development()
        let ports = configuration.listeners.mapValues(\.port)
        #expect(ports == [.smtp: 2525, .submission: 2587, .submissions: 2465, .imap: 2143, .imaps: 2993, .http: 8080])
        #expect(configuration.listeners.values.allSatisfy { $0.host == "127.0.0.1" })
        #expect(configuration.dataDirectory.hasSuffix("/letterbox-data"))
    }

    @Test func parsesEverySetting() throws {
        let configuration = try LetterboxConfiguration.parse(toml: """
            hostname = "mx.example.org"
            data_dir = "/srv/mail"
            [listen]
            smtp = "192.0.2.1:25"
            imap = ""
            http = "[::1]:8081"
            [tls]
            cert = "/etc/ssl/mail.pem"
            key = "/etc/ssl/mail.key"
            [auth]
            allow_cleartext = true
            min_password_length = 12
            credential_iterations = 200000
            login_cache_size = 0
            [dns]
            servers = ["127.0.0.1:5353"]
            [imap]
            state_cache_messages = 0
            max_literal_before_auth = "4K"
            [store]
            gc_interval = 0
            [log]
            level = "debug"
            """)
        #expect(configuration.hostname == "mx.example.org" && configuration.dataDirectory == "/srv/mail")
        #expect(configuration.listeners[.smtp] == ListenAddress(host: "192.0.2.1", port: 25))
        #expect(configuration.listeners[.imap] == nil, "an empty address disables the service")
        #expect(configuration.listeners[.http] == ListenAddress(host: "::1", port: 8081))
        #expect(configuration.listeners[.imaps]?.port == 993, "unset keys keep their defaults")
        #expect(configuration.tlsCertificate == "/etc/ssl/mail.pem" && configuration.tlsKey == "/etc/ssl/mail.key")
        #expect(configuration.allowCleartextAuthentication && configuration.minimumPasswordLength == 12)
        #expect(configuration.credentialIterations == 200_000 && configuration.loginCacheSize == 0)
        #expect(configuration.dnsServers == ["127.0.0.1:5353"] && configuration.logLevel == "debug")
        #expect(configuration.imap.stateCacheMessages == 0 && LetterboxConfiguration().imap.stateCacheMessages == 500_000)
        #expect(configuration.imap.maxLiteralBeforeAuth == 4096 && LetterboxConfiguration().imap.maxLiteralBeforeAuth == 8192)
        #expect(configuration.store.gcIntervalSeconds == 0 && LetterboxConfiguration().store.gcIntervalSeconds == 3600)
    }

    @Test(arguments: [
        ("hostnme = \"x\"", ConfigurationError(key: "hostnme", value: nil, problem: "unknown key (see letterbox.example.toml for every setting)")),
        ("[listen]\nsmtpp = \"1.2.3.4:25\"", ConfigurationError(key: "listen.smtpp", value: nil, problem: "unknown key (see letterbox.example.toml for every setting)")),
        ("[listen]\nsmtp = \"1.2.3.4\"", ConfigurationError(key: "listen.smtp", value: "1.2.3.4", problem: "expected HOST:PORT, e.g. 0.0.0.0:25")),
        ("[listen]\nsmtp = \"1.2.3.4:70000\"", ConfigurationError(key: "listen.smtp", value: "1.2.3.4:70000", problem: "expected HOST:PORT, e.g. 0.0.0.0:25")),
        ("[auth]\nmin_password_length = 0", ConfigurationError(key: "auth.min_password_length", value: "0", problem: "must be between 1 and 1024")),
        ("[auth]\nallow_cleartext = 1", ConfigurationError(key: "auth.allow_cleartext", value: "1", problem: "must be true or false")),
        ("[log]\nlevel = \"loud\"", ConfigurationError(key: "log.level", value: "loud", problem: "must be one of trace, debug, info, notice, warning, error, critical")),
        ("[dns]\nservers = [\"resolver\"]", ConfigurationError(key: "dns.servers", value: "resolver", problem: "expected HOST:PORT, e.g. 127.0.0.1:53")),
        ("hostname = \"bad host\"", ConfigurationError(key: "hostname", value: "bad host", problem: "not a valid host name")),
        ("[server]\ngroup = \"mail\"", ConfigurationError(key: "server.group", value: "mail", problem: "needs server.user (the account to switch to)")),
        ("[imap]\nstate_cache_messages = -1", ConfigurationError(key: "imap.state_cache_messages", value: "-1", problem: "must be between 0 and 100000000")),
        ("[imap]\nmax_literal_before_auth = \"2M\"", ConfigurationError(key: "imap.max_literal_before_auth", value: "\"2M\"", problem: "must be between 1024 and 1048576 octets")),
        ("[store]\ngc_interval = 2000000", ConfigurationError(key: "store.gc_interval", value: "2000000", problem: "must be between 0 and 604800")),
    ])
    func badValuesNameKeyValueAndProblem(_ toml: String, _ expected: ConfigurationError) {
        #expect(throws: expected) { _ = try LetterboxConfiguration.parse(toml: toml) }
    }

    @Test func invalidTOMLSaysWhere() {
        do {
            _ = try LetterboxConfiguration.parse(toml: "a = = 1", source: "test.toml")
            Issue.record("expected an error")
        } catch {
            #expect(error.key == "test.toml" && error.problem.contains("not valid TOML") && error.problem.contains("line 1"))
        }
    }

    /// Found by Fuzz/FuzzConfig: toml++ asserts (and the process aborts, release builds included) on a table header whose
    /// key starts with a character no key can start with. Such a file is now refused with a message.
    @Test(arguments: ["[&isten]\nsmtp = \"[::1]:25\"\n", "hostname = \"a\"\n  [[ %x]]\n", "[{a = 1}]\n", "x = 0\n[\n[smtp]\n"])
    func tableHeaderWithoutKeyIsAnErrorNotACrash(_ toml: String) {
        #expect(throws: ConfigurationError.self) { _ = try LetterboxConfiguration.parse(toml: toml, source: "f.toml") }
    }

    /// What the header check must leave alone: arrays (nested, multi-line), strings and comments holding brackets.
    @Test func bracketsInsideValuesAreNotTableHeaders() throws {
        let toml = """
        # [&comment]
        hostname = "mail.example.org"   # "[&x]"
        [dns]
        servers = [
          "127.0.0.1:53", # [&x]
          "[::1]:53",
        ]
        [log]
        level = '''
        debug'''
        """
        #expect(ConfigurationReader.tableHeaderWithoutKey(in: toml) == nil)
        #expect(ConfigurationReader.tableHeaderWithoutKey(in: "a = [\n[1, 2],\n[{b = 1}],\n]\n[t]\n") == nil)
        #expect(ConfigurationReader.tableHeaderWithoutKey(in: "a = \"\"\"\n[&x]\n\"\"\"\n[&y]\n") == 4)
    }

    @Test func validationFindsConflictsAndMissingFiles() throws {
        var configuration = LetterboxConfiguration()
        configuration.listeners[.imap] = configuration.listeners[.smtp]
        #expect(throws: ConfigurationError(key: "listen.imap", value: "0.0.0.0:25", problem: "conflicts with listen.smtp, which uses the same address")) {
            try configuration.validate()
        }
        configuration = LetterboxConfiguration()
        configuration.tlsCertificate = "/nonexistent.pem"
        #expect(throws: ConfigurationError(key: "tls.key", value: nil, problem: "tls.cert and tls.key must be given together")) {
            try configuration.validate()
        }
        configuration.tlsKey = "/nonexistent.key"
        #expect(throws: ConfigurationError(key: "tls.cert", value: "/nonexistent.pem", problem: "the file does not exist or is not readable")) {
            try configuration.validate()
        }
    }

    @Test func theExampleFileDocumentsEverySettingAndParses() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../letterbox.example.toml").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let configuration = try LetterboxConfiguration.parse(toml: text)
        #expect(configuration.hostname == "mail.example.org")
        // Every key the parser reads appears in the example file.
        let keys = LetterboxConfiguration.settingKeys
        #expect(keys.contains("smtp.max_recipients") && keys.contains("delivery.smarthost") && keys.count > 40)
        for key in keys.sorted() {
            let parts = key.split(separator: ".")
            let leaf = parts.last!
            #expect(text.contains("\n\(leaf) = ") || text.contains("\n# \(leaf) = ") || text.contains("\n[\(key)]"),
                    "letterbox.example.toml documents \(key)")
            if parts.count == 2 { #expect(text.contains("\n[\(parts[0])]"), "letterbox.example.toml has a [\(parts[0])] section for \(key)") }
        }
    }

    @Test func listenAddresses() {
        #expect(ListenAddress("127.0.0.1:25") == ListenAddress(host: "127.0.0.1", port: 25))
        #expect(ListenAddress("[::1]:993") == ListenAddress(host: "::1", port: 993))
        #expect(ListenAddress("localhost:0")?.port == 0)
        for bad in ["", ":25", "host", "host:", "::1:25", "[::1]993", "host:-1", "[[it =]:251", "a]:25", "[a[:25"] { #expect(ListenAddress(bad) == nil, "\(bad)") }
    }
}
