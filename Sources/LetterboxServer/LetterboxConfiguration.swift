import Directory
import Foundation
import HTTPServer
import IMAPProtocol
import MailCore
import SASL

/// A listening address `host:port` (`[v6]:port` for IPv6).
public struct ListenAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        // No brackets inside the host: "[[x]:25" would print as "[x:25" (found by Fuzz/FuzzConfig).
        guard !host.isEmpty, !host.contains("["), !host.contains("]"), let number = Int(port), (0...65535).contains(number)
        else { return nil }
        self.init(host: String(host), port: number)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Every setting of Letterbox, with safe defaults. `letterbox.example.toml` documents each key; the TOML key is given above
/// each property.
public struct LetterboxConfiguration: Sendable, Equatable {
    /// `hostname`: the name this server greets with and puts in Received headers and certificates.
    public var hostname: String = LetterboxConfiguration.systemHostname()
    /// `data_dir`: database, blobs, TLS material and run-time files.
    public var dataDirectory: String = "/var/lib/letterbox"

    /// `[server]`: the process itself.
    public var server = ServerSettings()

    public struct ServerSettings: Sendable, Equatable {
        /// `server.user`: the account a server started as root switches to for good once every listener is bound
        /// (after making the data directory its own). Default: none (no switch; a server running as root warns).
        public var user: String?
        /// `server.group`: the group it switches to. Default: the user's primary group.
        public var group: String?
    }

    /// `[store]`: where mailboxes, accounts and the queue live.
    public var store = StoreSettings()

    public struct StoreSettings: Sendable, Equatable {
        public enum Backend: String, Sendable { case sqlite, postgres }
        /// `store.backend`: "sqlite" (the default: one node, `DATA_DIR/letterbox.sqlite` and `DATA_DIR/blobs/`) or
        /// "postgres" (several nodes sharing one PostgreSQL database, message bytes included).
        public var backend: Backend = .sqlite
        /// `store.url`: `postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full&sslrootcert=CA.pem` (libpq's form;
        /// sslmode disable, prefer, require or verify-full). Needed when the backend is postgres.
        public var url: String?
        /// `store.password_file`: a file whose first line is the database password, so the URL in the configuration
        /// need not hold it.
        public var passwordFile: String?
        /// `store.pool_size`: database connections per node. Default 20.
        public var poolSize = 20
        /// `store.claim_timeout` (seconds): how long after a node's last heartbeat another node takes over the outbound
        /// messages it was delivering. Default 60.
        public var claimTimeoutSeconds = 60
        /// `store.gc_interval` (seconds): how often the space of deleted messages is reclaimed (message bytes whose
        /// last message or queue entry went more than an hour ago). Default 3600; 0 turns it off (`letterbox gc` still
        /// works).
        public var gcIntervalSeconds = 3600
    }

    /// `[listen]`: one address per service; an empty string disables the service.
    public var listeners: [Service: ListenAddress] = [
        .smtp: ListenAddress(host: "0.0.0.0", port: 25), .submission: ListenAddress(host: "0.0.0.0", port: 587),
        .submissions: ListenAddress(host: "0.0.0.0", port: 465), .imap: ListenAddress(host: "0.0.0.0", port: 143),
        .imaps: ListenAddress(host: "0.0.0.0", port: 993), .http: ListenAddress(host: "127.0.0.1", port: 8080),
    ]

    /// `tls.cert`, `tls.key`: PEM certificate chain and private key. Empty: a self-signed certificate is made in
    /// `DATA_DIR/tls/` and kept (clients will warn; fine for testing, not for production).
    public var tlsCertificate: String?
    public var tlsKey: String?

