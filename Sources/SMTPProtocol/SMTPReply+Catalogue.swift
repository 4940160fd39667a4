/// The replies Letterbox sends, in one place, each with the enhanced status code RFC 3463 / RFC 5248 suggests.
/// 3xx replies, the greeting and the EHLO/HELO reply carry no enhanced code (RFC 2034 §4).
extension SMTPReply {
    private static func e(_ c: Int, _ s: Int, _ d: Int) -> SMTPEnhancedStatusCode { SMTPEnhancedStatusCode(c, s, d) }

    // MARK: 2yz / 3yz

    /// 220 greeting (RFC 5321 §4.2, §3.1).
    public static func greeting(_ hostname: String) -> SMTPReply { SMTPReply(220, nil, "\(hostname) ESMTP Letterbox") }
    /// 221 reply to QUIT.
    public static func closing(_ hostname: String) -> SMTPReply { SMTPReply(221, e(2, 0, 0), "\(hostname) closing connection") }
    /// 250 generic success (NOOP, RSET).
    public static let ok = SMTPReply(250, e(2, 0, 0), "Ok")
    /// 250 reply to MAIL (X.1.0 other address status).
    public static let senderOk = SMTPReply(250, e(2, 1, 0), "Sender ok")
    /// 250 reply to RCPT (X.1.5 destination address valid).
    public static let recipientOk = SMTPReply(250, e(2, 1, 5), "Recipient ok")
    /// 250 reply after a message was accepted (committed durably by the server).
    public static func queued(_ id: String) -> SMTPReply { SMTPReply(250, e(2, 0, 0), "Ok: queued as \(id)") }
    /// 250 reply to a non-final BDAT chunk (RFC 3030 §2).
    public static func chunkReceived(_ octets: UInt64) -> SMTPReply { SMTPReply(250, e(2, 0, 0), "Ok: \(octets) octets received") }
    /// 252 reply to VRFY: discloses nothing (RFC 5321 §3.5.3, §7.3).
    public static let cannotVerify = SMTPReply(252, e(2, 5, 0), "Cannot VRFY user, but will accept message and attempt delivery")
    /// 214 reply to HELP.
    public static let help = SMTPReply(214, e(2, 0, 0), "See https://www.rfc-editor.org/rfc/rfc5321")
    /// 220 reply to STARTTLS (RFC 3207 §4).
    public static let readyToStartTLS = SMTPReply(220, e(2, 0, 0), "Ready to start TLS")
    /// 235 authentication succeeded (RFC 4954 §6).
    public static let authenticationSucceeded = SMTPReply(235, e(2, 7, 0), "Authentication successful")
    /// 354 start mail input (RFC 5321 §4.1.1.4).
    public static let startMailInput = SMTPReply(354, nil, "End data with <CR><LF>.<CR><LF>")
    /// 334 SASL challenge; `base64` is the encoded challenge ("334 " when empty, RFC 4954 §4).
    public static func authChallenge(_ base64: String) -> SMTPReply { SMTPReply(334, nil, base64) }

    // MARK: 4yz

    /// 421 the server is shutting down or refuses service; the connection closes.
    public static func serviceNotAvailable(_ hostname: String) -> SMTPReply {
        SMTPReply(421, e(4, 3, 2), "\(hostname) Service not available, closing connection")
    }
    /// 421 too many bad commands; the connection closes.
    public static let tooManyErrors = SMTPReply(421, e(4, 7, 0), "Too many errors, closing connection")
    /// 451 a server fault: detail is logged, never shown (DESIGN.md: three error classes).
    public static let localError = SMTPReply(451, e(4, 3, 0), "Local error in processing, try again later")
    /// 451 the recipient could not be checked right now.
    public static let recipientTemporarilyUnavailable = SMTPReply(451, e(4, 3, 0), "Recipient temporarily unavailable, try again later")
    /// 452 the recipient's mailbox is over its storage quota (RFC 3463 4.2.2: mailbox full, persistent transient).
    public static let mailboxFull = SMTPReply(452, e(4, 2, 2), "Mailbox full, try again later")
    /// 452 too many recipients for one message (RFC 5321 §4.5.3.1.10).
    public static let tooManyRecipients = SMTPReply(452, e(4, 5, 3), "Too many recipients")
    /// 454 TLS temporarily not available (RFC 3207 §4).
    public static let tlsNotAvailable = SMTPReply(454, e(4, 7, 0), "TLS not available due to temporary reason")
    /// 454 temporary authentication failure (RFC 4954 §6).
    public static let temporaryAuthenticationFailure = SMTPReply(454, e(4, 7, 0), "Temporary authentication failure")

    // MARK: 5yz syntax (mapped from `SMTPCommandError` in one place: `SMTPCommandError.reply`)

