import MailCore

/// An SPF record parsed into terms (RFC 7208 §4.6.1, §12).
public struct SPFRecord: Sendable, Hashable {
    public enum Qualifier: Character, Sendable, Hashable {
        case pass = "+", fail = "-", softfail = "~", neutral = "?"
    }

    public enum Mechanism: Sendable, Hashable {
        case all
        case include(SPFMacroString)
        case a(SPFMacroString?, ipv4Prefix: Int, ipv6Prefix: Int)
        case mx(SPFMacroString?, ipv4Prefix: Int, ipv6Prefix: Int)
        case ptr(SPFMacroString?)
        case ip4(IPv4Address, prefix: Int)
        case ip6(IPv6Address, prefix: Int)
        case exists(SPFMacroString)
    }

    public struct Directive: Sendable, Hashable {
        public var qualifier: Qualifier
        public var mechanism: Mechanism
        /// The term as written, for reporting which mechanism matched.
        public var text: String
    }

    public var directives: [Directive] = []
    public var redirect: SPFMacroString?
    public var explanation: SPFMacroString?

    public struct SyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
        public var term: String
        public var description: String { "invalid SPF term \"\(term)\"" }
    }

    /// ```
    /// record   = version terms *SP
    /// version  = "v=spf1"
    /// terms    = *( 1*SP ( directive / modifier ) )
    /// modifier = redirect / explanation / unknown-modifier      ; name "=" macro-string
    /// ```
    /// §4.6: any syntax error makes the whole record a permerror; unknown modifiers are ignored; `redirect` and `exp`
    /// may each appear once (§6).
    public init(parsing text: String) throws(SyntaxError) {
        let terms = text.split(separator: " ")
        guard let version = terms.first, version.lowercased() == "v=spf1" else { throw SyntaxError(term: String(terms.first ?? "")) }
        for term in terms.dropFirst() {
            let term = String(term)
            if let modifier = Self.modifier(term) {
                let value: SPFMacroString
                do { value = try SPFMacroString(parsing: modifier.value) } catch { throw SyntaxError(term: term) }
                switch modifier.name.lowercased() {
                case "redirect":
                    guard redirect == nil, value.isValidDomainSpec else { throw SyntaxError(term: term) }
                    redirect = value
                case "exp":
                    guard explanation == nil, value.isValidDomainSpec else { throw SyntaxError(term: term) }
                    explanation = value
                default:
                    continue
                }
            } else {
                directives.append(try Self.directive(term))
            }
        }
    }

    /// `name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )` followed by "=".
    static func modifier(_ term: String) -> (name: String, value: String)? {
        guard let equals = term.firstIndex(of: "=") else { return nil }
        let name = term[..<equals]
        guard let first = name.unicodeScalars.first, first.isASCIIAlpha,
              name.unicodeScalars.allSatisfy({ $0.isASCIIAlpha || $0.isASCIIDigit || "-_.".unicodeScalars.contains($0) })
        else { return nil }
        return (String(name), String(term[term.index(after: equals)...]))
    }

    /// `directive = [ qualifier ] mechanism`
    static func directive(_ term: String) throws(SyntaxError) -> Directive {
        var rest = Substring(term)
        var qualifier = Qualifier.pass
        if let first = rest.first, let explicit = Qualifier(rawValue: first) {
            qualifier = explicit
            rest = rest.dropFirst()
        }
        let nameEnd = rest.firstIndex { $0 == ":" || $0 == "/" } ?? rest.endIndex
        let name = rest[..<nameEnd].lowercased()
        let argument = rest[nameEnd...]
        let mechanism: Mechanism
        do {
            switch name {
            case "all":
                guard argument.isEmpty else { throw SyntaxError(term: term) }
                mechanism = .all
            case "include":
                mechanism = .include(try domainSpec(required: argument, term))
            case "exists":
                mechanism = .exists(try domainSpec(required: argument, term))
            case "a", "mx":
                let (spec, cidr) = try specAndCIDR(argument, term)
                mechanism = name == "a" ? .a(spec, ipv4Prefix: cidr.0, ipv6Prefix: cidr.1)
                    : .mx(spec, ipv4Prefix: cidr.0, ipv6Prefix: cidr.1)
            case "ptr":
                mechanism = .ptr(argument.isEmpty ? nil : try domainSpec(required: argument, term))
            case "ip4":
                guard argument.first == ":" else { throw SyntaxError(term: term) }
                let parts = argument.dropFirst().split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
                guard let address = IPv4Address(parts[0]) else { throw SyntaxError(term: term) }
                let prefix = parts.count == 2 ? try cidrLength(parts[1], maximum: 32, term) : 32
                mechanism = .ip4(address, prefix: prefix)
            case "ip6":
                guard argument.first == ":" else { throw SyntaxError(term: term) }
                let parts = argument.dropFirst().split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
                guard let address = IPv6Address(parts[0]) else { throw SyntaxError(term: term) }
                let prefix = parts.count == 2 ? try cidrLength(parts[1], maximum: 128, term) : 128
                mechanism = .ip6(address, prefix: prefix)
            default:
                throw SyntaxError(term: term)
            }
        }
        return Directive(qualifier: qualifier, mechanism: mechanism, text: term)
    }

    /// `":" domain-spec`
    static func domainSpec(required argument: Substring, _ term: String) throws(SyntaxError) -> SPFMacroString {
        guard argument.first == ":" else { throw SyntaxError(term: term) }
        do {
            let spec = try SPFMacroString(parsing: String(argument.dropFirst()))
            guard spec.isValidDomainSpec else { throw SyntaxError(term: term) }
            return spec
        } catch { throw SyntaxError(term: term) }
    }

    /// `[ ":" domain-spec ] [ dual-cidr-length ]`, `dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]`
    static func specAndCIDR(_ argument: Substring, _ term: String) throws(SyntaxError) -> (SPFMacroString?, (Int, Int)) {
        var spec: SPFMacroString?
        var rest = argument
        if rest.first == ":" {
            // The domain-spec ends at the first "/" (a macro-literal cannot hold one before the cidr part).
            let end = rest.firstIndex(of: "/") ?? rest.endIndex
            spec = try domainSpec(required: rest[..<end], term)
            rest = rest[end...]
        }
        var v4 = 32, v6 = 128
        if rest.hasPrefix("//") {
            v6 = try cidrLength(rest.dropFirst(2), maximum: 128, term)
        } else if rest.hasPrefix("/") {
            let parts = rest.dropFirst().split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            v4 = try cidrLength(parts[0], maximum: 32, term)
            if parts.count == 3, parts[1].isEmpty { v6 = try cidrLength(parts[2], maximum: 128, term) }
            else if parts.count != 1 { throw SyntaxError(term: term) }
        } else if !rest.isEmpty {
            throw SyntaxError(term: term)
        }
        return (spec, (v4, v6))
    }

    /// `ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT)`: no leading zeros, at most `maximum`.
    static func cidrLength(_ text: Substring, maximum: Int, _ term: String) throws(SyntaxError) -> Int {
        guard !text.isEmpty, text.count <= 3, text.allSatisfy(\.isASCIIDigitCharacter), text == "0" || text.first != "0",
              let value = Int(text), value <= maximum else { throw SyntaxError(term: term) }
        return value
    }
}
