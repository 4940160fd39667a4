/// SMTPServer: the SMTP server sessions of Letterbox — inbound MX (port 25) and authenticated submission (587 with
/// STARTTLS, 465 with implicit TLS) — driving the pure `SMTPServerSession` (SMTPProtocol) over a ServerCore `Connection`.
///
/// Implements, on top of SMTPProtocol's state machine: RFC 5321 (trace headers §4.4, relay refusal §3.6 and §7.1),
/// RFC 6409 (submission: AUTH before MAIL, sender ownership, adding Message-ID and Date), RFC 4954 (AUTH with the SASL
/// module's PLAIN, LOGIN and SCRAM-SHA-256 server mechanisms), RFC 3207 (STARTTLS), RFC 8314 (implicit TLS),
/// RFC 3848 (ESMTPSA and friends in Received), RFC 2920 (pipelining: replies flushed when no input is buffered).
///
/// Map of the module:
/// - `SMTPService`: the `ConnectionHandler` a listener runs; holds the collaborators (the shared `Authenticator`, the
///   delivery agent, message authentication).
/// - `SMTPSessionDriver` (internal): one per connection; reads, frames, feeds the session and performs its actions.
/// - `SenderCheck`: submission's sender integrity (envelope, From and Sender must belong to the authenticated account).
/// - `TraceHeaders`: the Received header, and the Message-ID / Date a submission server adds when missing.
///
/// Invariants:
/// - A 250 after DATA/BDAT is sent only after `DeliveryAgent.accept` returned (the message is durable).
/// - A body is held in memory only up to the configured size limit (the decoder refuses more), and is dropped whenever the
///   session says `.discardData` or the connection ends.
/// - Passwords and AUTH lines are never logged.
import Delivery
import Directory
import Logging
import MailCore
import SASL
import ServerCore
import SMTPProtocol

/// The SMTP protocol for one listener: MX or submission.
public final class SMTPService: ConnectionHandler {
    /// MX or submission (the session's role).
    public typealias Role = SMTPServerSession.Role

    /// Settings of one SMTP service. Every default is documented where it is declared.
    public struct Configuration: Sendable {
        /// MX (accept for local domains, refuse relaying) or submission (AUTH required, may relay).
        public var role: Role
        /// Our name: greeting, EHLO reply, Received headers, generated Message-IDs.
        public var hostname: DomainName
        /// The listener offers STARTTLS (its TLS mode is `.startTLS`). Default false.
        public var startTLSAvailable: Bool
        /// Allow AUTH without TLS (test rigs only). Default false.
        public var allowCleartextAuthentication: Bool
        /// Maximum message size in octets (advertised as SIZE). Default 50 MiB.
        public var maximumMessageSize: UInt64
        /// Recipients per message; more get 452 4.5.3. Default 100.
        public var maximumRecipients: Int
        /// Text line limit in message bodies, CRLF included. Default 1000 (RFC 5321 §4.5.3.1.6).
        public var maximumLineLength: Int
        /// Command line limit, CRLF included. Default 512 (RFC 5321 §4.5.3.1.4).
        public var commandLineLimit: Int
        /// SASL response line limit, CRLF included. Default 12288 (RFC 4954 §4).
        public var authenticationLineLimit: Int
        /// Error replies before 421 and close. Default 20.
        public var maximumErrors: Int
        /// Submission: every `From:`/`Sender:` address must belong to the authenticated account (`SenderCheck`).
        /// Default true.
        public var checkFrom: Bool = true
        /// Failed AUTH attempts per connection before 421 and close. Default 3.
        public var maximumAuthenticationFailures: Int
        /// How long the client may stay silent. Default 5 minutes (RFC 5321 §4.5.3.2.7).
        public var idleTimeout: Duration
        /// Where mail to `<Postmaster>` and to postmaster@ any local domain without its own account or alias goes
        /// (RFC 5321 §4.5.1 requires it be accepted). Nil: the first local domain's postmaster account or alias.
        public var postmaster: EmailAddress?

