import MailCore
import NIOCore

/// What the server must do. Carried out in order; answers come back through the session's answer methods.
public enum SMTPServerAction: Hashable, Sendable {
    /// Write the reply (buffer it; flush per the batching rule in the module documentation).
    case reply(SMTPReply)
    /// Write the reply, flush, **discard every byte already buffered from the client** (RFC 3207 §4.2: plaintext
    /// pipelined after STARTTLS must not be executed), run the TLS handshake, then call `tlsEstablished()`.
    case startTLS(SMTPReply)
    /// Start a SASL exchange; answer with `authenticationChallenge`, `authenticationSucceeded` or `authenticationFailed`.
    case authenticate(mechanism: String, initialResponse: [UInt8]?)
    /// Feed the decoded client response to the running SASL exchange; answer as for `.authenticate`.
    case authenticationResponse([UInt8])
    /// The client cancelled (or broke) the SASL exchange; drop its state.
    case cancelAuthentication
    /// May this sender be used? Answer with `senderChecked`. (Submission: is it owned by the authenticated user;
    /// MX: any sender policy, e.g. SPF.)
    case checkSender(EmailAddress?, SMTPEnvelope)
    /// Is this a deliverable recipient? Answer with `recipientChecked`. The session has already refused the relay
    /// tricks it can see on its own (MX role).
    case checkRecipient(SMTPRecipient, SMTPEnvelope)
    /// A message body begins: open a spool / delivery transaction for it.
    case beginData(SMTPEnvelope)
    /// Append decoded body octets to the open body.
    case appendData(ByteBuffer)
    /// Throw the open body away (refused, reset, or connection ends).
    case discardData
    /// The body is complete: commit it durably, then answer with `deliveryFinished`.
    case deliver(SMTPEnvelope)
    /// Flush pending replies and close the connection.
    case close
}

/// The collaborator's answer to `.checkSender`.
public enum SMTPSenderVerdict: Hashable, Sendable {
    case accepted
    case notOwned
    case temporaryFailure
    case rejected(SMTPReply)
}

/// The collaborator's answer to `.checkRecipient`.
public enum SMTPRecipientVerdict: Hashable, Sendable {
    case accepted
    case unknownUser
    case relayDenied
    case temporaryFailure
    case rejected(SMTPReply)
}

/// How an authentication attempt failed.
public enum SMTPAuthenticationFailure: Hashable, Sendable {
    /// Wrong credentials: 535 5.7.8.
    case invalidCredentials
    /// Directory unavailable or similar: 454 4.7.0.
    case temporary
    /// The client's response did not fit the mechanism (RFC 4954: 501).
    case malformedResponse
}

/// The collaborator's answer to `.deliver`.
public enum SMTPDeliveryResult: Hashable, Sendable {
    case accepted(queueID: String)
    case failed(SMTPReply)
}

/// The SMTP server session (RFC 5321 §4.1.4 command order, with the extensions listed in `SMTPProtocol.swift`).
/// A value type: inputs are client input and collaborator answers, outputs are `SMTPServerAction`s.
///
/// Invariants:
/// - At most one collaborator question is outstanding; while it is, `inputMode` is `.none` and client input is refused.
/// - A transaction exists only after EHLO/HELO and an accepted MAIL; STARTTLS, EHLO, HELO, RSET and the end of a body
///   end it. STARTTLS also forgets the EHLO name and any authentication (RFC 3207 §4.2).
/// - Every body that got `.beginData` ends in exactly one `.deliver` or `.discardData`.
public struct SMTPServerSession: Sendable {
    public enum Role: Hashable, Sendable {
        /// Port 25: accepts mail for local domains from anyone, refuses relaying.
        case mx
        /// Ports 587/465: requires AUTH before MAIL (RFC 6409).
        case submission
    }

