/// MailCore: the vocabulary every other module speaks — addresses, domains, header fields, dates, encodings and reply codes.
/// Pure: standard library only.

/// A mailbox address `local-part@domain` as used in SMTP envelopes and the account directory (RFC 5321 §4.1.2).
///
/// The domain is kept lower-cased (domains are case-insensitive); the local part is kept as written, because RFC 5321 §2.4
/// makes it case-sensitive in principle, and the directory compares it case-insensitively where that is the local policy.
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let localPart: String
    public let domain: DomainName

    public init(localPart: String, domain: DomainName) {
        self.localPart = localPart
        self.domain = domain
    }

    /// Parses `local@domain`. The local part may be a dot-atom or a quoted string (RFC 5321 `Local-part`), UTF-8 allowed
    /// (RFC 6531). Returns nil for anything else, including source routes and a missing or malformed domain.
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        guard text.utf8.count <= Self.maximumLength, let at = text.lastIndex(of: "@") else { return nil }
        let local = String(text[..<at])
        guard Self.isValidLocalPart(local), let domain = DomainName(text[text.index(after: at)...]) else { return nil }
        self.init(localPart: local, domain: domain)
    }

    /// RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the angle brackets.
    public static let maximumLength = 254

    public var description: String { "\(localPart)@\(domain)" }

    /// Case-insensitive key for directory lookups: `Bob@Example.TEST` and `bob@example.test` are one account.
    public var normalized: String { "\(localPart.lowercased())@\(domain)" }

    /// The address with a `+tag` suffix removed from the local part (plus-addressing), or nil when there is none.
    public func removingSubaddress(separator: Character = "+") -> EmailAddress? {
        guard !localPart.hasPrefix("\""), let plus = localPart.firstIndex(of: separator), plus != localPart.startIndex else {
            return nil
        }
        return EmailAddress(localPart: String(localPart[..<plus]), domain: domain)
    }

    public static func < (lhs: EmailAddress, rhs: EmailAddress) -> Bool { lhs.normalized < rhs.normalized }

    // Local-part = Dot-string / Quoted-string ; Dot-string = Atom *("." Atom)   (RFC 5321 §4.1.2, RFC 6531 §3.3)
    static func isValidLocalPart(_ local: String) -> Bool {
        let bytes = Array(local.utf8)
        guard !bytes.isEmpty, bytes.count <= 64 || bytes.contains(where: { $0 >= 0x80 }) else { return false }
        if bytes.first == UInt8(ascii: "\"") {
            guard bytes.count >= 2, bytes.last == UInt8(ascii: "\"") else { return false }
            var escaped = false
            for byte in bytes.dropFirst().dropLast() {
                if escaped { escaped = false; guard byte >= 32 && byte != 127 else { return false }; continue }
                if byte == UInt8(ascii: "\\") { escaped = true; continue }
                if byte == UInt8(ascii: "\"") || byte < 32 || byte == 127 { return false }
            }
            return !escaped
        }
        var previousWasDot = true
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                if previousWasDot { return false }
                previousWasDot = true
            } else {
                guard byte >= 0x80 || isAtext(byte) else { return false }
                previousWasDot = false
            }
        }
        return !previousWasDot
    }

    /// RFC 5322 §3.2.3 `atext`.
    public static func isAtext(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-/=?^_`{|}~".utf8.contains(byte)
        }
    }
}

/// A domain name, lower-cased, without a trailing dot. Accepts LDH labels and UTF-8 labels (IDN in U-label form);
/// rejects empty labels, labels over 63 octets, names over 253 octets and characters that cannot appear in a host name.
public struct DomainName: Hashable, Sendable, CustomStringConvertible, Comparable, Codable {
    public let name: String

    public init?(_ text: some StringProtocol) {
        var text = String(text).lowercased()
        if text.hasSuffix(".") { text.removeLast() }
        guard !text.isEmpty, text.utf8.count <= 253 else { return nil }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 1 else { return nil }
        for label in labels {
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty, bytes.count <= 63, bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else {
                return nil
            }
            for byte in bytes where !(byte >= 0x80 || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))) {
                return nil
            }
        }
        self.name = text
    }

    public var description: String { name }
    public static func < (lhs: DomainName, rhs: DomainName) -> Bool { lhs.name < rhs.name }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let domain = DomainName(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a domain name: \(text)"))
        }
        self = domain
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
