import MailCore

/// An address literal `[…]` standing for a host (RFC 5321 §4.1.3).
public enum SMTPAddressLiteral: Hashable, Sendable, CustomStringConvertible {
    case ipv4(String)
    case ipv6(String)
    case general(tag: String, content: String)

    public var description: String {
        switch self {
        case .ipv4(let address): "[\(address)]"
        case .ipv6(let address): "[IPv6:\(address)]"
        case .general(let tag, let content): "[\(tag):\(content)]"
        }
    }
}

/// The part of a mailbox after `@`: a domain name or an address literal.
public enum SMTPHost: Hashable, Sendable, CustomStringConvertible {
    case domain(DomainName)
    case addressLiteral(SMTPAddressLiteral)

    public var description: String {
        switch self {
        case .domain(let domain): domain.description
        case .addressLiteral(let literal): literal.description
        }
    }
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )` (RFC 5321 §4.1.2, extended to UTF-8 by RFC 6531 §3.3).
public struct SMTPMailbox: Hashable, Sendable, CustomStringConvertible {
    /// The local part with the minimum quoting: a quoted string whose content is a valid dot-string is unquoted
    /// (RFC 5321 §4.1.2: "all quoted forms MUST be treated as equivalent").
    public let localPart: String
    /// The local part with quoting and quoted-pairs removed: what the relay-trick checks look at.
    public let unquotedLocalPart: String
    public let host: SMTPHost

    public init(localPart: String, unquotedLocalPart: String, host: SMTPHost) {
        self.localPart = localPart
        self.unquotedLocalPart = unquotedLocalPart
        self.host = host
    }

    public var description: String { "\(localPart)@\(host)" }
    public var isQuoted: Bool { localPart.hasPrefix("\"") }
    /// True when the mailbox needs SMTPUTF8 to be transmitted (RFC 6531 §3.4).
    public var isASCII: Bool { description.utf8.allSatisfy { $0 < 0x80 } }

    /// The mailbox as a MailCore address; nil for address literals.
    public var emailAddress: EmailAddress? {
        guard case .domain(let domain) = host else { return nil }
        return EmailAddress(localPart: localPart, domain: domain)
    }
}

/// `Path = "<" [ A-d-l ":" ] Mailbox ">"`. The source route is kept only so policy can refuse it; it is never used for
/// routing (RFC 5321 §4.1.1.3, Appendix C: "SHOULD be ignored").
public struct SMTPPath: Hashable, Sendable, CustomStringConvertible {
    public let sourceRoute: [DomainName]
    public let mailbox: SMTPMailbox

    public init(sourceRoute: [DomainName] = [], mailbox: SMTPMailbox) {
        self.sourceRoute = sourceRoute
        self.mailbox = mailbox
    }

    /// The wire form without the source route: `<local@domain>`.
    public var description: String { "<\(mailbox)>" }
}

/// Why a path did not parse.
public enum SMTPPathError: Error, Hashable, Sendable {
    /// The path does not match the grammar.
    case syntax
    /// `<user@other@local>`: a second `@` where `>` belongs — a relay trick rather than an honest typo.
    case multipleAtSigns
    /// Local part over 64 octets or path over 256 octets (RFC 5321 §4.5.3.1).
    case tooLong
}

/// The grammar of RFC 5321 §4.1.2 / §4.1.3 paths, one function per rule.
enum SMTPPathGrammar {
    static let maximumPathOctets = 256
    static let maximumLocalPartOctets = 64

    // Reverse-path   = Path / "<>"
    static func parseReversePath(_ scanner: inout SMTPScanner) throws(SMTPPathError) -> SMTPPath? {
        let start = scanner.position
        if scanner.take("<"), scanner.take(">") { return nil }
        scanner.position = start
        return try parsePath(&scanner)
    }

    // Path           = "<" [ A-d-l ":" ] Mailbox ">"
    static func parsePath(_ scanner: inout SMTPScanner) throws(SMTPPathError) -> SMTPPath {
        let start = scanner.position
        guard scanner.take("<") else { throw .syntax }
        let route = scanner.attempt { s -> [DomainName]? in
            guard let route = parseADL(&s), s.take(":") else { return nil }
            return route
        } ?? []
        let mailbox = try parseMailbox(&scanner)
        guard scanner.take(">") else {
            if scanner.peek == UInt8(ascii: "@") { throw .multipleAtSigns }
            throw .syntax
        }
        guard scanner.position - start <= maximumPathOctets else { throw .tooLong }
        return SMTPPath(sourceRoute: route, mailbox: mailbox)
    }

    // A-d-l          = At-domain *( "," At-domain )
    // At-domain      = "@" Domain
    static func parseADL(_ scanner: inout SMTPScanner) -> [DomainName]? {
        var route: [DomainName] = []
        repeat {
            guard scanner.take("@"), let domain = parseDomain(&scanner) else { return nil }
            route.append(domain)
        } while scanner.take(",")
        return route
    }

    // Mailbox        = Local-part "@" ( Domain / address-literal )
    static func parseMailbox(_ scanner: inout SMTPScanner) throws(SMTPPathError) -> SMTPMailbox {
        guard let (written, unquoted) = parseLocalPart(&scanner) else { throw .syntax }
        guard written.utf8.count <= maximumLocalPartOctets || written.utf8.contains(where: { $0 >= 0x80 }) else { throw .tooLong }
        guard scanner.take("@") else { throw .syntax }
        let host: SMTPHost
        if let literal = scanner.attempt(parseAddressLiteral) {
            host = .addressLiteral(literal)
        } else if let domain = parseDomain(&scanner) {
            host = .domain(domain)
        } else {
            throw .syntax
        }
        return SMTPMailbox(localPart: written, unquotedLocalPart: unquoted, host: host)
    }

    // Local-part     = Dot-string / Quoted-string
    /// Returns the local part in minimum-quoting form and its unquoted content.
    static func parseLocalPart(_ scanner: inout SMTPScanner) -> (String, String)? {
        if scanner.peek == UInt8(ascii: "\"") {
            guard let content = scanner.attempt(parseQuotedString) else { return nil }
            if !content.isEmpty, isDotString(Array(content.utf8)) { return (content, content) }
            return (quote(content), content)
        }
        guard let dotString = scanner.attempt(parseDotString) else { return nil }
        return (dotString, dotString)
    }

    // Dot-string     = Atom *("."  Atom)
    static func parseDotString(_ scanner: inout SMTPScanner) -> String? {
        let start = scanner.position
        repeat {
            guard parseAtom(&scanner) else { return nil }
        } while scanner.take(".")
        return String(ascii: scanner.bytes[start..<scanner.position])
    }

    // Atom           = 1*atext      ; atext =/ UTF8-non-ascii (RFC 6531 §3.3)
    static func parseAtom(_ scanner: inout SMTPScanner) -> Bool {
        !scanner.takeWhile { $0 >= 0x80 || EmailAddress.isAtext($0) }.isEmpty
    }

    static func isDotString(_ bytes: [UInt8]) -> Bool {
        var scanner = SMTPScanner(bytes)
        return parseDotString(&scanner) != nil && scanner.isAtEnd
    }

    // Quoted-string  = DQUOTE *QcontentSMTP DQUOTE
    // QcontentSMTP   = qtextSMTP / quoted-pairSMTP
    // quoted-pairSMTP  = %d92 %d32-126
    // qtextSMTP      = %d32-33 / %d35-91 / %d93-126      ; =/ UTF8-non-ascii (RFC 6531 §3.3)
    /// Returns the unquoted content.
    static func parseQuotedString(_ scanner: inout SMTPScanner) -> String? {
        guard scanner.take("\"") else { return nil }
        var content: [UInt8] = []
        while let byte = scanner.peek {
            scanner.position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: content, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let next = scanner.peek, (32...126).contains(next) else { return nil }
                scanner.position += 1
                content.append(next)
            case 32...126, 0x80...0xFF:
                content.append(byte)
            default:
                return nil
            }
        }
        return nil
    }

    static func quote(_ content: String) -> String {
        var out = "\""
        for character in content {
            if character == "\"" || character == "\\" { out.append("\\") }
            out.append(character)
        }
        return out + "\""
    }

    // Domain         = sub-domain *("." sub-domain)
    // sub-domain     = Let-dig [Ldh-str]        ; =/ U-label (RFC 6531 §3.3)
    // Ldh-str        = *( ALPHA / DIGIT / "-" ) Let-dig
    static func parseDomain(_ scanner: inout SMTPScanner) -> DomainName? {
        scanner.attempt { s -> DomainName? in
            let start = s.position
            repeat {
                let label = s.takeWhile { isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "-") || $0 >= 0x80 }
                guard let first = label.first, let last = label.last, first != UInt8(ascii: "-"), last != UInt8(ascii: "-")
                else { return nil }
            } while s.take(".")
            return DomainName(String(ascii: s.bytes[start..<s.position]))
        }
    }

    // address-literal  = "[" ( IPv4-address-literal / IPv6-address-literal / General-address-literal ) "]"
    // General-address-literal  = Standardized-tag ":" 1*dcontent
    // dcontent       = %d33-90 / %d94-126
    static func parseAddressLiteral(_ scanner: inout SMTPScanner) -> SMTPAddressLiteral? {
        guard scanner.take("[") else { return nil }
        let body = scanner.takeWhile { (33...90).contains($0) || (94...126).contains($0) }
        guard scanner.take("]") else { return nil }
        let text = String(ascii: body)
        if isIPv4Literal(Array(body)) { return .ipv4(text) }
        if text.lowercased().hasPrefix("ipv6:") {
            let address = String(text.dropFirst(5))
            return isIPv6Address(address) ? .ipv6(address) : nil
        }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let tag = Array(text[..<colon].utf8)
        let content = text[text.index(after: colon)...]
        guard let first = tag.first, let last = tag.last, isAlpha(first) || isDigit(first), last != UInt8(ascii: "-"),
            tag.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "-") }), !content.isEmpty
        else { return nil }
        return .general(tag: String(text[..<colon]), content: String(content))
    }

    // IPv4-address-literal  = Snum 3("."  Snum)
    // Snum           = 1*3DIGIT  ; representing a decimal integer value in the range 0 through 255
    static func isIPv4Literal(_ bytes: [UInt8]) -> Bool {
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            (1...3).contains(part.count) && part.allSatisfy(isDigit) && Int(String(ascii: part))! <= 255
        }
    }

    // IPv6-addr      = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp   (RFC 5321 §4.1.3)
    static func isIPv6Address(_ text: String) -> Bool {
        let groups = text.split(separator: "::", omittingEmptySubsequences: false)
        guard groups.count <= 2 else { return false }
        let compressed = groups.count == 2
        var total = 0
        for (index, part) in groups.enumerated() where !part.isEmpty {
            var pieces = part.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            if index == groups.count - 1, let last = pieces.last, last.contains(".") {
                guard isIPv4Literal(Array(last.utf8)) else { return false }
                pieces.removeLast()
                total += 2
            }
            guard pieces.allSatisfy({ (1...4).contains($0.utf8.count) && $0.utf8.allSatisfy(isHexDigit) }) else { return false }
            total += pieces.count
        }
        return compressed ? total <= 6 : total == 8
    }
}