    public struct Configuration: Hashable, Sendable {
        public var role: Role
        /// Our name in the greeting and EHLO reply; also the domain of `<Postmaster>`.
        public var hostname: DomainName
        /// TLS is already on (implicit TLS, port 465). Default false.
        public var tlsActive: Bool
        /// STARTTLS can be offered (a certificate is configured). Default false.
        public var tlsAvailable: Bool
        /// Allow AUTH on a cleartext connection. Default false (RFC 4954 §4, RFC 8314).
        public var allowAuthenticationWithoutTLS: Bool
        /// SASL mechanisms offered, in order. Default PLAIN LOGIN SCRAM-SHA-256.
        public var authenticationMechanisms: [String]
        /// Recipients per message; more get 452 4.5.3 (RFC 5321 §4.5.3.1.8 asks for at least 100). Default 100.
        public var maximumRecipients: Int
        /// Maximum message size in octets, advertised as SIZE. Default 50 MiB.
        public var maximumMessageSize: UInt64
        /// Text line limit in message bodies including CRLF. Default 1000.
        public var maximumLineLength: Int
        /// Refuse bodies with bare CR or LF. Default true.
        public var rejectBareLineEndings: Bool
        /// Error replies before the session says 421 and closes. Default 20.
        public var maximumErrors: Int
        /// Failed AUTH attempts before the session says 421 and closes. Default 3.
        public var maximumAuthenticationFailures: Int
        /// Advertise and accept BINARYMIME (RFC 3030 §3). Default false.
        public var acceptBinaryMIME: Bool

        public init(
            role: Role, hostname: DomainName, tlsActive: Bool = false, tlsAvailable: Bool = false,
            allowAuthenticationWithoutTLS: Bool = false, authenticationMechanisms: [String] = ["PLAIN", "LOGIN", "SCRAM-SHA-256"],
            maximumRecipients: Int = 100, maximumMessageSize: UInt64 = 52_428_800, maximumLineLength: Int = 1000,
            rejectBareLineEndings: Bool = true, maximumErrors: Int = 20, maximumAuthenticationFailures: Int = 3,
            acceptBinaryMIME: Bool = false
        ) {
            self.role = role
            self.hostname = hostname
            self.tlsActive = tlsActive
            self.tlsAvailable = tlsAvailable
            self.allowAuthenticationWithoutTLS = allowAuthenticationWithoutTLS
            self.authenticationMechanisms = authenticationMechanisms
            self.maximumRecipients = maximumRecipients
            self.maximumMessageSize = maximumMessageSize
            self.maximumLineLength = maximumLineLength
            self.rejectBareLineEndings = rejectBareLineEndings
            self.maximumErrors = maximumErrors
            self.maximumAuthenticationFailures = maximumAuthenticationFailures
            self.acceptBinaryMIME = acceptBinaryMIME
        }

        public var bodyLimits: SMTPBodyLimits {
            SMTPBodyLimits(
                maximumMessageSize: maximumMessageSize, maximumLineLength: maximumLineLength, rejectBareLineEndings: rejectBareLineEndings)
        }
    }

    /// A collaborator question the session waits for.
    enum Awaiting: Hashable, Sendable {
        case sender(SMTPEnvelope)
        case recipient(SMTPRecipient)
        case authentication
        case tls
        case delivery
    }

    /// How the current transaction's body is being received.
    enum Body: Hashable, Sendable {
        case none
        case data
        /// BDAT chunks; `began` once `.beginData` was sent.
        case chunks(SMTPChunkChecker, began: Bool)
    }

    /// What the session reads next, apart from waiting.
    enum Reading: Hashable, Sendable {
        case commands
        case authenticationLine
        case data
        /// A BDAT chunk; `refusal` is replied after its octets have been read and discarded (RFC 3030 §2).
        case chunk(size: UInt64, last: Bool, refusal: SMTPReply?)
    }