    /// `auth.allow_cleartext`: allow LOGIN/AUTH on connections without TLS (test rigs only). Default false.
    public var allowCleartextAuthentication = false
    /// `auth.min_password_length`
    public var minimumPasswordLength = 8
    /// `auth.credential_iterations`: PBKDF2 iterations of SCRAM-SHA-256 credentials; a credential stored with another
    /// count is re-derived at the user's next PLAIN/LOGIN. Default 10,000 (Cyrus SASL clients refuse more).
    public var credentialIterations = SCRAMCredentials.defaultIterations
    /// `auth.login_cache_size`: verified logins remembered to skip the slow hash (0 disables).
    public var loginCacheSize = 10_000
    /// `auth.lockout_threshold`: failed logins (on any protocol, over any connections) from one IP address, or for one
    /// account name, after which that address or name is locked out. Default 10.
    public var lockoutThreshold = AuthenticationThrottle.Configuration().lockoutThreshold
    /// `auth.lockout_duration` (seconds): how long a lockout lasts, and how long a failure counts. Default 900.
    public var lockoutSeconds = Int(AuthenticationThrottle.Configuration().lockoutDuration.components.seconds)

    /// `[smtp]`: limits of the SMTP services (MX and submission).
    public var smtp = SMTPSettings()
    /// `[imap]`: limits of the IMAP services.
    public var imap = IMAPSettings()
    /// `[submission]`: policy of the submission services (587, 465).
    public var submission = SubmissionSettings()
    /// `quota.default`: octets each account may store unless `letterbox user quota` set its own; 0 is unlimited.
    public var defaultQuota: Int64 = 0

    public struct SMTPSettings: Sendable, Equatable {
        /// `smtp.max_message_size` (octets; "50M" style accepted): advertised as SIZE. Default 50 MiB.
        public var maxMessageSize: Int64 = 52_428_800
        /// `smtp.max_recipients`: per message; more get 452 4.5.3. Default 100.
        public var maxRecipients = 100
        /// `smtp.max_errors`: error replies before 421 and close. Default 20.
        public var maxErrors = 20
        /// `smtp.idle_timeout` (seconds): RFC 5321 §4.5.3.2.7 asks for at least 300. Default 300.
        public var idleTimeoutSeconds = 300
        /// `smtp.max_connections`, `smtp.max_connections_per_ip`: per listener. Defaults 1000 and 20.
        public var maxConnections = 1000
        public var maxConnectionsPerIP = 20
        /// `smtp.postmaster`: where mail to <Postmaster> goes; empty: the postmaster account or alias of a local domain.
        public var postmaster: String?
    }

    public struct SubmissionSettings: Sendable, Equatable {
        /// `submission.check_from`: every `From:` and `Sender:` address of a submitted message must belong to the
        /// authenticated account (its address, a plus-address, an alias delivering to it, or a send-as grant), else
        /// 550 5.7.1. Default true; accounts marked `--trusted-relay` are exempt either way.
        public var checkFrom = true
    }

    public struct IMAPSettings: Sendable, Equatable {
        /// `imap.append_limit` (octets): largest APPEND literal, advertised as APPENDLIMIT. Default 50,000,000.
        public var appendLimit: Int64 = 50_000_000
        /// `imap.max_connections`, `imap.max_connections_per_ip`, `imap.max_connections_per_user`. Defaults 1000, 50, 50.
        public var maxConnections = 1000
        public var maxConnectionsPerIP = 50
        public var maxConnectionsPerUser = 50
        /// `imap.max_literal_before_auth` (octets): largest literal before login; larger ones are refused before they are
        /// read (`tag BAD`, or `* BYE` for a non-synchronizing literal). Default 8 KiB.
        public var maxLiteralBeforeAuth = Int64(IMAPParserLimits.defaultMaximumLiteralSizeBeforeAuthentication)
        /// `imap.login_timeout` (seconds): autologout of connections that have not logged in (RFC 9051 §5.4). Default 60.
        public var loginTimeoutSeconds = 60
        /// `imap.idle_timeout` (seconds): autologout of logged-in sessions, in IDLE or not; at least 1800 (RFC 9051 §5.4).
        /// Default 1860.
        public var idleTimeoutSeconds = 1860
        /// `imap.state_cache_messages`: message states (about 100 bytes each, with their SELECT view) of recently
        /// selected mailboxes the server keeps for every session's SELECT. Default 500,000 (about 50 MB); 0 reads the
        /// store at each SELECT.
        public var stateCacheMessages = 500_000
    }

