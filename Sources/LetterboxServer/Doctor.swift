import DNS
import Foundation
import MailCore

/// One line of `letterbox doctor`'s checklist: what was checked, whether it passed, what was seen, and — when it failed —
/// the exact fix. `required == false` marks advice (SRV, autoconfig): shown, but it does not make the doctor fail.
public struct DoctorCheck: Sendable, Equatable, Codable {
    public var name: String
    public var passed: Bool
    public var detail: String
    public var fix: String?
    public var required: Bool

    public init(name: String, passed: Bool, detail: String, fix: String? = nil, required: Bool = true) {
        self.name = name
        self.passed = passed
        self.detail = detail
        self.fix = passed ? nil : fix
        self.required = required
    }

    /// Writes `fix` as null when there is none, so every JSON object has the same keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(passed, forKey: .passed)
        try container.encode(detail, forKey: .detail)
        try container.encode(fix, forKey: .fix)
        try container.encode(required, forKey: .required)
    }

    static func pass(_ name: String, _ detail: String) -> DoctorCheck { DoctorCheck(name: name, passed: true, detail: detail) }
    static func fail(_ name: String, _ detail: String, fix: String) -> DoctorCheck { DoctorCheck(name: name, passed: false, detail: detail, fix: fix) }
}

/// `letterbox doctor`: checks this server's setup from the outside — listeners, TLS, authentication before TLS, open
/// relaying, DNS (MX, A/AAAA and PTR, SPF, DKIM, DMARC, MTA-STS, SRV, autoconfig) and a full submission → IMAP loop — against
/// the running server (the addresses in `DATA_DIR/run/listeners.json`, else the configured ones) and the configured resolver.
public struct Doctor: Sendable {
    public let configuration: LetterboxConfiguration
    /// The host name clients and other servers use (default: `hostname`).
    public let hostname: String
    /// Where each service really listens.
    public let addresses: [LetterboxConfiguration.Service: ListenAddress]

    public init(configuration: LetterboxConfiguration, host: String? = nil) {
        var configuration = configuration
        if let host { configuration.hostname = host }   // the records it expects (letterbox dns) name this host too
        self.configuration = configuration
        hostname = configuration.hostname.lowercased()
        addresses = Self.runningAddresses(configuration)
    }

    /// Every check, in checklist order. `domain` limits the DNS checks to one domain (default: every local domain).
    public func run(domain: String? = nil) async -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        checks += await listenerChecks()
        checks += serverUserCheck()
        checks += await certificateChecks()
        checks += await authenticationChecks()
        let system = try? MailSystem(configuration: configuration, mode: .mustExist)
        if let system {
            checks += await storeChecks(system)
            try? await system.synchronizeDKIMKeys()  // on PostgreSQL, check the keys every node signs with
        }
        let domains = await localDomains(system, only: domain)
        if domains.isEmpty {
            checks.append(.fail("local domains", "no local domain", fix: "letterbox domain add DOMAIN"))
        }
        do {
            let resolver = try DeliveryWiring.resolver(configuration)
            checks += await hostChecks(resolver)
            for name in domains { checks += await dnsChecks(domain: name, resolver: resolver) }
        } catch {
            checks.append(.fail("DNS resolver", error.description, fix: "set dns.servers to resolvers that answer, e.g. [\"127.0.0.1:53\"]"))
        }
        if let system, let first = domains.first { checks.append(await loopCheck(system, domain: first)) }
        return checks
    }

    /// Whether every required check passed.
    public static func passed(_ checks: [DoctorCheck]) -> Bool { checks.allSatisfy { $0.passed || !$0.required } }

    /// The readable checklist: `✓ name: detail`, `✗ name: detail` + `  fix: …`, `! name` for advice.
    public static func checklist(_ checks: [DoctorCheck], colour: Bool) -> String {
        func paint(_ text: String, _ code: String) -> String { colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        var lines: [String] = []
        for check in checks {
            let mark = check.passed ? paint("✓", "32") : check.required ? paint("✗", "31") : paint("!", "33")
            lines.append("\(mark) \(check.name): \(check.detail)")
            if let fix = check.fix { lines.append("    fix: \(fix)") }
        }
        let failed = checks.filter { !$0.passed && $0.required }.count
        lines.append(failed == 0 ? "all \(checks.count) checks passed" : "\(failed) of \(checks.count) checks failed")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The checks as a JSON array of `{name, passed, detail, fix, required}`.
    public static func json(_ checks: [DoctorCheck]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(checks), as: UTF8.self)) ?? "[]"
    }

    /// `DATA_DIR/run/listeners.json` when the server wrote one, else the configured addresses (0.0.0.0 → 127.0.0.1).
    static func runningAddresses(_ configuration: LetterboxConfiguration) -> [LetterboxConfiguration.Service: ListenAddress] {
        var result: [LetterboxConfiguration.Service: ListenAddress] = [:]
        for (service, address) in configuration.listeners {
            let host = ["0.0.0.0", "*", ""].contains(address.host) ? "127.0.0.1" : address.host == "::" ? "::1" : address.host
            result[service] = ListenAddress(host: host, port: address.port)
        }
        let path = configuration.dataDirectory + "/run/listeners.json"
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let listeners = object["listeners"] as? [String: String] else { return result }
        for (name, text) in listeners {
            guard let service = LetterboxConfiguration.Service(rawValue: name), let colon = text.lastIndex(of: ":"),
                  let port = Int(text[text.index(after: colon)...]) else { continue }
            var host = String(text[..<colon])
            if host == "0.0.0.0" { host = "127.0.0.1" } else if host == "::" { host = "::1" }
            result[service] = ListenAddress(host: host, port: port)
        }
        return result
    }

    /// "not running as root": the running server (its `run/listeners.json`) must not serve as root. No check when no
    /// server wrote the file.
    func serverUserCheck() -> [DoctorCheck] {
        let path = configuration.dataDirectory + "/run/listeners.json"
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let uid = object["uid"] as? Int else { return [] }
        let user = (object["user"] as? String).flatMap { $0.isEmpty ? nil : $0 } ?? "uid \(uid)"
        let pid = (object["pid"] as? Int).map { " (pid \($0))" } ?? ""
        guard uid == 0 else { return [.pass("not running as root", "the server\(pid) runs as \(user)")] }
        return [.fail("not running as root", "the server\(pid) runs as root: a flaw in any part of it would give away the whole machine",
                      fix: "set [server] user = \"letterbox\" (after: useradd --system --home-dir \(configuration.dataDirectory) --shell /usr/sbin/nologin letterbox) and restart, or run it from contrib/letterbox.service")]
    }

    func localDomains(_ system: MailSystem?, only: String?) async -> [String] {
        if let only { return [only.lowercased()] }
        guard let system, let domains = try? await system.directory.domains() else { return [] }
        return domains.map(\.name)
    }
}
