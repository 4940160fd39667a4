/// RFC 5322 §3.4 address lists (with the obsolete syntax of §4.4) and RFC 5321 §4.1.2 paths.
///
/// Parsing never fails: malformed input yields mailboxes with `isValid == false` that keep their raw text.
/// Display names are returned as written (quotes removed, comments dropped, RFC 2047 encoded words NOT decoded;
/// the MIME module decodes them), because IMAP's ENVELOPE reports them undecoded.

/// One mailbox from an address header: `mailbox = name-addr / addr-spec` (RFC 5322 §3.4).
public struct MailboxAddress: Hashable, Sendable {
    /// The phrase before `<…>`, or the comment after a bare addr-spec; nil when there is none.
    public var displayName: String?
    /// The obsolete source route (`obs-route`, e.g. `@a.example,@b.example`), kept only so IMAP can report it.
    public var route: String?
    /// The local part, unquoted (`"john doe"@x` gives `john doe`). May be UTF-8 (RFC 6532).
    public var localPart: String
    /// The domain as written (a domain literal keeps its brackets); nil when the address has none.
    public var domain: String?
    /// False when the text did not parse as a mailbox.
    public var isValid: Bool
    /// The mailbox's source text, trimmed.
    public var raw: String

    public init(displayName: String? = nil, route: String? = nil, localPart: String, domain: String?, isValid: Bool = true, raw: String = "") {
        self.displayName = displayName
        self.route = route
        self.localPart = localPart
        self.domain = domain
        self.isValid = isValid
        self.raw = raw
    }

    /// `local@domain` with the local part re-quoted when it needs quotes.
    public var addressText: String {
        let local = Self.needsQuoting(localPart) ? Self.quoted(localPart) : localPart
        guard let domain else { return local }
        return "\(local)@\(domain)"
    }

    /// The address as an `EmailAddress` when it is a valid SMTP mailbox.
    public var emailAddress: EmailAddress? { domain == nil ? nil : EmailAddress(addressText) }

    static func needsQuoting(_ local: String) -> Bool {
        guard !local.isEmpty else { return true }
        return !EmailAddress.isValidLocalPart(local)
    }

    /// RFC 5322 §3.2.4 quoted-string: wraps in DQUOTE, escaping `"` and `\`.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for ch in text {
            if ch == "\"" || ch == "\\" { out.append("\\") }
            out.append(ch)
        }
        return out + "\""
    }
}

/// One entry of an `address-list`: a mailbox or a group (`group = display-name ":" [group-list] ";" [CFWS]`).
public enum AddressListEntry: Hashable, Sendable {
    case mailbox(MailboxAddress)
    case group(name: String, members: [MailboxAddress])

    /// All mailboxes, flattening groups.
    public var mailboxes: [MailboxAddress] {
        switch self {
        case .mailbox(let m): return [m]
        case .group(_, let members): return members
        }
    }
}

extension [AddressListEntry] {
    public var mailboxes: [MailboxAddress] { flatMap(\.mailboxes) }
}

/// RFC 5322 lexical tokens used by the address parser (§3.2: atoms, quoted strings, comments, specials).
struct AddressToken: Equatable {
    enum Kind: Equatable { case atom, quoted, domainLiteral, special(UInt8) }
    var kind: Kind
    var text: String
    /// Whitespace or a comment came before this token (so phrases can be rebuilt with single spaces).
    var spaceBefore: Bool
    var start: Int
    var end: Int
}

public enum AddressParser {
    /// Parses an `address-list` (To, Cc, Bcc, Reply-To, From may hold several) from a header field value (unfolded or not).
    ///
    ///     address-list = (address *("," address)) / obs-addr-list
    ///     address      = mailbox / group
    public static func parseList(_ text: some StringProtocol) -> [AddressListEntry] {
        parseList(bytes: Array(text.utf8))
    }