    public let configuration: Configuration
    public internal(set) var tlsActive: Bool
    public internal(set) var clientName: SMTPHost?
    public internal(set) var usedEHLO = false
    public internal(set) var authenticatedUser: String?
    /// The open transaction, from accepted MAIL to the end of its body.
    public internal(set) var transaction: SMTPEnvelope?
    public internal(set) var isClosed = false
    var awaiting: Awaiting?
    var body = Body.none
    var reading = Reading.commands
    var errors = 0
    var authenticationFailures = 0

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.tlsActive = configuration.tlsActive
    }

    /// The greeting (RFC 5321 §3.1).
    public func start() -> [SMTPServerAction] {
        [.reply(.greeting(configuration.hostname.name))]
    }

    /// What to read next; give it to `SMTPInputFramer.next(from:mode:)`.
    public var inputMode: SMTPInputMode {
        guard !isClosed, awaiting == nil else { return .none }
        switch reading {
        case .commands: return .command
        case .authenticationLine: return .authenticationLine
        case .data: return .data(configuration.bodyLimits)
        case .chunk(let size, _, _): return .chunk(size: size)
        }
    }

    /// True while an answer method must be called before more input is accepted.
    public var isAwaitingAnswer: Bool { awaiting != nil }

    /// Handles one unit of client input.
    public mutating func receive(_ input: SMTPServerInput) -> [SMTPServerAction] {
        guard !isClosed else { return [] }
        // Input in the wrong mode is a bug in the driving server; answer as a server fault.
        guard awaiting == nil else { return [.reply(.localError)] }
        switch (reading, input) {
        case (.commands, .command(let command)):
            return handle(command)
        case (.commands, .invalidCommand(let error)):
            return fail(error.reply)
        case (.authenticationLine, _):
            return handleAuthenticationInput(input)
        case (.data, .data(let content)):
            return [.appendData(content)]
        case (.data, .dataEnd(let outcome)):
            return finishData(outcome)
        case (.chunk, .chunk(let content)):
            return receiveChunk(content)
        case (.chunk, .chunkEnd):
            return finishChunk()
        default:
            return [.reply(.localError)]
        }
    }

    /// The server is shutting down: 421 and close (RFC 5321 §3.8).
    public mutating func shutdown() -> [SMTPServerAction] {
        guard !isClosed else { return [] }
        var actions = discardBody()
        actions += [.reply(.serviceNotAvailable(configuration.hostname.name)), .close]
        isClosed = true
        return actions
    }

    /// The connection ended without QUIT: drop any open body (RFC 5321 §4.1.1.5: treat as QUIT).
    public mutating func connectionClosed() -> [SMTPServerAction] {
        guard !isClosed else { return [] }
        isClosed = true
        return discardBody()
    }

    // MARK: helpers shared by the handlers

    /// A negative reply to a client command: counts towards `maximumErrors`.
    mutating func fail(_ reply: SMTPReply) -> [SMTPServerAction] {
        errors += 1
        guard errors >= configuration.maximumErrors else { return [.reply(reply)] }
        isClosed = true
        return discardBody() + [.reply(reply), .reply(.tooManyErrors), .close]
    }

    /// Ends the transaction; returns `.discardData` if a body had begun.
    mutating func resetTransaction() -> [SMTPServerAction] {
        let actions = discardBody()
        transaction = nil
        body = .none
        return actions
    }

    func discardBody() -> [SMTPServerAction] {
        switch body {
        case .data, .chunks(_, began: true): [.discardData]
        case .none, .chunks(_, began: false): []
        }
    }

    /// AUTH may be used now: mechanisms configured, and TLS on unless explicitly allowed without.
    var authenticationAllowed: Bool {
        !configuration.authenticationMechanisms.isEmpty && (tlsActive || configuration.allowAuthenticationWithoutTLS)
    }

    /// The EHLO keywords in the order advertised (RFC 5321 §4.1.1.1).
    public var extensions: [String] {
        var keywords = ["PIPELINING", "SIZE \(configuration.maximumMessageSize)", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING"]
        if configuration.acceptBinaryMIME { keywords.append("BINARYMIME") }
        keywords.append("DSN")
        if configuration.tlsAvailable, !tlsActive { keywords.append("STARTTLS") }
        if authenticationAllowed { keywords.append("AUTH " + configuration.authenticationMechanisms.joined(separator: " ")) }
        if tlsActive { keywords.append("REQUIRETLS") }
        return keywords
    }
}
