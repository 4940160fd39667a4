import MailCore

/// Decoded text of a message for IMAP SEARCH (RFC 3501 §6.4.4): header values with RFC 2047 words decoded, and the text of
/// every text/* body part with transfer encoding and charset undone. Matching is case-insensitive and Unicode-aware.
public struct SearchText: Hashable, Sendable {
    /// Header fields of the top-level message, names as written, values decoded and unfolded.
    public var headers: [(name: String, value: String)] {
        get { zip(headerNames, headerValues).map { ($0, $1) } }
        set { headerNames = newValue.map(\.name); headerValues = newValue.map(\.value) }
    }
    public var headerNames: [String]
    public var headerValues: [String]
    /// Decoded text of all text/* parts (and of the headers of encapsulated messages), joined with newlines.
    public var body: String

    /// The decoded values of every field named `name`, joined.
    public func header(_ name: String) -> String {
        zip(headerNames, headerValues).filter { Header.namesEqual($0.0, name) }.map(\.1).joined(separator: "\n")
    }

    /// SEARCH HEADER / SUBJECT / FROM …: does a field named `name` contain `needle`?
    public func headerContains(_ name: String, _ needle: String) -> Bool { Self.contains(header(name), needle) }
    /// SEARCH BODY.
    public func bodyContains(_ needle: String) -> Bool { Self.contains(body, needle) }
    /// SEARCH TEXT: header or body.
    public func textContains(_ needle: String) -> Bool {
        headerValues.contains { Self.contains($0, needle) } || headerNames.contains { Self.contains($0, needle) } || bodyContains(needle)
    }

    /// Case-insensitive, Unicode-aware substring test (full case folding via `lowercased()`).
    public static func contains(_ haystack: String, _ needle: String) -> Bool {
        if needle.isEmpty { return true }
        return fold(haystack).contains(fold(needle))
    }

    public static func fold(_ s: String) -> String { s.lowercased() }
}

extension Message {
    /// The decoded search text of the message.
    public var searchText: SearchText {
        let fields = root.header.fields
        var body = ""
        collectText(root, into: &body, isRoot: true)
        return SearchText(headerNames: fields.map(\.name), headerValues: fields.map { EncodedWords.decode($0.unfoldedBytes) },
                          body: body)
    }

    /// The decoded text of a text/* part (transfer encoding and charset undone).
    public func decodedText(of part: MessagePart) -> String {
        let raw = TransferEncoding.decode(bytes[part.bodyRange], encoding: part.transferEncoding)
        return Charset.decode(raw, charset: part.contentType.parameter("charset") ?? "us-ascii")
    }

    func collectText(_ part: MessagePart, into out: inout String, isRoot: Bool) {
        switch part.kind {
        case .multipart:
            for child in part.children { collectText(child, into: &out, isRoot: false) }
        case .message:
            let inner = part.children[0]
            for f in inner.header.fields { out += EncodedWords.decode(f.unfoldedBytes); out += "\n" }
            collectText(inner, into: &out, isRoot: false)
        case .single:
            guard part.contentType.type == "text" else { return }
            out += decodedText(of: part)
            out += "\n"
        }
    }
}