    public static func parseList(bytes: [UInt8]) -> [AddressListEntry] {
        let (tokens, comments) = tokenize(bytes)
        var entries: [AddressListEntry] = []
        var i = 0
        while i < tokens.count {
            // Find the extent of this address: up to a top-level "," (a group runs to its ";").
            var j = i
            var groupColon: Int?
            var inAngle = false
            while j < tokens.count {
                let t = tokens[j]
                if t.kind == .special(UInt8(ascii: "<")) { inAngle = true }
                if t.kind == .special(UInt8(ascii: ">")) { inAngle = false }
                if !inAngle, groupColon == nil, t.kind == .special(UInt8(ascii: ":")) { groupColon = j }
                if !inAngle, groupColon == nil, t.kind == .special(UInt8(ascii: ",")) { break }
                if groupColon != nil, t.kind == .special(UInt8(ascii: ";")) { break }
                j += 1
            }
            if let colon = groupColon, !isRouteColon(tokens, colon, from: i) {
                let name = phrase(tokens[i..<colon])
                var members: [MailboxAddress] = []
                var k = colon + 1
                while k < j {
                    var e = k
                    var angle = false
                    while e < j {
                        if tokens[e].kind == .special(UInt8(ascii: "<")) { angle = true }
                        if tokens[e].kind == .special(UInt8(ascii: ">")) { angle = false }
                        if !angle, tokens[e].kind == .special(UInt8(ascii: ",")) { break }
                        e += 1
                    }
                    if e > k { members.append(mailbox(tokens[k..<e], bytes: bytes, comments: comments, segmentEnd: e < tokens.count ? tokens[e].start : bytes.count)) }
                    k = e + 1
                }
                entries.append(.group(name: name, members: members))
                j += 1
                // Skip a "," after the group's ";".
                if j < tokens.count, tokens[j].kind == .special(UInt8(ascii: ",")) { j += 1 }
                i = j
                continue
            }
            if j > i {
                entries.append(.mailbox(mailbox(tokens[i..<j], bytes: bytes, comments: comments, segmentEnd: j < tokens.count ? tokens[j].start : bytes.count)))
            } else if j + 1 < tokens.count {
                // An empty entry between commas (`a@b,, c@d`) is reported as an invalid, empty mailbox (as Dovecot does).
                entries.append(.mailbox(MailboxAddress(localPart: "", domain: nil, isValid: false, raw: "")))
            }
            i = j + 1
        }
        return entries
    }

    /// In `<@a,@b:user@c>` the colon ends an obs-route, not a group name.
    static func isRouteColon(_ tokens: [AddressToken], _ colon: Int, from start: Int) -> Bool {
        tokens[start..<colon].contains { $0.kind == .special(UInt8(ascii: "<")) }
    }

    /// Parses one `mailbox` (RFC 5322 §3.4):
    ///
    ///     mailbox    = name-addr / addr-spec
    ///     name-addr  = [display-name] angle-addr
    ///     angle-addr = [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr
    ///     obs-angle-addr = [CFWS] "<" obs-route addr-spec ">" [CFWS]
    static func mailbox(_ tokens: ArraySlice<AddressToken>, bytes: [UInt8], comments: [(Int, String)], segmentEnd: Int) -> MailboxAddress {
        let rawStart = tokens.first!.start, rawEnd = tokens.last!.end
        let raw = String(decoding: bytes[rawStart..<rawEnd], as: UTF8.self)
        if let open = tokens.firstIndex(where: { $0.kind == .special(UInt8(ascii: "<")) }) {
            let name = phrase(tokens[tokens.startIndex..<open])
            let close = tokens[open...].firstIndex(where: { $0.kind == .special(UInt8(ascii: ">")) }) ?? tokens.endIndex
            var inner = tokens[(open + 1)..<close]
            var route: String?
            if let colon = inner.firstIndex(where: { $0.kind == .special(UInt8(ascii: ":")) }),
               inner.first?.kind == .special(UInt8(ascii: "@")) || inner.first?.kind == .special(UInt8(ascii: ",")) {
                route = inner[..<colon].map(\.text).joined()
                inner = inner[(colon + 1)...]
            }
            var m = addrSpec(inner, raw: raw)
            m.displayName = name.isEmpty ? nil : name
            m.route = route
            if close == tokens.endIndex { m.isValid = false }
            return m
        }
        var m = addrSpec(tokens, raw: raw)
        // A bare addr-spec followed by a comment: the comment is the conventional display name (`a@b (Name)`).
        if let comment = comments.last(where: { $0.0 >= rawStart && $0.0 < segmentEnd }), !comment.1.isEmpty {
            m.displayName = comment.1
        }
        return m
    }

    ///     addr-spec  = local-part "@" domain
    ///     local-part = dot-atom / quoted-string / obs-local-part
    ///     domain     = dot-atom / domain-literal / obs-domain
    static func addrSpec(_ tokens: ArraySlice<AddressToken>, raw: String) -> MailboxAddress {
        let at = tokens.lastIndex(where: { $0.kind == .special(UInt8(ascii: "@")) })
        let localTokens = at.map { tokens[tokens.startIndex..<$0] } ?? tokens
        var local = ""
        var valid = !localTokens.isEmpty
        for t in localTokens {
            switch t.kind {
            case .atom, .quoted: local += t.text
            case .special(UInt8(ascii: ".")): local += "."
            default: valid = false; local += t.text
            }
        }
        var domain: String?
        if let at {
            var d = ""
            for t in tokens[(at + 1)...] {
                switch t.kind {
                case .atom, .domainLiteral: d += t.text
                case .special(UInt8(ascii: ".")): d += "."
                default: valid = false
                }
            }
            if d.isEmpty { valid = false } else { domain = d }
        } else {
            valid = false
        }
        if local.isEmpty { valid = false }
        return MailboxAddress(localPart: local, domain: domain, isValid: valid, raw: raw)
    }

