import MailStore
import MIME

/// The search text the store caches per message (`MessageSummary.searchText`), written at delivery and at APPEND:
/// one `Name: decoded value` line per top-level header field, an empty line, then the decoded text of the body parts,
/// the whole bounded to `maximumBytes`. SEARCH reads it instead of parsing the blob.
///
/// The format is the one `MessageSummaries` (LetterboxServer) writes for delivery; keep the two in step (better: let
/// delivery call `encode`).
/// Limits of the format, and when the blob is used instead: an empty text (nothing cached), and a text that reaches the
/// bound (the body may have been cut). A header value that itself holds an empty line would end the header part early;
/// TEXT still finds its words, header searches may not.
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
        guard !cached.isEmpty, cached.utf8.count < maximumBytes else { return nil }
        var names: [String] = []
        var values: [String] = []
        var rest = Substring(cached)
        while let newline = rest.firstIndex(of: "\n") {
            let line = rest[..<newline]
            rest = rest[rest.index(after: newline)...]
            if line.isEmpty {
                var text = blank
                text.headerNames = names
                text.headerValues = values
                text.body = String(rest)
                return text
            }
            if let separator = line.range(of: ": ") {
                names.append(String(line[..<separator.lowerBound]))
                values.append(String(line[separator.upperBound...]))
            } else if !values.isEmpty {
                values[values.count - 1] += "\n" + line  // a decoded value that held a line break
            } else {
                return nil
            }
        }
        return nil  // no end of the header part: not our format
    }
}
