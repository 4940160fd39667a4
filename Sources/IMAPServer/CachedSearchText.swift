import MailStore
import MIME

/// The search text the store caches per message (`MessageSummary.searchText`), written at delivery and at APPEND:
/// one `Name: decoded value` line per top-level header field, an empty line, then the decoded text of the body parts,
/// the whole bounded to `maximumBytes`. SEARCH reads it instead of parsing the blob.
///
/// The format is the one `MessageSummaries` (LetterboxServer) writes for delivery; keep the two in step (better: let
/// delivery call `encode`).
/// Limits of the format, and when the blob is used instead: an empty text (nothing cached), and a text that reaches the
/// bound (the body may have been cut). A value may span lines (an address field's parsed addresses follow its value on
/// a line of their own), but never holds an empty line: MIME's search text turns decoded line breaks into spaces, so the
/// header part cannot end early. Texts cached before that change may still; TEXT finds their words, header searches may
/// not.
public enum CachedSearchText {
    public static let maximumBytes = 256 * 1024
    /// MIME's `SearchText` has no public initialiser; its fields are settable, so start from an empty message's.
    private static let blank = MIME.Message.parse([]).searchText

    public static func encode(_ text: SearchText) -> String {
        var out = ""
        for (name, value) in text.headers { out += "\(name): \(value)\n" }
        out += "\n"
        out += text.body.prefix(max(0, maximumBytes - out.utf8.count))
        return out
    }

    /// The search text, or nil when the cache cannot stand in for the blob.
    public static func decode(_ cached: String) -> SearchText? {
        guard let bodyStart = bodyStart(of: cached) else { return nil }
        var names: [String] = []
        var values: [String] = []
        let utf8 = cached.utf8
        var lineStart = utf8.startIndex
        while let newline = utf8[lineStart...].firstIndex(of: 0x0A), newline != lineStart {
            let line = cached[lineStart..<newline]
            if let separator = separator(in: line) {
                names.append(String(line[..<separator]))
                values.append(String(line[utf8.index(separator, offsetBy: 2)...]))
            } else {
                values[values.count - 1] += "\n" + line  // a decoded value that held a line break
            }
            lineStart = utf8.index(after: newline)
        }
        var text = blank
        text.headerNames = names
        text.headerValues = values
        text.body = String(cached[bodyStart...])
        return text
    }

    /// Where the body part of a usable cached text starts (after the empty line ending the header part), or nil when the
    /// text cannot stand in for the blob: empty, at the size bound (the body may have been cut), or not this format.
    /// Lines end at LF bytes; the first line must be a field (`Name: value`) unless the header part is empty.
    static func bodyStart(of cached: String) -> String.Index? {
        guard !cached.isEmpty, cached.utf8.count < maximumBytes else { return nil }
        let utf8 = cached.utf8
        var lineStart = utf8.startIndex
        var first = true
        while let newline = utf8[lineStart...].firstIndex(of: 0x0A) {
            if newline == lineStart { return utf8.index(after: newline) }
            if first, separator(in: cached[lineStart..<newline]) == nil { return nil }
            first = false
            lineStart = utf8.index(after: newline)
        }
        return nil  // no end of the header part: not our format
    }

    /// The position of the first ": " in a line.
    private static func separator(in line: Substring) -> String.Index? {
        let utf8 = line.utf8
        var index = utf8.startIndex
        while index < utf8.endIndex {
            let next = utf8.index(after: index)
            if utf8[index] == 0x3A, next < utf8.endIndex, utf8[next] == 0x20 { return index }
            index = next
        }
        return nil
    }
}

/// One message's cached search text as the store keeps it, split once into its header part and body; decoded into
/// fields (`CachedSearchText.decode`) only when a key needs them.
struct CachedText {
    let raw: String
    private let bodyStart: String.Index
    /// Every byte is ASCII, so case-insensitive matching is ASCII folding (`SearchNeedle`).
    let isASCII: Bool

    /// Nil when the text cannot stand in for the blob.
    init?(_ raw: String) {
        guard let start = CachedSearchText.bodyStart(of: raw) else { return nil }
        self.raw = raw
        self.bodyStart = start
        self.isASCII = TextMatching.isASCII(raw)
    }

    /// Every field's name and value, one `Name: value` line each.
    var headerPart: Substring { raw[..<bodyStart] }
    var body: Substring { raw[bodyStart...] }

    func decoded() -> SearchText? { CachedSearchText.decode(raw) }
}
