import MailCore
import NIOCore

/// What the outbound transport must do.
public enum SMTPClientAction: Hashable, Sendable {
    /// Write these bytes (commands, or a body) and flush.
    case send(ByteBuffer)
    /// Run the TLS handshake on the connection, then call `tlsEstablished()` (or `tlsFailed()`).
    case startTLS
    /// The transaction's outcome is known (it is reported before QUIT is exchanged).
    case finished(SMTPClientResult)
    /// Close the connection.
    case close
}

/// The STARTTLS policy for one connection (issue 6: MTA-STS / DANE decide which applies).
public enum SMTPClientTLSPolicy: Hashable, Sendable {
    /// Never STARTTLS.
    case none
    /// STARTTLS when offered; continue in clear if it is not offered or refused.
    case opportunistic
    /// STARTTLS must succeed, or the message is not sent.
    case required
}

/// One message to send.
public struct SMTPOutboundMessage: Hashable, Sendable {
    /// nil is the null reverse-path `<>`.
    public var mailFrom: EmailAddress?
    public var recipients: [SMTPRecipient]
    /// RET, ENVID, REQUIRETLS are taken from here; SIZE, BODY and SMTPUTF8 are set by the session.
    public var parameters: SMTPMailParameters
    /// The message in canonical form (CRLF line endings), not dot-stuffed.
    public var body: ByteBuffer
    /// The body contains octets ≥ 0x80 (needs 8BITMIME, RFC 6152).
    public var is8Bit: Bool
    /// The envelope or headers contain UTF-8 (needs SMTPUTF8, RFC 6531).
    public var needsSMTPUTF8: Bool

    public init(
        mailFrom: EmailAddress?, recipients: [SMTPRecipient], parameters: SMTPMailParameters = SMTPMailParameters(),
        body: ByteBuffer, is8Bit: Bool? = nil, needsSMTPUTF8: Bool? = nil
    ) {
        self.mailFrom = mailFrom
        self.recipients = recipients
        self.parameters = parameters
        self.body = body
        self.is8Bit = is8Bit ?? body.readableBytesView.contains { $0 >= 0x80 }
        let utf8Envelope = ([mailFrom?.description ?? ""] + recipients.map(\.address.description)).contains { !$0.utf8.allSatisfy { $0 < 0x80 } }
        self.needsSMTPUTF8 = needsSMTPUTF8 ?? utf8Envelope
    }
}

/// How the attempt ended.
public enum SMTPClientOutcome: Hashable, Sendable {
    /// The server accepted the message for the recipients whose result is positive.
    case delivered
    /// The server refused at some stage; `reply` says how (4yz: try again later; 5yz: bounce).
    case failed(stage: SMTPClientStage, reply: SMTPReply)
    /// Every recipient was refused (see the per-recipient results).
    case allRecipientsRefused
    /// TLS was required but not offered, refused, or the handshake failed.
    case tlsUnavailable
    /// The server's SIZE limit is below the message size (RFC 1870).
    case messageTooLarge(limit: UInt64)
    /// The body is 8-bit and the server lacks 8BITMIME: downgrade (quoted-printable) or bounce.
    case needs8BitMIME
    /// The message needs SMTPUTF8 and the server lacks it (RFC 6531 §3.2): downgrade or bounce.
    case needsSMTPUTF8
    /// REQUIRETLS was requested and the server does not offer it after TLS (RFC 8689 §4.2.1: 5.7.30).
    case requireTLSUnsupported
    /// The server broke the protocol (unparseable or unexpected reply).
    case protocolError
}

public enum SMTPClientStage: Hashable, Sendable {
    case greeting, hello, startTLS, authentication, mail, data, message
}

/// A username and password for AUTH PLAIN to a smarthost.
public struct SMTPClientCredentials: Hashable, Sendable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

public struct SMTPClientResult: Hashable, Sendable {
    public var outcome: SMTPClientOutcome
    /// The reply to each RCPT, in order (empty when the transaction never got that far).
    public var recipients: [SMTPRecipientResult]
    /// The final reply after the body (nil when not reached).
    public var messageReply: SMTPReply?
    /// Whether the session ran over TLS.
    public var tlsActive: Bool

    public init(outcome: SMTPClientOutcome, recipients: [SMTPRecipientResult], messageReply: SMTPReply?, tlsActive: Bool) {
        self.outcome = outcome
        self.recipients = recipients
        self.messageReply = messageReply
        self.tlsActive = tlsActive
    }
}

public struct SMTPRecipientResult: Hashable, Sendable {
    public var recipient: SMTPRecipient
    /// The RCPT reply; once the body is refused or accepted, the final reply for accepted recipients.
    public var reply: SMTPReply

    public init(recipient: SMTPRecipient, reply: SMTPReply) {
        self.recipient = recipient
        self.reply = reply
    }
}

/// Extensions the server advertised in its EHLO reply (RFC 5321 §4.1.1.1).
public struct SMTPServerExtensions: Hashable, Sendable {
    public var keywords: [String: String] = [:]

    public init(ehloReply: SMTPReply?) {
        for line in ehloReply?.lines.dropFirst() ?? [] {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard let keyword = parts.first else { continue }
            keywords[keyword.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
        }
    }

    public func has(_ keyword: String) -> Bool { keywords[keyword] != nil }
    /// The SIZE limit; nil when not advertised or 0 (no fixed limit, RFC 1870 §4).
    public var sizeLimit: UInt64? { keywords["SIZE"].flatMap { UInt64($0) }.flatMap { $0 > 0 ? $0 : nil } }
}
