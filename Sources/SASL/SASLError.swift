/// Why a SASL exchange failed. A closed enum so that each protocol maps it to a reply in one place via `kind`.
public enum SASLError: Error, Sendable, Hashable, CustomStringConvertible {
    // Syntax: the client sent something the mechanism's grammar does not allow.
    /// Not valid base64 (`SASLBase64.decode`): wrong alphabet, bad padding, non-zero trailing bits or whitespace.
    case invalidBase64
    /// A message that breaks the mechanism's grammar; the text says which rule.
    case malformedMessage(String)
    /// A message longer than `SASLServerConfiguration.maximumResponseLength`.
    case messageTooLong
    /// Text that is not UTF-8.
    case invalidUTF8
    /// SASLprep (RFC 4013) refused a user name or password, or left it empty.
    case preparationFailed(SASLprepError)
    /// A SCRAM `m=` attribute: a mandatory extension we do not understand (RFC 5802 §5.1).
    case extensionsNotSupported
    /// SCRAM gs2 flag `p=`: the client wants channel binding, but SCRAM-SHA-256-PLUS is not offered.
    case channelBindingNotSupported
    /// SCRAM `c=` did not repeat the gs2 header of the first message (RFC 5802 §5.1).
    case channelBindingMismatch
    /// SCRAM `r=` in the final message is not the nonce the server sent, or the server's nonce does not extend the
    /// client's (client side).
    case nonceMismatch

    // Authentication and authorization.
    /// Wrong password, wrong proof or unknown user — deliberately one case on the wire (no account enumeration). The
    /// server's own log may tell them apart through `reason`.
    case authenticationFailed(reason: AuthenticationFailure)
    /// The client asked to act as another identity and proxying is not allowed.
    case authorizationDenied(authorizationID: String)

    // Outcomes that are not errors of the peer's making.
    /// The client cancelled with `*` (RFC 4954 §4, RFC 9051 §6.2.2).
    case cancelled
    /// A method was called in a state where it makes no sense (e.g. `step` after success). A caller bug.
    case unexpectedMessage

    // Client side.
    /// The SCRAM server answered with `e=<value>` (RFC 5802 §7 `server-error`).
    case serverError(String)
    /// The SCRAM server's `v=` signature is wrong: the server does not know our credentials. Do not trust the session.
    case invalidServerSignature
    /// The SCRAM server asked for an iteration count outside the client's accepted range.
    case iterationCountRejected(Int)

    /// The detail behind `authenticationFailed`, for logs only.
    public enum AuthenticationFailure: Sendable, Hashable {
        case unknownUser
        case wrongPassword
        case invalidProof
    }

    /// How a protocol should answer this failure.
    public enum Kind: Sendable, Hashable {
        /// The client's message was malformed: SMTP 501, IMAP BAD (or NO).
        case syntax
        /// Credentials or authorization refused: SMTP 535 5.7.8, IMAP NO [AUTHENTICATIONFAILED].
        case authentication
        /// The client cancelled: SMTP 501 5.0.0, IMAP BAD.
        case cancelled
        /// A bug in the caller's sequencing: SMTP 454 / IMAP NO, and log it.
        case internalError
    }

    public var kind: Kind {
        switch self {
        case .invalidBase64, .malformedMessage, .messageTooLong, .invalidUTF8, .preparationFailed, .extensionsNotSupported,
             .channelBindingNotSupported, .channelBindingMismatch, .nonceMismatch:
            .syntax
        case .authenticationFailed, .authorizationDenied, .serverError, .invalidServerSignature, .iterationCountRejected:
            .authentication
        case .cancelled:
            .cancelled
        case .unexpectedMessage:
            .internalError
        }
    }

    /// The RFC 5802 §7 `server-error-value` a SCRAM server may send as `e=…` for this failure, if any.
    public var scramServerErrorValue: String? {
        switch self {
        case .invalidBase64, .invalidUTF8: "invalid-encoding"
        case .malformedMessage, .messageTooLong: "other-error"
        case .preparationFailed: "invalid-username-encoding"
        case .extensionsNotSupported: "extensions-not-supported"
        case .channelBindingNotSupported: "channel-binding-not-supported"
        case .channelBindingMismatch: "channel-bindings-dont-match"
        case .nonceMismatch, .authenticationFailed: "invalid-proof"
        case .authorizationDenied: "other-error"
        case .cancelled, .unexpectedMessage, .serverError, .invalidServerSignature, .iterationCountRejected: nil
        }
    }

    public var description: String {
        switch self {
        case .invalidBase64: "invalid base64"
        case .malformedMessage(let rule): "malformed message: \(rule)"
        case .messageTooLong: "message too long"
        case .invalidUTF8: "not UTF-8"
        case .preparationFailed(let error): "SASLprep failed: \(error)"
        case .extensionsNotSupported: "mandatory extension (m=) not supported"
        case .channelBindingNotSupported: "channel binding (p=) not supported: SCRAM-SHA-256-PLUS is not offered"
        case .channelBindingMismatch: "channel binding data does not match the gs2 header"
        case .nonceMismatch: "nonce mismatch"
        case .authenticationFailed(let reason): "authentication failed (\(reason))"
        case .authorizationDenied(let authzid): "not authorized to act as \(authzid)"
        case .cancelled: "cancelled by the client"
        case .unexpectedMessage: "message out of sequence"
        case .serverError(let value): "server error: \(value)"
        case .invalidServerSignature: "server signature does not verify"
        case .iterationCountRejected(let count): "iteration count \(count) rejected"
        }
    }
}
