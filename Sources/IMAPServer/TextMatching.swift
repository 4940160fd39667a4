import MIME

/// The case-insensitive substring test of SEARCH (RFC 9051 §6.4.4: "case-insensitive substring match"), with the same
/// answers as `SearchText.contains` (full Unicode lower-casing, then a substring test) but without its cost where it can:
/// when needle and haystack are both ASCII, lower-casing is ASCII folding and the test runs over the UTF-8 bytes with no
/// copy. Anything else goes to `SearchText.contains` unchanged.
///
/// Profiled (letterbox-load imap, release build): `SearchText.contains` — a lower-cased copy of every text plus
/// Foundation's `range(of:)` over UTF-16 — was 37 % of the server's CPU time, most of it on texts that do not match.
struct SearchNeedle {
    let text: String
    /// The needle ASCII-lower-cased, when it is all ASCII; nil otherwise.
    private let foldedASCII: [UInt8]?

    init(_ text: String) {
        self.text = text
        let bytes = Array(text.utf8)
        foldedASCII = bytes.allSatisfy { $0 < 0x80 } ? bytes.map(asciiFold) : nil
    }

    /// Does `haystack` contain the needle, ignoring case? `haystackIsASCII` may be given when the caller knows it.
    func isFound(in haystack: some StringProtocol, haystackIsASCII: Bool? = nil) -> Bool {
        if text.isEmpty { return true }
        guard let needle = foldedASCII, haystackIsASCII ?? TextMatching.isASCII(haystack) else {
            return SearchText.contains(String(haystack), text)
        }
        return TextMatching.asciiContains(haystack, folded: needle)
    }

    /// True when a match in any field of a cached text is also a match in the whole cached text (one string that holds
    /// every name, value and the body): the needle has no line break, which is what separates fields in the cache.
    var canPrefilter: Bool { !text.isEmpty && foldedASCII != nil && !text.utf8.contains(0x0A) }

    /// The whole-text test behind `canPrefilter`: false means no field of the cached text can match.
    func mayBeFound(inCachedASCII raw: some StringProtocol) -> Bool {
        guard let needle = foldedASCII else { return true }
        return TextMatching.asciiContains(raw, folded: needle)
    }
}

enum TextMatching {
    static func isASCII(_ text: some StringProtocol) -> Bool {
        if let answer = text.utf8.withContiguousStorageIfAvailable(isASCII) { return answer }
        return text.utf8.allSatisfy { $0 < 0x80 }
    }

    /// Eight bytes at a time: no byte has its top bit set.
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var offset = 0
        var accumulated: UInt64 = 0
        while offset + 8 <= bytes.count {
            accumulated |= raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        guard accumulated & 0x8080_8080_8080_8080 == 0 else { return false }
        while offset < bytes.count {
            if bytes[offset] >= 0x80 { return false }
            offset += 1
        }
        return true
    }

    /// ASCII case-insensitive substring search; `folded` is the needle already folded, non-empty.
    static func asciiContains(_ haystack: some StringProtocol, folded needle: [UInt8]) -> Bool {
        if let answer = haystack.utf8.withContiguousStorageIfAvailable({ search($0, needle) }) { return answer }
        return Array(haystack.utf8).withUnsafeBufferPointer { search($0, needle) }
    }

    private static func search(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        let n = haystack.count, m = needle.count
        guard m > 0 else { return true }
        guard m <= n else { return false }
        return needle.withUnsafeBufferPointer { needle in
            let first = needle[0]
            // A folded letter matches exactly the bytes that OR 0x20 to it (its two cases); anything else must be equal.
            let mask: UInt8 = first >= 0x61 && first <= 0x7A ? 0x20 : 0
            var index = 0
            let last = n - m
            while index <= last {
                if haystack[index] | mask == first {
                    var offset = 1
                    while offset < m, asciiFold(haystack[index + offset]) == needle[offset] { offset += 1 }
                    if offset == m { return true }
                }
                index += 1
            }
            return false
        }
    }
}

@inline(__always) private func asciiFold(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
