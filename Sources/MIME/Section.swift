import MailCore

/// An IMAP `section` (RFC 3501 §6.4.5, RFC 9051 §6.4.5): a part path plus an optional text specifier.
///
///     section-spec = section-msgtext / (section-part ["." section-text])
///     section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
///     section-text = section-msgtext / "MIME"
public struct SectionSpecifier: Hashable, Sendable {
    public enum Text: Hashable, Sendable {
        case header
        case headerFields([String])
        case headerFieldsNot([String])
        case text
        case mime
    }

    /// 1-based part numbers; empty for the whole message.
    public var part: [Int]
    public var text: Text?

    public init(part: [Int] = [], text: Text? = nil) {
        self.part = part
        self.text = text
    }

    /// `BODY[]`
    public static let whole = SectionSpecifier()
}

/// A `<offset.length>` partial range (RFC 3501 §6.4.5).
public struct PartialRange: Hashable, Sendable {
    public var offset: Int
    public var length: Int

    public init(offset: Int, length: Int) {
        self.offset = offset
        self.length = length
    }

    func apply(_ bytes: [UInt8]) -> [UInt8] {
        guard offset < bytes.count else { return [] }
        return Array(bytes[offset..<min(bytes.count, offset + min(length, bytes.count))])
    }
}

extension Message {
    /// Resolves a part path (RFC 3501 §6.4.5): numbers index the parts of a multipart; a message/rfc822 part's numbers
    /// refer to its encapsulated message's parts; part 1 of a non-multipart entity is its body.
    public func part(at path: [Int]) -> MessagePart? {
        var current = root
        for (index, n) in path.enumerated() {
            if index > 0, current.kind == .message { current = current.children[0] }
            if current.kind == .multipart {
                guard n >= 1, n <= current.children.count else { return nil }
                current = current.children[n - 1]
            } else if n != 1 {
                return nil
            }
        }
        return current
    }

    /// The entity whose header/text a HEADER, HEADER.FIELDS or TEXT specifier addresses: the message itself for an empty
    /// path, else the encapsulated message of a message/rfc822 part.
    func messageEntity(at path: [Int]) -> MessagePart? {
        guard let p = part(at: path) else { return nil }
        if path.isEmpty { return p }
        return p.kind == .message ? p.children[0] : nil
    }

    /// The bytes of `BODY[section]<partial>`; nil when the section does not exist (the server answers with NIL or "").
    public func section(_ spec: SectionSpecifier, partial: PartialRange? = nil) -> [UInt8]? {
        guard let bytes = sectionBytes(spec) else { return nil }
        return partial.map { $0.apply(bytes) } ?? bytes
    }

    func sectionBytes(_ spec: SectionSpecifier) -> [UInt8]? {
        switch spec.text {
        case nil:
            if spec.part.isEmpty { return bytes }
            guard let p = part(at: spec.part) else { return nil }
            return Array(bytes[p.bodyRange])
        case .mime:
            guard !spec.part.isEmpty, let p = part(at: spec.part) else { return nil }
            return Array(bytes[p.headerRange])
        case .header:
            guard let e = messageEntity(at: spec.part) else { return nil }
            return Array(bytes[e.headerRange])
        case .text:
            guard let e = messageEntity(at: spec.part) else { return nil }
            return Array(bytes[e.bodyRange])
        case .headerFields(let names), .headerFieldsNot(let names):
            guard let e = messageEntity(at: spec.part) else { return nil }
            var include = false
            if case .headerFields = spec.text! { include = true }
            var out: [UInt8] = []
            for field in e.header.fields {
                let listed = names.contains { Header.namesEqual($0, field.name) }
                if listed == include { out += bytes[field.range] }
            }
            // Fields end with CRLF; a field at the very end of an unterminated header may not.
            if let last = out.last, last != 0x0A { out += [0x0D, 0x0A] }
            out += [0x0D, 0x0A]
            return out
        }
    }

    /// `BINARY[section]` (RFC 3516): the part's body with its Content-Transfer-Encoding removed. Nil when the section does
    /// not exist. The whole message (empty path) is returned as it is.
    public func binary(_ part: [Int], partial: PartialRange? = nil) -> [UInt8]? {
        if part.isEmpty { return partial.map { $0.apply(bytes) } ?? bytes }
        guard let p = self.part(at: part) else { return nil }
        let decoded = TransferEncoding.decode(bytes[p.bodyRange], encoding: p.transferEncoding)
        return partial.map { $0.apply(decoded) } ?? decoded
    }

    /// `BINARY.SIZE[section]` (RFC 3516 §4.2).
    public func binarySize(_ part: [Int]) -> Int? { binary(part)?.count }

    /// True when the part's Content-Transfer-Encoding is one BINARY can undo (RFC 3516 §4.3: else `UNKNOWN-CTE`).
    public func isBinaryDecodable(_ part: [Int]) -> Bool {
        guard !part.isEmpty else { return true }
        guard let p = self.part(at: part) else { return false }
        return ["7bit", "8bit", "binary", "base64", "quoted-printable"].contains(p.transferEncoding)
    }
}
