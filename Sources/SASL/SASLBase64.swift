import MailCore
/// Base64 (RFC 4648 §4) as SASL profiles use it on the wire, and the client's cancel token.
///
/// SMTP AUTH (RFC 4954 §4) and IMAP AUTHENTICATE (RFC 9051 §6.2.2) carry each challenge and response as one line of
/// base64. This decoder is strict, as RFC 4954 asks ("the server MUST reject … with 501" a response it cannot decode):
/// only the standard alphabet, length a multiple of 4, `=` padding only at the end, zero bits after the last symbol,
/// no line breaks or spaces. SCRAM's `s=`, `p=`, `v=` and `c=` attributes use the same encoding.
public enum SASLBase64 {
    public static func encode(_ bytes: some Collection<UInt8>) -> String { Base64.encode(bytes) }

    /// Decodes canonical base64 or throws `.invalidBase64`. The empty string decodes to no bytes.
    public static func decode(_ text: some StringProtocol) throws(SASLError) -> [UInt8] {
        try decode(bytes: Array(text.utf8))
    }

    public static func decode(bytes input: [UInt8]) throws(SASLError) -> [UInt8] {
        guard let bytes = Base64.decode(bytes: input, canonical: true) else { throw .invalidBase64 }
        return bytes
    }
}

/// A client's line in a SASL exchange, as SMTP and IMAP carry it.
///
/// - `*` alone cancels the exchange (RFC 4954 §4: server answers 501; RFC 9051 §6.2.2: tagged BAD).
/// - In an *initial response* (`AUTH PLAIN <ir>`, IMAP SASL-IR RFC 4959) a lone `=` stands for an empty response,
///   because an empty argument would mean "no initial response". In a continuation line an empty line is the empty
///   response and `=` is invalid base64.
public enum SASLWireResponse: Sendable, Hashable {
    case data([UInt8])
    case cancel

    /// Decodes one line (without CRLF). `isInitialResponse` selects the `=` rule above.
    public static func decode(_ line: some StringProtocol, isInitialResponse: Bool = false) throws(SASLError) -> Self {
        if line == "*" { return .cancel }
        if isInitialResponse && line == "=" { return .data([]) }
        if isInitialResponse && line.isEmpty { throw .malformedMessage("empty initial response (send \"=\")") }
        return .data(try SASLBase64.decode(line))
    }

    /// Encodes what a client sends: base64, or `=` for an empty initial response.
    public static func encode(_ bytes: [UInt8], isInitialResponse: Bool = false) -> String {
        bytes.isEmpty && isInitialResponse ? "=" : SASLBase64.encode(bytes)
    }
}