        public init(
            role: Role, hostname: DomainName, startTLSAvailable: Bool = false,
            allowCleartextAuthentication: Bool = false, maximumMessageSize: UInt64 = 52_428_800, maximumRecipients: Int = 100,
            maximumLineLength: Int = 1000, commandLineLimit: Int = 512, authenticationLineLimit: Int = 12288,
            maximumErrors: Int = 20, maximumAuthenticationFailures: Int = 3, idleTimeout: Duration = .seconds(300),
            postmaster: EmailAddress? = nil
        ) {
            self.postmaster = postmaster
            self.role = role
            self.hostname = hostname
            self.startTLSAvailable = startTLSAvailable
            self.allowCleartextAuthentication = allowCleartextAuthentication
            self.maximumMessageSize = maximumMessageSize
            self.maximumRecipients = maximumRecipients
            self.maximumLineLength = maximumLineLength
            self.commandLineLimit = commandLineLimit
            self.authenticationLineLimit = authenticationLineLimit
            self.maximumErrors = maximumErrors
            self.maximumAuthenticationFailures = maximumAuthenticationFailures
            self.idleTimeout = idleTimeout
        }

        /// The session configuration for a connection that is (`tlsActive`) or is not yet encrypted.
        func sessionConfiguration(tlsActive: Bool) -> SMTPServerSession.Configuration {
            SMTPServerSession.Configuration(
                role: role, hostname: hostname, tlsActive: tlsActive, tlsAvailable: startTLSAvailable,
                allowAuthenticationWithoutTLS: allowCleartextAuthentication, maximumRecipients: maximumRecipients,
                maximumMessageSize: maximumMessageSize, maximumLineLength: maximumLineLength, maximumErrors: maximumErrors,
                maximumAuthenticationFailures: maximumAuthenticationFailures)
        }

        var framerLimits: SMTPInputFramer.Limits {
            SMTPInputFramer.Limits(commandLine: commandLineLimit, authenticationLine: authenticationLineLimit)
        }
    }

    public let configuration: Configuration
    let delivery: DeliveryAgent
    /// The process's one authenticator (shared with IMAP, so failures and lockouts count across protocols).
    let authenticator: Authenticator
    var directory: AccountDirectory { authenticator.directory }

    /// DKIM signing (submission) and SPF/DKIM/DMARC checks (MX); nil: neither.
    let authentication: MessageAuthentication?

    public init(
        configuration: Configuration, authenticator: Authenticator, delivery: DeliveryAgent, authentication: MessageAuthentication? = nil
    ) {
        self.authentication = authentication
        self.configuration = configuration
        self.authenticator = authenticator
        self.delivery = delivery
    }

    public func handle(_ connection: Connection) async throws {
        let driver = SMTPSessionDriver(connection: connection, service: self)
        await driver.run()
    }

    public func refusalMessage(for reason: RefusalReason) -> String {
        let name = configuration.hostname.name
        switch reason {
        case .tooManyConnections: return "421 4.7.0 \(name) Too many connections, try again later\r\n"
        case .tooManyConnectionsFromAddress: return "421 4.7.0 \(name) Too many connections from your address, try again later\r\n"
        case .shuttingDown: return "421 4.3.2 \(name) Service shutting down, try again later\r\n"
        }
    }

    /// RFC 5321 §4.5.1: `<Postmaster>` and postmaster@ each local domain (and our host name) must be accepted. When
    /// `address` (a postmaster address the directory does not deliver) is one of those, the resolution of the configured
    /// postmaster, or of the first local domain's postmaster that delivers (`.unknownUser` when none does); nil when the
    /// address is not one of ours.
    func postmasterResolution(for address: EmailAddress) async throws(DirectoryError) -> RecipientResolution? {
        let domains = try await directory.domains()
        guard address.domain == configuration.hostname || domains.contains(address.domain) else { return nil }
        var candidates: [EmailAddress] = configuration.postmaster.map { [$0] } ?? []
        candidates += domains.map { EmailAddress(localPart: "postmaster", domain: $0) }
        for candidate in candidates where candidate.normalized != address.normalized {
            let resolution = try await directory.resolve(candidate)
            if resolution.delivers { return resolution }
        }
        return .unknownUser
    }
}