    /// `[mailauth]`: DKIM, SPF and DMARC.
    public var mailAuth = MailAuthSettings()

    public struct MailAuthSettings: Sendable, Equatable {
        /// `mailauth.public_suffix_list`: the PSL file DMARC finds organizational domains with.
        public var publicSuffixList = "/usr/share/publicsuffix/public_suffix_list.dat"
        /// `mailauth.check_inbound`: run SPF, DKIM and DMARC on mail arriving on the MX port. Default true.
        public var checkInbound = true
        /// `mailauth.dmarc_reject`: refuse (550 5.7.1) mail failing DMARC under p=reject. Default true.
        public var dmarcReject = true
        /// `mailauth.dmarc_quarantine`: file mail failing DMARC under p=quarantine into Junk. Default true.
        public var dmarcQuarantine = true
    }

    /// `[delivery]`: sending mail to other servers.
    public var delivery = DeliverySettings()

    public struct DeliverySettings: Sendable, Equatable {
        /// `delivery.source_address`: local IP outgoing connections use; empty: the `listen.smtp` address when it is a
        /// specific one (so SPF and reverse DNS match), else the kernel's choice.
        public var sourceAddress: String?
        /// `delivery.mx_port`: port of remote MX hosts. Default 25.
        public var mxPort = 25
        /// `delivery.tls`: opportunistic (default), required, verify or none, toward MX hosts.
        public var tls = "opportunistic"
        /// `delivery.trust_roots`: extra PEM trust roots for `verify` (private CAs, tests).
        public var trustRoots: String?
        /// `delivery.smarthost`: "host:port" that relays all outbound mail; empty: deliver to each domain's MX.
        public var smarthost: String?
        /// `delivery.smarthost_tls`: required (STARTTLS, default), verify, implicit (port 465) or opportunistic.
        public var smarthostTLS = "verify"
        /// `delivery.smarthost_user`, `delivery.smarthost_password_file`: AUTH PLAIN over TLS to the smarthost.
        public var smarthostUser: String?
        public var smarthostPasswordFile: String?
        /// `[delivery.routes]`: domain → "host:port" static routes (win over the smarthost and MX).
        public var routes: [String: String] = [:]
        /// `[delivery.tls_policy]`: domain → none/opportunistic/required/verify for that domain's MX hosts.
        public var tlsPolicy: [String: String] = [:]
        /// `delivery.first_retry`, `delivery.max_retry_interval`, `delivery.expire`, `delivery.delay_warning` (seconds).
        public var firstRetrySeconds = 300
        public var maxRetryIntervalSeconds = 4 * 3600
        public var expireSeconds = 5 * 86_400
        public var delayWarningSeconds = 4 * 3600
        /// `delivery.max_concurrent`, `delivery.max_per_domain`: messages in delivery at once, connections per domain.
        public var maxConcurrent = 20
        public var maxPerDomain = 4
    }

    /// `[http]` and `[mta_sts]`: the HTTP server (autoconfig, MTA-STS, /metrics).
    public var http = HTTPSettings()

    public struct HTTPSettings: Sendable, Equatable {
        /// `http.metrics_allow`: addresses or CIDR blocks that may read /metrics. Default loopback only.
        public var metricsAllow = ["127.0.0.0/8", "::1"]
        /// `http.request_head_timeout`, `http.request_body_timeout` (seconds): how long a client may take to send a
        /// request's head (on a new or a kept-alive connection) and then its body; slower connections are closed.
        /// Defaults in `HTTPServerConfiguration`: 10 and 30.
        public var requestHeadTimeoutSeconds = Int(HTTPServerConfiguration.defaultRequestHeadTimeout.components.seconds)
        public var requestBodyTimeoutSeconds = Int(HTTPServerConfiguration.defaultRequestBodyTimeout.components.seconds)
        /// `http.max_connections`: connections open at once; more are answered 503 and closed. Default 512.
        public var maxConnections = HTTPServerConfiguration.defaultMaximumConnections
        /// `mta_sts.mode`: testing (default), enforce or none (RFC 8461 §5).
        public var mtaSTSMode = "testing"
        /// `mta_sts.max_age` (seconds): how long senders cache the policy. Default one week; at most 31557600.
        public var mtaSTSMaxAge = 604_800
        /// `mta_sts.mx`: MX names or `*.domain` patterns in the policy; empty: `hostname`.
        public var mtaSTSMX: [String] = []
        /// `mta_sts.any_host`: serve the policy whatever the Host header (default: only for mta-sts.<local domain>).
        public var mtaSTSAnyHost = false
    }

