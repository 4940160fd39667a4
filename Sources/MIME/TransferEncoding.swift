/// Content-Transfer-Encoding decoders and encoders (RFC 2045 §6): base64 (tolerant of bad line lengths and garbage),
/// quoted-printable, and the identity encodings 7bit/8bit/binary.
public enum TransferEncoding {
    static let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let base64Values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in base64Alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        table[Int(UInt8(ascii: "-"))] = 62 // base64url, seen in broken mail
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    /// Decodes `encoding` (a Content-Transfer-Encoding value); unknown encodings are returned as they are.
    public static func decode(_ bytes: some Collection<UInt8>, encoding: String) -> [UInt8] {
        switch encoding.lowercased() {
        case "base64": return decodeBase64(bytes)
        case "quoted-printable": return decodeQuotedPrintable(bytes)
        default: return Array(bytes)
        }
    }

    /// RFC 2045 §6.8: characters outside the alphabet are ignored; decoding stops at the first `=` padding.
    public static func decodeBase64(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3 / 4)
        var acc: UInt32 = 0
        var n = 0
        for b in bytes {
            if b == UInt8(ascii: "=") { break }
            let v = base64Values[Int(b)]
            if v == 0xFF { continue }
            acc = acc << 6 | UInt32(v)
            n += 1
            if n == 4 {
                out.append(UInt8(truncatingIfNeeded: acc >> 16))
                out.append(UInt8(truncatingIfNeeded: acc >> 8))
                out.append(UInt8(truncatingIfNeeded: acc))
                acc = 0
                n = 0
            }
        }
        if n == 2 { out.append(UInt8(truncatingIfNeeded: acc >> 4)) }
        if n == 3 {
            out.append(UInt8(truncatingIfNeeded: acc >> 10))
            out.append(UInt8(truncatingIfNeeded: acc >> 2))
        }
        return out
    }

    /// RFC 2045 §6.7 quoted-printable: `=XX` escapes, soft line breaks `=` CRLF (or `=` LF, or `=` + trailing spaces),
    /// trailing whitespace on lines removed; a malformed `=` is kept as it is.
    public static func decodeQuotedPrintable(_ input: some Collection<UInt8>) -> [UInt8] {
        let bytes = Array(input)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "=") {
                if i + 2 < bytes.count, let h = hexValue(bytes[i + 1]), let l = hexValue(bytes[i + 2]) {
                    out.append(h << 4 | l)
                    i += 3
                    continue
                }
                // Soft line break: "=" [WSP...] (CRLF / LF / end)
                var j = i + 1
                while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
                if j == bytes.count { i = j; continue }
                if bytes[j] == 0x0A { i = j + 1; continue }
                if bytes[j] == 0x0D, j + 1 < bytes.count, bytes[j + 1] == 0x0A { i = j + 2; continue }
                out.append(b)
                i += 1
                continue
            }
            if b == 0x20 || b == 0x09 {
                // Drop whitespace at the end of a line (RFC 2045 §6.7 rule 3).
                var j = i
                while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
                if j == bytes.count || bytes[j] == 0x0A || (bytes[j] == 0x0D && j + 1 < bytes.count && bytes[j + 1] == 0x0A) {
                    i = j
                    continue
                }
                out.append(contentsOf: bytes[i..<j])
                i = j
                continue
            }
            out.append(b)
            i += 1
        }
        return out
    }

    /// Base64 with CRLF every 76 characters (RFC 2045 §6.8).
    public static func encodeBase64(_ bytes: some Collection<UInt8>, lineLength: Int = 76) -> [UInt8] {
        var out: [UInt8] = []
        let input = Array(bytes)
        out.reserveCapacity(input.count * 4 / 3 + input.count / 38 + 4)
        var column = 0
        var i = 0
        while i < input.count {
            let b0 = input[i], b1 = i + 1 < input.count ? input[i + 1] : 0, b2 = i + 2 < input.count ? input[i + 2] : 0
            out.append(base64Alphabet[Int(b0 >> 2)])
            out.append(base64Alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            out.append(i + 1 < input.count ? base64Alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            out.append(i + 2 < input.count ? base64Alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            i += 3
            column += 4
            if lineLength > 0, column >= lineLength, i < input.count {
                out += [0x0D, 0x0A]
                column = 0
            }
        }
        return out
    }

    /// Quoted-printable (RFC 2045 §6.7) of text with CRLF line endings; lines soft-broken at 76 characters.
    public static func encodeQuotedPrintable(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        let input = Array(bytes)
        var out: [UInt8] = []
        var column = 0
        var i = 0
        while i < input.count {
            let b = input[i]
            if b == 0x0D, i + 1 < input.count, input[i + 1] == 0x0A {
                out += [0x0D, 0x0A]; column = 0; i += 2; continue
            }
            let atLineEnd = i + 1 == input.count || input[i + 1] == 0x0D
            var encoded: [UInt8]
            if (b >= 33 && b <= 126 && b != UInt8(ascii: "=")) || ((b == 0x20 || b == 0x09) && !atLineEnd) {
                encoded = [b]
            } else {
                encoded = [UInt8(ascii: "="), hex[Int(b >> 4)], hex[Int(b & 0x0F)]]
            }
            if column + encoded.count > 75 {
                out += [UInt8(ascii: "="), 0x0D, 0x0A]
                column = 0
            }
            out += encoded
            column += encoded.count
            i += 1
        }
        return out
    }
}
