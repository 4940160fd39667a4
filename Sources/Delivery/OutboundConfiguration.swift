import Foundation
import SMTPProtocol

/// How Letterbox sends mail to other servers. Every default is documented where it is declared.
public struct OutboundConfiguration: Sendable {
    /// Our name in EHLO and in bounces (`Reporting-MTA`).
    public var hostname: String
    /// Local address outgoing connections bind to (SPF and reverse DNS must match it); nil lets the kernel choose.
    public var sourceAddress: String?
    /// Port of MX hosts. Default 25; tests may point it elsewhere.
    public var mxPort: Int = 25
    /// Relay everything through this host (with AUTH over TLS when credentials are given), except domains in `routes`.
    public var smarthost: OutboundRoute?
    /// Per-domain static routes (lower-cased domain → route); they win over the smarthost and MX.
    public var routes: [String: OutboundRoute] = [:]
    /// Per-domain TLS requirement for MX delivery (lower-cased domain → policy); others use `defaultTLS`.
    public var tlsPolicies: [String: OutboundTLS] = [:]
    /// TLS toward MX hosts without a policy of their own. Default opportunistic (STARTTLS whenever offered).
    public var defaultTLS: OutboundTLS = .opportunistic
    /// PEM file of extra trust roots for `.verify` (besides the system's); for private CAs and tests.
    public var trustRootsFile: String?
    public var retry = RetrySchedule()
    /// Messages in delivery at once, and connections at once to one destination domain. Defaults 20 and 4.
    public var maxConcurrentDeliveries = 20
    public var maxConnectionsPerDomain = 4
    /// Messages sent over one connection before it is closed. Default 50.
    public var maxMessagesPerConnection = 50
    /// Connecting may take this long. Default 30 s.
    public var connectTimeout: Duration = .seconds(30)
    /// Any one reply may take this long (RFC 5321 §4.5.3.2 asks for 5 minutes for most commands, 10 for the final dot;
    /// one value for all is used). Default 10 minutes.
    public var replyTimeout: Duration = .seconds(600)
    /// How often the queue is checked for work that another process made due (`letterbox queue flush`). Default 2 s.
    public var pollInterval: Duration = .seconds(2)

    public init(hostname: String) {
        self.hostname = hostname
    }

    /// The route for a recipient domain: a static route, the smarthost, or nil for MX delivery.
    public func route(for domain: String) -> OutboundRoute? {
        routes[domain.lowercased()] ?? smarthost
    }

    public func tls(for domain: String) -> OutboundTLS {
        tlsPolicies[domain.lowercased()] ?? defaultTLS
    }
}

/// TLS toward a next hop.
public enum OutboundTLS: String, Sendable, Hashable, CaseIterable {
    /// Never STARTTLS (only for a trusted local relay).
    case none
    /// STARTTLS when offered, any certificate; plaintext when not offered. The certificate check's result is logged.
    case opportunistic
    /// STARTTLS must succeed (any certificate), or the message waits.
    case required
    /// STARTTLS must succeed with a certificate valid for the host name (system trust roots plus `trustRootsFile`).
    case verify
    /// TLS from the first byte (port 465, RFC 8314), certificate verified.
    case implicit

    var clientPolicy: SMTPClientTLSPolicy {
        switch self {
        case .none, .implicit: .none
        case .opportunistic: .opportunistic
        case .required, .verify: .required
        }
    }
}

/// A fixed next hop: a smarthost or a static route.
public struct OutboundRoute: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var tls: OutboundTLS
    public var credentials: SMTPClientCredentials?

    public init(host: String, port: Int = 25, tls: OutboundTLS = .opportunistic, credentials: SMTPClientCredentials? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
        self.credentials = credentials
    }
}

/// When to try again and when to give up: 5 min, then doubling, capped at 4 h; expire after 5 days (Postfix-like).
public struct RetrySchedule: Sendable, Hashable {
    public var firstRetry: Duration = .seconds(300)
    public var maximumInterval: Duration = .seconds(4 * 3600)
    public var expireAfter: Duration = .seconds(5 * 86_400)
    /// Send a "delayed" DSN once a message has waited this long (when NOTIFY allows); zero disables. Default 4 h.
    public var delayWarningAfter: Duration = .seconds(4 * 3600)

    public init() {}

    /// Seconds to wait after the `attempts`-th failed attempt (1-based): first, 2×first, 4×first, … ≤ maximum.
    public func delay(afterAttempts attempts: Int) -> Int64 {
        let first = max(1, firstRetry.components.seconds)
        let cap = max(first, maximumInterval.components.seconds)
        var delay = first
        for _ in 1..<max(1, attempts) {
            delay *= 2
            if delay >= cap { return cap }
        }
        return min(delay, cap)
    }

    public func hasExpired(createdAt: Int64, now: Int64) -> Bool { now - createdAt >= expireAfter.components.seconds }

    public func shouldWarn(createdAt: Int64, now: Int64) -> Bool {
        let after = delayWarningAfter.components.seconds
        return after > 0 && now - createdAt >= after
    }
}
