import MailCore

/// RFC 2047 encoded words: `=?charset?B?…?=` and `=?charset?Q?…?=` in unstructured text and phrases.
/// Whitespace between adjacent encoded words is dropped (§6.2); a malformed word is left exactly as it is.
public enum EncodedWords {
    /// Decodes every encoded word in `text` (raw header bytes; 8-bit bytes outside words are read as UTF-8, else Latin-1).
    public static func decode(_ text: some Collection<UInt8>) -> String {
        let bytes = Array(text)
        guard containsEncodedWord(bytes) else { return Charset.fallback(bytes) }
        var out = ""
        var plainStart = 0
        var i = 0
        var lastWasWord = false
        // Adjacent words in the same charset are joined at the byte level so multi-byte characters split across words survive.
        var pendingBytes: [UInt8] = []
        var pendingCharset = ""
        func flushPending() {
            if !pendingBytes.isEmpty || !pendingCharset.isEmpty { out += Charset.decode(pendingBytes, charset: pendingCharset) }
            pendingBytes = []
            pendingCharset = ""
        }
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "="), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "?"),
               let word = parseWord(bytes, at: i) {
                // Text between the previous word and this one.
                let between = plainStart..<i
                let onlySpace = bytes[between].allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
                if !(lastWasWord && onlySpace) {
                    flushPending()
                    out += plainText(bytes[between])
                }
                if pendingCharset != word.charset { flushPending() }
                pendingCharset = word.charset
                pendingBytes += word.decoded
                i = word.end
                plainStart = i
                lastWasWord = true
                continue
            }
            i += 1
        }
        flushPending()
        out += plainText(bytes[plainStart..<bytes.count])
        return out
    }

    public static func decode(_ text: String) -> String { decode(Array(text.utf8)) }

    static func containsEncodedWord(_ bytes: [UInt8]) -> Bool {
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == UInt8(ascii: "="), bytes[i + 1] == UInt8(ascii: "?") { return true }
            i += 1
        }
        return false
    }

    static func plainText(_ bytes: ArraySlice<UInt8>) -> String {
        // Unfold: drop CR/LF.
        Charset.fallback(bytes.filter { $0 != 0x0D && $0 != 0x0A })
    }

    struct Word {
        var charset: String
        var decoded: [UInt8]
        var end: Int
    }

    /// `encoded-word = "=?" charset "?" encoding "?" encoded-text "?="` (RFC 2047 §2), charset may carry `*language`
    /// (RFC 2231 §5).
    static func parseWord(_ bytes: [UInt8], at start: Int) -> Word? {
        var i = start + 2
        let csStart = i
        while i < bytes.count, bytes[i] != UInt8(ascii: "?") {
            if bytes[i] <= 0x20 || i - csStart > 64 { return nil }
            i += 1
        }
        guard i + 2 < bytes.count, i > csStart, bytes[i + 2] == UInt8(ascii: "?") else { return nil }
        var charset = String(decoding: bytes[csStart..<i], as: UTF8.self)
        if let star = charset.firstIndex(of: "*") { charset = String(charset[..<star]) }
        let encoding = bytes[i + 1] | 0x20
        guard encoding == UInt8(ascii: "b") || encoding == UInt8(ascii: "q") else { return nil }
        let textStart = i + 3
        var j = textStart
        while j + 1 < bytes.count, !(bytes[j] == UInt8(ascii: "?") && bytes[j + 1] == UInt8(ascii: "=")) {
            if bytes[j] == 0x20 || bytes[j] == 0x0A || bytes[j] == 0x0D || bytes[j] == 0x09 { return nil }
            j += 1
        }
        guard j + 1 < bytes.count else { return nil }
        let encoded = bytes[textStart..<j]
        let decoded: [UInt8]
        if encoding == UInt8(ascii: "b") {
            decoded = TransferEncoding.decodeBase64(encoded)
        } else {
            // RFC 2047 §4.2: "_" is space; =XX escapes.
            decoded = TransferEncoding.decodeQuotedPrintable(encoded.map { $0 == UInt8(ascii: "_") ? 0x20 : $0 })
        }
        return Word(charset: charset, decoded: decoded, end: j + 2)
    }

    /// Encodes `text` as RFC 2047 words when it is not plain ASCII (B encoding, UTF-8, each word ≤ 75 characters and
    /// never splitting a UTF-8 sequence). ASCII text is returned unchanged.
    public static func encode(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 >= 0x80 || $0 < 0x20 }) || text.contains("=?") else { return text }
        var words: [String] = []
        var chunk: [UInt8] = []
        let maxBytes = 45 // 45 bytes → 60 base64 chars; with "=?utf-8?B?" and "?=" the word is 72 characters
        for ch in text.unicodeScalars {
            let enc = Array(String(ch).utf8)
            if chunk.count + enc.count > maxBytes {
                words.append("=?utf-8?B?" + String(decoding: TransferEncoding.encodeBase64(chunk, lineLength: 0), as: UTF8.self) + "?=")
                chunk = []
            }
            chunk += enc
        }
        if !chunk.isEmpty {
            words.append("=?utf-8?B?" + String(decoding: TransferEncoding.encodeBase64(chunk, lineLength: 0), as: UTF8.self) + "?=")
        }
        return words.joined(separator: " ")
    }
}
