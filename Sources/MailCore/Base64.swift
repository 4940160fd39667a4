/// Base64 (RFC 4648 §4) for protocol fields that carry one unbroken value: SASL responses (RFC 4954 §4, RFC 9051
/// §6.2.2), SCRAM attributes, DKIM `b=`/`bh=`/`p=` (whitespace removed first). Decoding is strict: only the standard
/// alphabet, whole groups of four, `=` padding (at most two) only in the last group. With `canonical`, the unused bits
/// before the padding must be zero too (RFC 4648 §3.5), as SASL asks. MIME bodies use the line-oriented, forgiving
/// decoder in the MIME module instead.
public enum Base64 {
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

    /// The bytes, or nil when the text is not strict base64 (see above). The empty string decodes to no bytes.
    public static func decode(_ text: some StringProtocol, canonical: Bool = false) -> [UInt8]? {
        decode(bytes: Array(text.utf8), canonical: canonical)
    }

    public static func decode(bytes input: [UInt8], canonical: Bool = false) -> [UInt8]? {
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let quad = input[index..<(index + 4)]
            let padding = quad.reversed().prefix { $0 == UInt8(ascii: "=") }.count
            guard padding == 0 || (isLast && padding <= 2) else { return nil }
            var group: UInt32 = 0
            for symbol in quad.prefix(4 - padding) {
                let value = reverse[Int(symbol)]
                guard value != 0xFF else { return nil }
                group = group << 6 | UInt32(value)
            }
            switch padding {
            case 0:
                output.append(contentsOf: [UInt8(group >> 16 & 0xFF), UInt8(group >> 8 & 0xFF), UInt8(group & 0xFF)])
            case 1:  // 18 bits: two bytes and 2 unused bits
                guard !canonical || group & 0x3 == 0 else { return nil }
                output.append(contentsOf: [UInt8(group >> 10 & 0xFF), UInt8(group >> 2 & 0xFF)])
            default:  // 12 bits: one byte and 4 unused bits
                guard !canonical || group & 0xF == 0 else { return nil }
                output.append(UInt8(group >> 4 & 0xFF))
            }
            index += 4
        }
        return output
    }
}