    /// `phrase = 1*word / obs-phrase`: words joined by single spaces where the source had whitespace.
    static func phrase(_ tokens: ArraySlice<AddressToken>) -> String {
        var out = ""
        for t in tokens {
            if !out.isEmpty, t.spaceBefore { out += " " }
            out += t.text
        }
        return out
    }

    /// Splits header text into RFC 5322 tokens. Comments are removed and returned separately with their positions.
    static func tokenize(_ bytes: [UInt8]) -> ([AddressToken], [(Int, String)]) {
        var tokens: [AddressToken] = []
        var comments: [(Int, String)] = []
        var i = 0
        var space = false
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case 0x20, 0x09, 0x0D, 0x0A:
                space = true; i += 1
            case UInt8(ascii: "("):
                let start = i
                var depth = 0
                var text: [UInt8] = []
                while i < bytes.count {
                    let c = bytes[i]
                    if c == UInt8(ascii: "\\"), i + 1 < bytes.count { if depth > 0 { text.append(bytes[i + 1]) }; i += 2; continue }
                    if c == UInt8(ascii: "(") { depth += 1; if depth > 1 { text.append(c) } } else if c == UInt8(ascii: ")") {
                        depth -= 1
                        if depth == 0 { i += 1; break }
                        text.append(c)
                    } else if c != 0x0D && c != 0x0A { text.append(c) }
                    i += 1
                }
                comments.append((start, String(decoding: text, as: UTF8.self).trimmingSpaces))
                space = true
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                var text: [UInt8] = []
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count { i += 1 }
                    if bytes[i] != 0x0D && bytes[i] != 0x0A { text.append(bytes[i]) }
                    i += 1
                }
                i += 1
                tokens.append(AddressToken(kind: .quoted, text: String(decoding: text, as: UTF8.self), spaceBefore: space, start: start, end: min(i, bytes.count)))
                space = false
            case UInt8(ascii: "["):
                let start = i
                while i < bytes.count, bytes[i] != UInt8(ascii: "]") { i += 1 }
                i = min(i + 1, bytes.count)
                tokens.append(AddressToken(kind: .domainLiteral, text: String(decoding: bytes[start..<i], as: UTF8.self), spaceBefore: space, start: start, end: i))
                space = false
            case UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "@"), UInt8(ascii: ","), UInt8(ascii: ";"),
                 UInt8(ascii: ":"), UInt8(ascii: "."), UInt8(ascii: "]"):
                tokens.append(AddressToken(kind: .special(b), text: String(UnicodeScalar(b)), spaceBefore: space, start: i, end: i + 1))
                space = false
                i += 1
            case UInt8(ascii: ")"):
                // An unbalanced closing parenthesis: a syntax error the address parser reports; never a zero-length atom
                // (which would not advance — a loop found by the mutation test).
                tokens.append(AddressToken(kind: .special(b), text: ")", spaceBefore: space, start: i, end: i + 1))
                space = false
                i += 1
            default:
                let start = i
                while i < bytes.count, !Self.isDelimiter(bytes[i]) { i += 1 }
                tokens.append(AddressToken(kind: .atom, text: String(decoding: bytes[start..<i], as: UTF8.self), spaceBefore: space, start: start, end: i))
                space = false
            }
        }
        return (tokens, comments)
    }

    static func isDelimiter(_ b: UInt8) -> Bool {
        switch b {
        case 0x20, 0x09, 0x0D, 0x0A, UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\""), UInt8(ascii: "["), UInt8(ascii: "]"),
             UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "@"), UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: ":"),
             UInt8(ascii: "."):
            return true
        default:
            return false
        }
    }

    /// Parses an RFC 5321 §4.1.2 `Reverse-path` / `Forward-path` (`<>`, `<user@host>`, source routes dropped).
    /// Returns `.null` for `<>`, `.mailbox` for a valid address and `.invalid` with the raw text otherwise.
    public static func parsePath(_ text: some StringProtocol) -> RFC5321Path {
        var s = Substring(String(text).trimmingSpaces)
        guard s.hasPrefix("<"), s.hasSuffix(">"), s.count >= 2 else { return .invalid(String(text)) }
        s = s.dropFirst().dropLast()
        if s.isEmpty { return .null }
        // A-d-l = At-domain *( "," At-domain ) ":" — the source route is ignored (RFC 5321 §4.1.2, Appendix C).
        if s.hasPrefix("@"), let colon = s.firstIndex(of: ":") { s = s[s.index(after: colon)...] }
        guard let address = EmailAddress(s) else { return .invalid(String(text)) }
        return .mailbox(address)
    }
}

/// An SMTP path value (RFC 5321 §4.1.2).
public enum RFC5321Path: Hashable, Sendable {
    case null
    case mailbox(EmailAddress)
    case invalid(String)
}

extension StringProtocol {
    /// The text without leading and trailing spaces, tabs, CR and LF.
    public var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
