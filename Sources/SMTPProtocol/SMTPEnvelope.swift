import MailCore

/// One accepted recipient with its DSN parameters (RFC 3461 §4.1, §4.2).
public struct SMTPRecipient: Hashable, Sendable {
    public var address: EmailAddress
    public var notify: SMTPDSNNotify?
    public var originalRecipient: SMTPOriginalRecipient?

    public init(address: EmailAddress, notify: SMTPDSNNotify? = nil, originalRecipient: SMTPOriginalRecipient? = nil) {
        self.address = address
        self.notify = notify
        self.originalRecipient = originalRecipient
    }
}

/// The envelope of one mail transaction as the server session collected it.
public struct SMTPEnvelope: Hashable, Sendable {
    /// The reverse-path; nil is the null path `<>` (bounces, RFC 5321 §4.5.5).
    public var mailFrom: EmailAddress?
    public var recipients: [SMTPRecipient]
    public var dsnReturn: SMTPDSNReturn?
    public var envelopeID: String?
    public var body: SMTPBodyType?
    public var smtpUTF8: Bool
    public var requireTLS: Bool
    /// `SIZE=` as declared by the client (not the measured size).
    public var declaredSize: UInt64?
    /// `AUTH=` given on MAIL (RFC 4954 §5); informational only.
    public var authIdentity: SMTPAuthIdentity?
    /// The SASL identity of the session when MAIL was accepted.
    public var authenticatedUser: String?
    /// The EHLO/HELO argument.
    public var clientName: SMTPHost?
    /// Whether the transaction ran over TLS.
    public var tlsActive: Bool

    public init(
        mailFrom: EmailAddress?, recipients: [SMTPRecipient] = [], parameters: SMTPMailParameters = SMTPMailParameters(),
        authenticatedUser: String? = nil, clientName: SMTPHost? = nil, tlsActive: Bool = false
    ) {
        self.mailFrom = mailFrom
        self.recipients = recipients
        self.dsnReturn = parameters.dsnReturn
        self.envelopeID = parameters.envelopeID
        self.body = parameters.body
        self.smtpUTF8 = parameters.smtpUTF8
        self.requireTLS = parameters.requireTLS
        self.declaredSize = parameters.size
        self.authIdentity = parameters.authIdentity
        self.authenticatedUser = authenticatedUser
        self.clientName = clientName
        self.tlsActive = tlsActive
    }
}
