import MailCore

/// A macro-string (RFC 7208 §7.1), parsed; `expand(with:)` makes the text.
public struct SPFMacroString: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        case literal(String)
        /// `%{` letter transformers delimiters `}`
        case macro(letter: Character, urlEscape: Bool, keep: Int?, reverse: Bool, delimiters: [Character])
    }

    public var parts: [Part]

    public struct SyntaxError: Error, Sendable, Hashable {}

    /// ```
    /// macro-string = *( macro-expand / macro-literal )
    /// macro-expand = ( "%{" macro-letter transformers *delimiter "}" ) / "%%" / "%_" / "%-"
    /// macro-literal = %x21-24 / %x26-7E
    /// macro-letter = "s" / "l" / "o" / "d" / "i" / "p" / "h" / "c" / "r" / "t" / "v"
    /// transformers = *DIGIT [ "r" ]
    /// delimiter    = "." / "-" / "+" / "," / "/" / "_" / "="
    /// ```
    /// Explanation strings (§6.2) may also hold spaces; `allowSpaces` admits them.
    public init(parsing text: String, allowSpaces: Bool = false) throws(SyntaxError) {
        var parts: [Part] = []
        var literal = ""
        var index = text.startIndex
        func flush() { if !literal.isEmpty { parts.append(.literal(literal)); literal = "" } }
        while index < text.endIndex {
            let character = text[index]
            guard character == "%" else {
                guard let ascii = character.asciiValue, (0x21...0x7E).contains(ascii) || (allowSpaces && ascii == 0x20) else {
                    throw SyntaxError()
                }
                literal.append(character)
                index = text.index(after: index)
                continue
            }
            let next = text.index(after: index)
            guard next < text.endIndex else { throw SyntaxError() }
            switch text[next] {
            case "%": literal.append("%"); index = text.index(after: next)
            case "_": literal.append(" "); index = text.index(after: next)
            case "-": literal.append("%20"); index = text.index(after: next)
            case "{":
                guard let close = text[next...].firstIndex(of: "}") else { throw SyntaxError() }
                var body = text[text.index(after: next)..<close]
                guard let letter = body.first, "slodiphcrtv".contains(letter.lowercased()) else { throw SyntaxError() }
                body = body.dropFirst()
                let digits = body.prefix { $0.isASCIIDigitCharacter }
                body = body.dropFirst(digits.count)
                var keep: Int?
                if !digits.isEmpty {
                    guard let value = Int(digits.prefix(4)), value > 0 else { throw SyntaxError() }
                    keep = value
                }
                var reverse = false
                if body.first == "r" || body.first == "R" { reverse = true; body = body.dropFirst() }
                guard body.allSatisfy({ ".-+,/_=".contains($0) }) else { throw SyntaxError() }
                flush()
                parts.append(.macro(letter: Character(letter.lowercased()), urlEscape: letter.isUppercase, keep: keep,
                                    reverse: reverse, delimiters: Array(body)))
                index = text.index(after: close)
            default:
                throw SyntaxError()
            }
        }
        flush()
        self.parts = parts
    }

    /// `domain-end = ( "." toplabel [ "." ] ) / macro-expand`, with
    /// `toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )` (§7.1).
    var isValidDomainSpec: Bool {
        guard let last = parts.last else { return false }
        guard case .literal(let text) = last else { return true }
        var labels = text.split(separator: ".", omittingEmptySubsequences: false)
        if labels.count >= 2, labels.last?.isEmpty == true { labels.removeLast() }
        guard parts.count > 1 || labels.count >= 2, let top = labels.last, !top.isEmpty else { return false }
        let alphanumeric = top.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        let hasLetter = top.contains { $0.isASCII && $0.isLetter }
        return alphanumeric && top.first != "-" && top.last != "-" && (hasLetter || top.contains("-"))
    }

    /// The values macros stand for (§7.2).
    public struct Context: Sendable {
        public var sender: String
        public var domain: String
        public var ip: IPAddress
        public var helo: String
        /// `%{p}`: the validated name, looked up only when a macro asks for it.
        public var validatedName: String?
        public var receivingHost: String
        public var now: UnixTime

        public var localPart: String {
            guard let at = sender.lastIndex(of: "@") else { return "postmaster" }
            let local = sender[..<at]
            return local.isEmpty ? "postmaster" : String(local)
        }

        public var senderDomain: String {
            guard let at = sender.lastIndex(of: "@") else { return sender }
            return String(sender[sender.index(after: at)...])
        }
    }

    var usesValidatedName: Bool {
        parts.contains { if case .macro(let letter, _, _, _, _) = $0 { letter == "p" } else { false } }
    }

    /// Expands every macro (§7.3, §7.4). `c`, `r`, `t` are only allowed in explanations; elsewhere they expand as for
    /// explanations too (a record using them is not worth a permerror).
    public func expand(with context: Context) -> String {
        var output = ""
        for part in parts {
            switch part {
            case .literal(let text):
                output += text
            case .macro(let letter, let urlEscape, let keep, let reverse, let delimiters):
                var value = Self.value(of: letter, context)
                let separators = delimiters.isEmpty ? ["."] : delimiters
                var pieces = value.split(omittingEmptySubsequences: false) { separators.contains($0) }.map(String.init)
                if reverse { pieces.reverse() }
                if let keep, keep < pieces.count { pieces = Array(pieces.suffix(keep)) }
                value = pieces.joined(separator: ".")
                output += urlEscape ? Self.urlEscaped(value) : value
            }
        }
        return output
    }

    static func value(of letter: Character, _ context: Context) -> String {
        switch letter {
        case "s": return context.sender
        case "l": return context.localPart
        case "o": return context.senderDomain
        case "d": return context.domain
        case "i":
            switch context.ip {
            case .v4(let address): return address.description
            case .v6(let address): return address.bytes.flatMap { [$0 >> 4, $0 & 0xF] }.map { String($0, radix: 16) }
                .joined(separator: ".")
            }
        case "p": return context.validatedName ?? "unknown"
        case "v": if case .v4 = context.ip { return "in-addr" } else { return "ip6" }
        case "h": return context.helo
        case "c": return context.ip.description
        case "r": return context.receivingHost
        case "t": return String(context.now)
        default: return ""
        }
    }

    /// RFC 3986 unreserved characters kept, everything else as %XX.
    static func urlEscaped(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if scalar.isASCIIAlpha || scalar.isASCIIDigit || "-._~".unicodeScalars.contains(scalar) {
                output.unicodeScalars.append(scalar)
            } else {
                output += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return output
    }
}
