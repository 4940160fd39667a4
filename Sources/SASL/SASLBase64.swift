/// Base64 (RFC 4648 §4) as SASL profiles use it on the wire, and the client's cancel token.
///
/// SMTP AUTH (RFC 4954 §4) and IMAP AUTHENTICATE (RFC 9051 §6.2.2) carry each challenge and response as one line of
/// base64. This decoder is strict, as RFC 4954 asks ("the server MUST reject … with 501" a response it cannot decode):
/// only the standard alphabet, length a multiple of 4, `=` padding only at the end, zero bits after the last symbol,
/// no line breaks or spaces. SCRAM's `s=`, `p=`, `v=` and `c=` attributes use the same encoding.
public enum SASLBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(index) }
        return table
    }()

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let group = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            for shift in [18, 12, 6, 0] { output.append(alphabet[Int(group >> UInt32(shift) & 0x3F)]) }
            index += 3
        }
        let rest = input.count - index
        if rest > 0 {
            let group = UInt32(input[index]) << 16 | (rest == 2 ? UInt32(input[index + 1]) << 8 : 0)
            output.append(alphabet[Int(group >> 18 & 0x3F)])
            output.append(alphabet[Int(group >> 12 & 0x3F)])
            output.append(rest == 2 ? alphabet[Int(group >> 6 & 0x3F)] : UInt8(ascii: "="))
            output.append(UInt8(ascii: "="))
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes canonical base64 or throws `.invalidBase64`. The empty string decodes to no bytes.
    public static func decode(_ text: some StringProtocol) throws(SASLError) -> [UInt8] {
        try decode(bytes: Array(text.utf8))
    }

    public static func decode(bytes input: [UInt8]) throws(SASLError) -> [UInt8] {
        guard input.count % 4 == 0 else { throw .invalidBase64 }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let quad = input[index..<(index + 4)]
            let padding = quad.reversed().prefix { $0 == UInt8(ascii: "=") }.count
            guard padding == 0 || (isLast && padding <= 2) else { throw .invalidBase64 }
            var group: UInt32 = 0
            for symbol in quad.prefix(4 - padding) {
                let value = reverse[Int(symbol)]
                guard value != 0xFF else { throw .invalidBase64 }
                group = group << 6 | UInt32(value)
            }
            switch padding {
            case 0:
                output.append(contentsOf: [UInt8(group >> 16 & 0xFF), UInt8(group >> 8 & 0xFF), UInt8(group & 0xFF)])
            case 1:  // 18 bits: two bytes and 2 bits that must be zero
                guard group & 0x3 == 0 else { throw .invalidBase64 }
                output.append(contentsOf: [UInt8(group >> 10 & 0xFF), UInt8(group >> 2 & 0xFF)])
            default:  // 12 bits: one byte and 4 bits that must be zero
                guard group & 0xF == 0 else { throw .invalidBase64 }
                output.append(UInt8(group >> 4 & 0xFF))
            }
            index += 4
        }
        return output
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