    /// `dns.servers`: resolvers (`host:port`) for MX, SPF, DKIM and DMARC lookups; empty uses /etc/resolv.conf.
    public var dnsServers: [String] = []

    /// `log.level`: trace, debug, info, notice, warning, error, critical.
    public var logLevel = "info"

    /// Whether this is `serve --dev` (loopback, unprivileged ports, demo account).
    public var developmentMode = false

    public enum Service: String, CaseIterable, Sendable, Comparable {
        case smtp, submission, submissions, imap, imaps, http
        public static func < (lhs: Service, rhs: Service) -> Bool { allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)! }
    }

    public init() {}

    /// The `serve --dev` defaults: loopback, unprivileged ports, `./letterbox-data`.
    public static func development() -> LetterboxConfiguration {
        var configuration = LetterboxConfiguration()
        configuration.developmentMode = true
        configuration.hostname = "localhost"
        configuration.dataDirectory = FileManager.default.currentDirectoryPath + "/letterbox-data"
        configuration.listeners = [
            .smtp: ListenAddress(host: "127.0.0.1", port: 2525), .submission: ListenAddress(host: "127.0.0.1", port: 2587),
            .submissions: ListenAddress(host: "127.0.0.1", port: 2465), .imap: ListenAddress(host: "127.0.0.1", port: 2143),
            .imaps: ListenAddress(host: "127.0.0.1", port: 2993), .http: ListenAddress(host: "127.0.0.1", port: 8080),
        ]
        return configuration
    }

    /// Reads a TOML configuration file on top of `base`. Every problem names the key, the value and what is wrong.
    public static func load(path: String, base: LetterboxConfiguration = LetterboxConfiguration()) throws(ConfigurationError) -> LetterboxConfiguration {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigurationError(key: "--config", value: path, problem: "cannot read the file (\(error.localizedDescription))")
        }
        return try parse(toml: text, source: path, base: base)
    }

    public static func parse(toml text: String, source: String = "config", base: LetterboxConfiguration = LetterboxConfiguration()) throws(ConfigurationError) -> LetterboxConfiguration {
        var reader = try ConfigurationReader(toml: text, source: source)
        return try parse(&reader, base: base)
    }

    /// Every key the configuration file may hold (what the parser reads), e.g. "smtp.max_recipients".
    public static var settingKeys: Set<String> {
        guard var reader = try? ConfigurationReader(toml: "", source: "keys") else { return [] }
        _ = try? parse(&reader, base: LetterboxConfiguration())
        return reader.consumed
    }

    static func parse(_ reader: inout ConfigurationReader, base: LetterboxConfiguration) throws(ConfigurationError) -> LetterboxConfiguration {
        var configuration = base
        if let hostname = try reader.string("hostname") {
            guard isValidHostname(hostname) else { throw ConfigurationError(key: "hostname", value: hostname, problem: "not a valid host name") }
            configuration.hostname = hostname
        }
        if let directory = try reader.string("data_dir") {
            guard !directory.isEmpty else { throw ConfigurationError(key: "data_dir", value: "\"\"", problem: "must not be empty") }
            configuration.dataDirectory = directory
        }
        configuration.server.user = try reader.string("server.user").flatMap { $0.isEmpty ? nil : $0 } ?? configuration.server.user
        configuration.server.group = try reader.string("server.group").flatMap { $0.isEmpty ? nil : $0 } ?? configuration.server.group
        if configuration.server.group != nil, configuration.server.user == nil {
            throw ConfigurationError(key: "server.group", value: configuration.server.group, problem: "needs server.user (the account to switch to)")
        }
        try readStore(&reader, into: &configuration.store)
        for service in Service.allCases {
            let key = "listen.\(service.rawValue)"
            guard let text = try reader.string(key) else { continue }
            if text.isEmpty { configuration.listeners[service] = nil; continue }
            guard let address = ListenAddress(text) else {
                throw ConfigurationError(key: key, value: text, problem: "expected HOST:PORT, e.g. 0.0.0.0:\(configuration.listeners[service]?.port ?? 25)")
            }
            configuration.listeners[service] = address
        }
        configuration.tlsCertificate = try reader.string("tls.cert").flatMap { $0.isEmpty ? nil : $0 } ?? configuration.tlsCertificate
        configuration.tlsKey = try reader.string("tls.key").flatMap { $0.isEmpty ? nil : $0 } ?? configuration.tlsKey
        configuration.allowCleartextAuthentication = try reader.bool("auth.allow_cleartext") ?? configuration.allowCleartextAuthentication
        configuration.minimumPasswordLength = try reader.int("auth.min_password_length", range: 1...1024) ?? configuration.minimumPasswordLength
        configuration.credentialIterations = try reader.int("auth.credential_iterations", range: 4096...10_000_000) ?? configuration.credentialIterations
        configuration.loginCacheSize = try reader.int("auth.login_cache_size", range: 0...10_000_000) ?? configuration.loginCacheSize
        configuration.lockoutThreshold = try reader.int("auth.lockout_threshold", range: 1...1_000_000) ?? configuration.lockoutThreshold
        configuration.lockoutSeconds = try reader.int("auth.lockout_duration", range: 1...86_400 * 30) ?? configuration.lockoutSeconds
        try readSMTP(&reader, into: &configuration.smtp)
        configuration.submission.checkFrom = try reader.bool("submission.check_from") ?? configuration.submission.checkFrom
        try readIMAP(&reader, into: &configuration.imap)
        configuration.defaultQuota = try reader.size("quota.default", range: 0...Int64.max) ?? configuration.defaultQuota
        try readDelivery(&reader, into: &configuration.delivery)
        configuration.mailAuth.publicSuffixList = try reader.string("mailauth.public_suffix_list").flatMap { $0.isEmpty ? nil : $0 }
            ?? configuration.mailAuth.publicSuffixList
        configuration.mailAuth.checkInbound = try reader.bool("mailauth.check_inbound") ?? configuration.mailAuth.checkInbound
        configuration.mailAuth.dmarcReject = try reader.bool("mailauth.dmarc_reject") ?? configuration.mailAuth.dmarcReject
        configuration.mailAuth.dmarcQuarantine = try reader.bool("mailauth.dmarc_quarantine") ?? configuration.mailAuth.dmarcQuarantine
        try readHTTP(&reader, into: &configuration.http)
        if let servers = try reader.strings("dns.servers") {
            for server in servers where ListenAddress(server) == nil {
                throw ConfigurationError(key: "dns.servers", value: server, problem: "expected HOST:PORT, e.g. 127.0.0.1:53")
            }
            configuration.dnsServers = servers
        }
        if let level = try reader.string("log.level") {
            guard logLevels.contains(level) else {
                throw ConfigurationError(key: "log.level", value: level, problem: "must be one of \(logLevels.joined(separator: ", "))")
            }
            configuration.logLevel = level
        }
        if let unknown = reader.unknownKeys().first {
            throw ConfigurationError(key: unknown, value: nil, problem: "unknown key (see letterbox.example.toml for every setting)")
        }
        return configuration
    }

    /// Checks what can be checked before binding: TLS files readable, no two services on one address.
    public func validate() throws(ConfigurationError) {
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw ConfigurationError(key: tlsCertificate == nil ? "tls.cert" : "tls.key", value: nil,
                                     problem: "tls.cert and tls.key must be given together")
        }
        for (key, path) in [("tls.cert", tlsCertificate), ("tls.key", tlsKey)] {
            guard let path else { continue }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ConfigurationError(key: key, value: path, problem: "the file does not exist or is not readable")
            }
        }
        var seen: [ListenAddress: Service] = [:]
        for (service, address) in listeners.sorted(by: { $0.key < $1.key }) {
            if address.port != 0, let other = seen[address] {
                throw ConfigurationError(key: "listen.\(service.rawValue)", value: address.description,
                                         problem: "conflicts with listen.\(other.rawValue), which uses the same address")
            }
            seen[address] = service
        }
        if !Self.isValidHostname(hostname) { throw ConfigurationError(key: "hostname", value: hostname, problem: "not a valid host name") }
    }

    static func readStore(_ reader: inout ConfigurationReader, into store: inout StoreSettings) throws(ConfigurationError) {
        if let backend = try reader.string("store.backend") {
            guard let value = StoreSettings.Backend(rawValue: backend) else {
                throw ConfigurationError(key: "store.backend", value: backend, problem: "must be \"sqlite\" or \"postgres\"")
            }
            store.backend = value
        }
        store.url = try reader.string("store.url").flatMap { $0.isEmpty ? nil : $0 } ?? store.url
        store.passwordFile = try reader.string("store.password_file").flatMap { $0.isEmpty ? nil : $0 } ?? store.passwordFile
        store.poolSize = try reader.int("store.pool_size", range: 2...1000) ?? store.poolSize
        store.claimTimeoutSeconds = try reader.int("store.claim_timeout", range: 5...86_400) ?? store.claimTimeoutSeconds
        store.gcIntervalSeconds = try reader.int("store.gc_interval", range: 0...604_800) ?? store.gcIntervalSeconds
        if store.backend == .postgres, store.url == nil {
            throw ConfigurationError(key: "store.url", value: nil, problem: "store.backend = \"postgres\" needs the database URL, e.g. postgres://letterbox@db.example.org/letterbox?sslmode=verify-full")
        }
    }

    /// Octets from "123", "10K", "50M" or "2G" (powers of 1024); nil when it is not a size.
    public static func parseSize(_ text: String) -> Int64? { ConfigurationReader.parseSize(text) }

    static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    static func isValidHostname(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 253 && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { $0 == UInt8(ascii: "-") || ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) }
        }
    }

    static func systemHostname() -> String {
        let name = ProcessInfo.processInfo.hostName
        return isValidHostname(name) ? name : "localhost"
    }

    private static func readSMTP(_ reader: inout ConfigurationReader, into smtp: inout SMTPSettings) throws(ConfigurationError) {
        smtp.maxMessageSize = try reader.size("smtp.max_message_size", range: 1024...(4 << 30)) ?? smtp.maxMessageSize
        smtp.maxRecipients = try reader.int("smtp.max_recipients", range: 1...100_000) ?? smtp.maxRecipients
        smtp.maxErrors = try reader.int("smtp.max_errors", range: 1...10_000) ?? smtp.maxErrors
        smtp.idleTimeoutSeconds = try reader.int("smtp.idle_timeout", range: 10...86_400) ?? smtp.idleTimeoutSeconds
        smtp.maxConnections = try reader.int("smtp.max_connections", range: 1...1_000_000) ?? smtp.maxConnections
        smtp.maxConnectionsPerIP = try reader.int("smtp.max_connections_per_ip", range: 1...1_000_000) ?? smtp.maxConnectionsPerIP
        if let postmaster = try reader.string("smtp.postmaster"), !postmaster.isEmpty {
            guard EmailAddress(postmaster) != nil else {
                throw ConfigurationError(key: "smtp.postmaster", value: postmaster, problem: "not a valid email address")
            }
            smtp.postmaster = postmaster
        }
    }

    private static func readIMAP(_ reader: inout ConfigurationReader, into imap: inout IMAPSettings) throws(ConfigurationError) {
        imap.appendLimit = try reader.size("imap.append_limit", range: 1024...(4 << 30)) ?? imap.appendLimit
        imap.maxConnections = try reader.int("imap.max_connections", range: 1...1_000_000) ?? imap.maxConnections
        imap.maxConnectionsPerIP = try reader.int("imap.max_connections_per_ip", range: 1...1_000_000) ?? imap.maxConnectionsPerIP
        imap.maxConnectionsPerUser = try reader.int("imap.max_connections_per_user", range: 1...1_000_000) ?? imap.maxConnectionsPerUser
        imap.maxLiteralBeforeAuth = try reader.size("imap.max_literal_before_auth", range: 1024...(1 << 20)) ?? imap.maxLiteralBeforeAuth
        imap.loginTimeoutSeconds = try reader.int("imap.login_timeout", range: 1...3600) ?? imap.loginTimeoutSeconds
        imap.idleTimeoutSeconds = try reader.int("imap.idle_timeout", range: 1800...86_400) ?? imap.idleTimeoutSeconds
        imap.stateCacheMessages = try reader.int("imap.state_cache_messages", range: 0...100_000_000) ?? imap.stateCacheMessages
    }

    static let tlsModes = ["none", "opportunistic", "required", "verify", "implicit"]

    private static func readDelivery(_ reader: inout ConfigurationReader, into delivery: inout DeliverySettings) throws(ConfigurationError) {
        func tlsMode(_ key: String, _ value: String, allowImplicit: Bool) throws(ConfigurationError) -> String {
            let allowed = allowImplicit ? tlsModes : tlsModes.filter { $0 != "implicit" }
            guard allowed.contains(value) else { throw ConfigurationError(key: key, value: value, problem: "must be one of \(allowed.joined(separator: ", "))") }
            return value
        }
        if let source = try reader.string("delivery.source_address"), !source.isEmpty {
            guard ListenAddress(source + ":0") != nil || ListenAddress("[\(source)]:0") != nil, source.contains(".") || source.contains(":") else {
                throw ConfigurationError(key: "delivery.source_address", value: source, problem: "must be an IP address")
            }
            delivery.sourceAddress = source
        }
        delivery.mxPort = try reader.int("delivery.mx_port", range: 1...65535) ?? delivery.mxPort
        if let tls = try reader.string("delivery.tls") { delivery.tls = try tlsMode("delivery.tls", tls, allowImplicit: false) }
        delivery.trustRoots = try reader.string("delivery.trust_roots").flatMap { $0.isEmpty ? nil : $0 } ?? delivery.trustRoots
        if let smarthost = try reader.string("delivery.smarthost"), !smarthost.isEmpty {
            guard ListenAddress(smarthost) != nil else {
                throw ConfigurationError(key: "delivery.smarthost", value: smarthost, problem: "expected HOST:PORT, e.g. smtp.provider.example:587")
            }
            delivery.smarthost = smarthost
        }
        if let tls = try reader.string("delivery.smarthost_tls") { delivery.smarthostTLS = try tlsMode("delivery.smarthost_tls", tls, allowImplicit: true) }
        delivery.smarthostUser = try reader.string("delivery.smarthost_user").flatMap { $0.isEmpty ? nil : $0 } ?? delivery.smarthostUser
        delivery.smarthostPasswordFile = try reader.string("delivery.smarthost_password_file").flatMap { $0.isEmpty ? nil : $0 }
            ?? delivery.smarthostPasswordFile
        if delivery.smarthostUser != nil, delivery.smarthostPasswordFile == nil {
            throw ConfigurationError(key: "delivery.smarthost_password_file", value: nil, problem: "needed when delivery.smarthost_user is set")
        }
        if delivery.smarthostUser != nil, delivery.smarthostTLS == "none" || delivery.smarthostTLS == "opportunistic" {
            throw ConfigurationError(key: "delivery.smarthost_tls", value: delivery.smarthostTLS,
                                     problem: "a password is never sent without TLS: use required, verify or implicit")
        }
        if let routes = try reader.stringTable("delivery.routes") {
            for (domain, target) in routes where ListenAddress(target) == nil {
                throw ConfigurationError(key: "delivery.routes.\(domain)", value: target, problem: "expected HOST:PORT")
            }
            delivery.routes = Dictionary(uniqueKeysWithValues: routes.map { ($0.key.lowercased(), $0.value) })
        }
        if let policies = try reader.stringTable("delivery.tls_policy") {
            for (domain, mode) in policies { _ = try tlsMode("delivery.tls_policy.\(domain)", mode, allowImplicit: false) }
            delivery.tlsPolicy = Dictionary(uniqueKeysWithValues: policies.map { ($0.key.lowercased(), $0.value) })
        }
        delivery.firstRetrySeconds = try reader.int("delivery.first_retry", range: 1...86_400) ?? delivery.firstRetrySeconds
        delivery.maxRetryIntervalSeconds = try reader.int("delivery.max_retry_interval", range: 1...7 * 86_400) ?? delivery.maxRetryIntervalSeconds
        delivery.expireSeconds = try reader.int("delivery.expire", range: 60...60 * 86_400) ?? delivery.expireSeconds
        delivery.delayWarningSeconds = try reader.int("delivery.delay_warning", range: 0...60 * 86_400) ?? delivery.delayWarningSeconds
        delivery.maxConcurrent = try reader.int("delivery.max_concurrent", range: 1...10_000) ?? delivery.maxConcurrent
        delivery.maxPerDomain = try reader.int("delivery.max_per_domain", range: 1...1000) ?? delivery.maxPerDomain
    }

    static let mtaSTSModes = ["testing", "enforce", "none"]

    private static func readHTTP(_ reader: inout ConfigurationReader, into http: inout HTTPSettings) throws(ConfigurationError) {
        if let allow = try reader.strings("http.metrics_allow") {
            for entry in allow where !isAddressOrCIDR(entry) {
                throw ConfigurationError(key: "http.metrics_allow", value: entry, problem: "expected an IP address or CIDR block, e.g. 127.0.0.0/8 or ::1")
            }
            http.metricsAllow = allow
        }
        http.requestHeadTimeoutSeconds = try reader.int("http.request_head_timeout", range: 1...3600) ?? http.requestHeadTimeoutSeconds
        http.requestBodyTimeoutSeconds = try reader.int("http.request_body_timeout", range: 1...3600) ?? http.requestBodyTimeoutSeconds
        http.maxConnections = try reader.int("http.max_connections", range: 1...1_000_000) ?? http.maxConnections
        if let mode = try reader.string("mta_sts.mode") {
            guard mtaSTSModes.contains(mode) else {
                throw ConfigurationError(key: "mta_sts.mode", value: mode, problem: "must be one of \(mtaSTSModes.joined(separator: ", "))")
            }
            http.mtaSTSMode = mode
        }
        http.mtaSTSMaxAge = try reader.int("mta_sts.max_age", range: 0...31_557_600) ?? http.mtaSTSMaxAge
        if let mx = try reader.strings("mta_sts.mx") {
            for name in mx where !isValidHostname(name.hasPrefix("*.") ? String(name.dropFirst(2)) : name) {
                throw ConfigurationError(key: "mta_sts.mx", value: name, problem: "expected a host name or *.domain pattern")
            }
            http.mtaSTSMX = mx.map { $0.lowercased() }
        }
        http.mtaSTSAnyHost = try reader.bool("mta_sts.any_host") ?? http.mtaSTSAnyHost
    }

    /// `127.0.0.1`, `10.0.0.0/8`, `::1`, `2001:db8::/32` (checked again, fully, where the HTTP server is built).
    static func isAddressOrCIDR(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = parts.first, !address.isEmpty else { return false }
        let isV6 = address.contains(":")
        let bits = isV6 ? 128 : 32
        if parts.count == 2 { guard let length = Int(parts[1]), (0...bits).contains(length) else { return false } }
        if isV6 { return address.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } }
        let octets = address.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.allSatisfy { Int($0).map { (0...255).contains($0) } ?? false }
    }
}