    /// 500 command unrecognized.
    public static let commandUnrecognized = SMTPReply(500, e(5, 5, 1), "Command unrecognized")
    /// 500 syntax error (control characters, bare line feed, invalid UTF-8 in a command line).
    public static let syntaxError = SMTPReply(500, e(5, 5, 2), "Syntax error")
    /// 500 command line too long (RFC 5321 §4.5.3.1.4).
    public static let lineTooLong = SMTPReply(500, e(5, 5, 6), "Line too long")
    /// 500 authentication line too long (RFC 4954 §4).
    public static let authenticationLineTooLong = SMTPReply(500, e(5, 5, 6), "Authentication exchange line is too long")
    /// 501 syntax error in parameters or arguments.
    public static let invalidArguments = SMTPReply(501, e(5, 5, 4), "Syntax error in parameters or arguments")
    /// 501 bad sender address syntax (X.1.7).
    public static let badSenderSyntax = SMTPReply(501, e(5, 1, 7), "Bad sender address syntax")
    /// 501 bad destination address syntax (X.1.3).
    public static let badRecipientSyntax = SMTPReply(501, e(5, 1, 3), "Bad recipient address syntax")
    /// 501 a client AUTH response is not valid base64 (RFC 4954 §4).
    public static let invalidBase64 = SMTPReply(501, e(5, 5, 2), "Cannot decode base64 response")
    /// 501 the client cancelled the AUTH exchange with "*" (RFC 4954 §4).
    public static let authenticationCancelled = SMTPReply(501, e(5, 0, 0), "Authentication cancelled")
    /// 502 command not implemented (EXPN, or STARTTLS when TLS is not configured).
    public static let commandNotImplemented = SMTPReply(502, e(5, 5, 1), "Command not implemented")
    /// 503 bad sequence of commands.
    public static let badSequence = SMTPReply(503, e(5, 5, 1), "Bad sequence of commands")
    /// 504 unrecognized authentication mechanism (RFC 4954 §4).
    public static let mechanismNotSupported = SMTPReply(504, e(5, 5, 4), "Unrecognized authentication type")
    /// 555 MAIL/RCPT parameter not recognized or not implemented (RFC 5321 §4.1.1.11).
    public static let parameterNotRecognized = SMTPReply(555, e(5, 5, 4), "Parameter not recognized or not implemented")

    // MARK: 5yz policy

    /// 530 authentication required (submission: MAIL before AUTH; RFC 4954 §6).
    public static let authRequired = SMTPReply(530, e(5, 7, 0), "Authentication required")
    /// 530 must issue STARTTLS first (RFC 3207 §4).
    public static let startTLSFirst = SMTPReply(530, e(5, 7, 0), "Must issue a STARTTLS command first")
    /// 535 authentication credentials invalid (RFC 4954 §6).
    public static let authenticationFailed = SMTPReply(535, e(5, 7, 8), "Authentication credentials invalid")
    /// 538 encryption required for the requested authentication mechanism (RFC 4954 §6).
    public static let encryptionRequired = SMTPReply(538, e(5, 7, 11), "Encryption required for requested authentication mechanism")
    /// 550 no such user (X.1.1 bad destination mailbox address).
    public static let unknownUser = SMTPReply(550, e(5, 1, 1), "No such user here")
    /// 550 address literals are not accepted as recipient domains here.
    public static let addressLiteralRefused = SMTPReply(550, e(5, 1, 2), "Address literals are not accepted")
    /// 554 relaying denied (X.7.1 delivery not authorized).
    public static let relayDenied = SMTPReply(554, e(5, 7, 1), "Relay access denied")
    /// 553 the authenticated user may not use this sender address (X.7.1).
    public static let senderNotOwned = SMTPReply(553, e(5, 7, 1), "Sender address not owned by authenticated user")
    /// 550 a non-ASCII sender without the SMTPUTF8 parameter (RFC 6531 §3.5).
    public static let nonASCIISenderRefused = SMTPReply(550, e(5, 6, 7), "Non-ASCII addresses require SMTPUTF8")
    /// 553 a non-ASCII recipient without the SMTPUTF8 parameter (RFC 6531 §3.5).
    public static let nonASCIIRecipientRefused = SMTPReply(553, e(5, 6, 7), "Non-ASCII addresses require SMTPUTF8")
    /// 552 message exceeds the fixed maximum message size (RFC 1870 §6).
    public static let messageTooBig = SMTPReply(552, e(5, 3, 4), "Message size exceeds fixed maximum message size")
    /// 550 bare CR or LF in message data (as Postfix `smtpd_forbid_bare_newline`).
    public static let bareLineEnding = SMTPReply(550, e(5, 5, 2), "Message contains bare <CR> or <LF>; lines must end with <CR><LF>")
    /// 550 a text line in the message is over the limit (RFC 5321 §4.5.3.1.6).
    public static let messageLineTooLong = SMTPReply(550, e(5, 6, 0), "Message contains a line longer than allowed")
    /// 554 DATA/BDAT without any accepted recipient (RFC 2920 §3.1).
    public static let noValidRecipients = SMTPReply(554, e(5, 5, 1), "No valid recipients")
    /// 554 transaction failed (generic permanent failure after DATA).
    public static let transactionFailed = SMTPReply(554, e(5, 0, 0), "Transaction failed")
}
