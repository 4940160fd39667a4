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
    ///
    /// Nothing in a message may be hidden from SEARCH: a part the parser did not open (nested beyond its depth or part
    /// limit) is searched as text, its remainder raw, and a NUL byte becomes a space, so the text after it is neither
    /// cut off by a C-string boundary in storage nor joined to the word before it.
    public var searchText: SearchText {
        let fields = root.header.fields
        var body = ""
        collectText(root, into: &body, isRoot: true)
        return SearchText(headerNames: fields.map(\.name),
                          headerValues: fields.map { Self.withoutNUL(Self.searchValue(of: $0)) },
                          body: Self.withoutNUL(body))
    }

    /// Address fields searched by address (SEARCH FROM/TO/CC/BCC, RFC 3501 §6.4.4) whatever their form.
    static let addressFields: Set<String> = ["from", "sender", "reply-to", "to", "cc", "bcc", "resent-from", "resent-to",
                                             "resent-cc", "resent-bcc", "resent-sender"]

    /// A field's decoded value; for an address field, followed on a line of its own by each address (`local@domain`)
    /// the value does not already spell that way — `"carol"@example.org`, `carol @ example.org`,
    /// `carol(comment)@example.org` — so SEARCH FROM carol@example.org finds them all, as Dovecot does (it searches the
    /// addresses as parsed).
    ///
    /// A line break an encoded word decoded to becomes a space: the cached text (one `Name: value` line per field, an
    /// empty line before the body) must not end its header part inside a value and hide the fields after it.
    static func searchValue(of field: HeaderField) -> String {
        var decoded = EncodedWords.decode(field.unfoldedBytes)
        if decoded.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) {
            decoded = String(decoding: decoded.utf8.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }, as: UTF8.self)
        }
        guard addressFields.contains(field.name.lowercased()) else { return decoded }
        var missing: [String] = []
        let folded = decoded.lowercased()
        for entry in AddressParser.parseList(bytes: field.unfoldedBytes) {
            let mailboxes: [MailboxAddress] = switch entry {
            case .mailbox(let mailbox): [mailbox]
            case .group(_, let members): members
            }
            for mailbox in mailboxes where !mailbox.localPart.isEmpty {
                let address = mailbox.domain.map { mailbox.localPart + "@" + $0 } ?? mailbox.localPart
                if !folded.contains(address.lowercased()) { missing.append(address) }
            }
        }
        return missing.isEmpty ? decoded : decoded + "\n" + missing.joined(separator: " ")
    }

    static func withoutNUL(_ text: String) -> String {
        guard text.utf8.contains(0) else { return text }
        return String(decoding: text.utf8.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
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
            switch part.contentType.type {
            case "text":
                out += decodedText(of: part)
            case "multipart", "message":
                // Not opened (beyond the parser's bounds, or an encoded message/*): its headers and text are still text.
                let raw = TransferEncoding.decode(bytes[part.bodyRange], encoding: part.transferEncoding)
                out += String(decoding: raw, as: UTF8.self)
            default:
                return
            }
            out += "\n"
        }
    }
}
