import Foundation

/// The CJK multi-byte charsets, decoded through Foundation's `String(data:encoding:)` (verified on this Linux toolchain:
/// GB18030 (used for GB2312 and GBK too, it is a superset), Big5, Shift_JIS, ISO-2022-JP and EUC-KR decode; EUC-JP does not,
/// so EUC-JP is rewritten to the equivalent ISO-2022-JP byte stream first: both carry JIS X 0208 rows, EUC-JP with the high
/// bits set). This is the only file in MIME that imports Foundation.
enum CJKCharsets {
    static let supported: Set<String> = ["gb18030", "big5", "shift_jis", "euc-jp", "iso-2022-jp", "euc-kr"]

    // Core Foundation encoding numbers (CFStringEncodingExt.h) in NSStringEncoding form (0x80000000 | cf).
    static func encoding(_ name: String) -> String.Encoding? {
        switch name {
        case "gb18030": return String.Encoding(rawValue: 0x8000_0632)
        case "big5": return String.Encoding(rawValue: 0x8000_0A03)
        case "euc-kr": return String.Encoding(rawValue: 0x8000_0940)
        case "shift_jis": return .shiftJIS
        case "iso-2022-jp", "euc-jp": return .iso2022JP
        default: return nil
        }
    }

    static func decode(_ bytes: [UInt8], charset: String) -> String? {
        guard let encoding = encoding(charset) else { return nil }
        let input = charset == "euc-jp" ? eucJPToISO2022JP(bytes) : bytes
        if let text = String(data: Data(input), encoding: encoding) { return text }
        // Invalid sequences make Foundation give up on the whole text: decode line by line, replacing the bad lines' bytes.
        var out = ""
        for line in input.split(separator: 0x0A, omittingEmptySubsequences: false) {
            if !out.isEmpty { out += "\n" }
            out += String(data: Data(line), encoding: encoding) ?? String(decoding: line, as: UTF8.self)
        }
        return out
    }

    /// EUC-JP → ISO-2022-JP: two-byte JIS X 0208 (A1–FE pairs) under `ESC $ B`, half-width katakana (8E xx) under `ESC ( I`,
    /// ASCII under `ESC ( B`. JIS X 0212 (8F) becomes `?`.
    static func eucJPToISO2022JP(_ bytes: [UInt8]) -> [UInt8] {
        enum Mode { case ascii, kanji, kana }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 16)
        var mode = Mode.ascii
        func switchTo(_ m: Mode) {
            guard m != mode else { return }
            mode = m
            switch m {
            case .ascii: out += [0x1B, 0x28, 0x42]
            case .kanji: out += [0x1B, 0x24, 0x42]
            case .kana: out += [0x1B, 0x28, 0x49]
            }
        }
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b >= 0xA1, b <= 0xFE, i + 1 < bytes.count, bytes[i + 1] >= 0xA1 {
                switchTo(.kanji); out += [b & 0x7F, bytes[i + 1] & 0x7F]; i += 2
            } else if b == 0x8E, i + 1 < bytes.count {
                switchTo(.kana); out.append(bytes[i + 1] & 0x7F); i += 2
            } else if b == 0x8F, i + 2 < bytes.count {
                switchTo(.ascii); out.append(UInt8(ascii: "?")); i += 3
            } else {
                switchTo(.ascii); out.append(b < 0x80 ? b : UInt8(ascii: "?")); i += 1
            }
        }
        switchTo(.ascii)
        return out
    }
}
