/// HTTPServer: the small HTTP side of Letterbox, on Hummingbird 2.
///
/// - Client autoconfiguration generated from the live configuration (`MailClientSettings`), never hand-written:
///   Thunderbird autoconfig (clientConfig 1.1, draft-ietf-mailmaint-autoconfig), Outlook autodiscover (POX),
///   an Apple `.mobileconfig` profile (com.apple.mail.managed). Each lists only enabled services, implicit TLS first
///   (RFC 8314 §5.1), then STARTTLS; never a cleartext option.
/// - The MTA-STS policy file (RFC 8461 §3.2) and its policy id for the `_mta-sts` TXT record (RFC 8461 §3.1).
/// - `/metrics` in the Prometheus text format (swift-metrics + swift-prometheus), for allowed client addresses only.
///
/// Routing and documents are pure (`MailHTTPEndpoints.respond(to:)` takes an `HTTPRequestSummary` and returns an
/// `HTTPReply`); `HTTPService` is the thin Hummingbird adapter that collects the body (bounded) and the peer address.
import Foundation
import MailCore

/// How clients reach the mail services, as the running server is configured: what autoconfig documents describe.
/// Built by the wiring from the real configuration and the bound listeners.
public struct MailClientSettings: Sendable, Equatable {
    /// The host name clients connect to (and the certificate names).
    public var hostname: String
    /// Local domains (lower case, A-labels): addresses in them get a configuration; others get 404.
    public var domains: [String]
    /// The enabled client services; a service that is absent is disabled.
    public var services: [MailClientService.Kind: MailClientService]

    public init(hostname: String, domains: [String], services: [MailClientService.Kind: MailClientService]) {
        self.hostname = hostname
        self.domains = domains.map { $0.lowercased() }
        self.services = services
    }

    /// Enabled IMAP services a client can log in to, implicit TLS first (RFC 8314 §5.1), then STARTTLS.
    public var incoming: [MailClientService] { usable([.imaps, .imap]) }
    /// Enabled submission services a client can log in to, implicit TLS first, then STARTTLS.
    public var outgoing: [MailClientService] { usable([.submissions, .submission]) }

    private func usable(_ kinds: [MailClientService.Kind]) -> [MailClientService] {
        kinds.compactMap { services[$0] }.filter(\.offersPasswordLogin)
    }

    /// The local domain of an address (case-insensitive), or nil when the address is malformed (RFC 5321 mailbox
    /// syntax, via `EmailAddress`) or not local.
    public func localDomain(of emailAddress: String) -> String? {
        guard let address = EmailAddress(emailAddress) else { return nil }
        return localDomain(named: address.domain.name)
    }

    /// `name` lower-cased when it is a local domain.
    public func localDomain(named name: String) -> String? {
        let domain = name.lowercased()
        return domains.contains(domain) ? domain : nil
    }
}

/// One client-facing mail service.
public struct MailClientService: Sendable, Equatable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case imaps, imap, submissions, submission
    }

    /// How TLS starts. There is deliberately no "none": Letterbox never tells a client to send a password in clear.
    public enum Security: String, Sendable, Hashable {
        /// TLS from the first byte (RFC 8314 §3): ports 993, 465.
        case implicitTLS
        /// STARTTLS before authentication (RFC 3207, RFC 9051 §6.2.1): ports 143, 587.
        case startTLS
    }

    public var kind: Kind
    /// The port clients connect to.
    public var port: Int
    public var security: Security
    /// SASL mechanisms offered once TLS is up (e.g. PLAIN, LOGIN, SCRAM-SHA-256).
    public var authMechanisms: [String]

    public init(kind: Kind, port: Int, security: Security, authMechanisms: [String]) {
        self.kind = kind
        self.port = port
        self.security = security
        self.authMechanisms = authMechanisms
    }

    /// Whether a plain password login (PLAIN, LOGIN or the protocol's own) works here; it only ever travels inside TLS.
    public var offersPasswordLogin: Bool {
        authMechanisms.contains { ["PLAIN", "LOGIN"].contains($0.uppercased()) }
    }

    public var isIMAP: Bool { kind == .imaps || kind == .imap }
}
