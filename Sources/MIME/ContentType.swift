import MailCore

/// One parameter of a structured MIME header (RFC 2045 §5.1), after joining RFC 2231 continuations.
public struct MIMEParameter: Hashable, Sendable {
    /// The attribute, lower-cased; for RFC 2231 extended values the IMAP view appends `*` (see `imapName`).
    public var name: String
    /// The decoded value (RFC 2231 charset and percent-encoding applied; RFC 2047 words in quoted values decoded).
    public var value: String
    /// The value as the IMAP views report it: continuations joined, extended values still `charset'lang'%XX`.
    public var rawValue: String
    /// True when the value used RFC 2231 extended syntax (`name*=` or `name*0*=`).
    public var isExtended: Bool
    /// The RFC 2231 language tag, when given.
    public var language: String?

    public var imapName: String { isExtended ? name + "*" : name }
}

/// A parsed `Content-Type` or `Content-Disposition`-like value: a token (or `type/subtype`) and parameters.
public struct ContentType: Hashable, Sendable {
    /// Lower-cased media type (`text`), subtype (`plain`).
    public var type: String
    public var subtype: String
    public var parameters: [MIMEParameter]

    public init(type: String, subtype: String, parameters: [MIMEParameter] = []) {
        self.type = type
        self.subtype = subtype
        self.parameters = parameters
    }

    /// RFC 2045 §5.2 default: `text/plain; charset=us-ascii`.
    public static let textPlainDefault = ContentType(type: "text", subtype: "plain", parameters: [
        MIMEParameter(name: "charset", value: "us-ascii", rawValue: "us-ascii", isExtended: false),
    ])
    /// RFC 2046 §5.1.5: the default inside multipart/digest.
    public static let messageRFC822Default = ContentType(type: "message", subtype: "rfc822")

    /// The decoded value of the first parameter named `name` (case-insensitive).
    public func parameter(_ name: String) -> String? {
        let key = name.lowercased()
        return parameters.first { $0.name == key }?.value
    }

    public var isMultipart: Bool { type == "multipart" }
    /// message/rfc822 or message/global (RFC 6532 §3.7): an encapsulated message that is parsed as such.
    public var isEncapsulatedMessage: Bool { type == "message" && (subtype == "rfc822" || subtype == "global") }
    public var mimeType: String { "\(type)/\(subtype)" }

    /// Parses a Content-Type value. Returns nil when there is no `type/subtype` (RFC 2045 §5.2: then the default applies).
    ///
    ///     content   := "Content-Type" ":" type "/" subtype *(";" parameter)
    ///     parameter := attribute "=" value ; value := token / quoted-string
    public static func parse(_ value: [UInt8]) -> ContentType? {
        var scanner = ParameterScanner(bytes: HeaderField.unfold(value))
        guard let type = scanner.token(), scanner.consume(UInt8(ascii: "/")), let subtype = scanner.token(),
              !type.isEmpty, !subtype.isEmpty else { return nil }
        return ContentType(type: type.lowercased(), subtype: subtype.lowercased(), parameters: scanner.parameters())
    }
}

/// `Content-Disposition` (RFC 2183): `disposition-type *(";" disposition-parm)`.
public struct ContentDisposition: Hashable, Sendable {
    public var value: String
    public var parameters: [MIMEParameter]

    public static func parse(_ raw: [UInt8]) -> ContentDisposition? {
        var scanner = ParameterScanner(bytes: HeaderField.unfold(raw))
        guard let token = scanner.token(), !token.isEmpty else { return nil }
        return ContentDisposition(value: token.lowercased(), parameters: scanner.parameters())
    }

    public func parameter(_ name: String) -> String? {
        let key = name.lowercased()
        return parameters.first { $0.name == key }?.value
    }
}

/// A lenient scanner for RFC 2045 structured values, with RFC 2231 continuation joining.
struct ParameterScanner {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func skipCFWS() {
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A { i += 1; continue }
            if b == UInt8(ascii: "(") {
                var depth = 0
                while i < bytes.count {
                    if bytes[i] == UInt8(ascii: "\\") { i += 2; continue }
                    if bytes[i] == UInt8(ascii: "(") { depth += 1 }
                    if bytes[i] == UInt8(ascii: ")") { depth -= 1; if depth == 0 { i += 1; break } }
                    i += 1
                }
                i = min(i, bytes.count)
                continue
            }
            return
        }
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        skipCFWS()
        guard i < bytes.count, bytes[i] == byte else { return false }
        i += 1
        return true
    }

    /// token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>
    mutating func token() -> String? {
        skipCFWS()
        let start = i
        while i < bytes.count, !Self.isTSpecial(bytes[i]), bytes[i] > 0x20, bytes[i] != 0x7F { i += 1 }
        return i > start ? String(decoding: bytes[start..<i], as: UTF8.self) : nil
    }

    /// quoted-string (RFC 5322 §3.2.4), unescaped.
    mutating func quoted() -> [UInt8] {
        var out: [UInt8] = []
        i += 1
        while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
            if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count { i += 1 }
            out.append(bytes[i])
            i += 1
        }
        i = min(i + 1, bytes.count)
        return out
    }

    static func isTSpecial(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "@"), UInt8(ascii: ","),
             UInt8(ascii: ";"), UInt8(ascii: ":"), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "/"), UInt8(ascii: "["),
             UInt8(ascii: "]"), UInt8(ascii: "?"), UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }

    /// Reads `*(";" parameter)` and joins RFC 2231 §3 continuations (`name*0`, `name*1*`, …) in section order.
    mutating func parameters() -> [MIMEParameter] {
        struct Piece { var name: String; var section: Int?; var extended: Bool; var value: [UInt8] }
        var pieces: [Piece] = []
        while i < bytes.count {
            skipCFWS()
            guard i < bytes.count else { break }
            if bytes[i] == UInt8(ascii: ";") { i += 1; continue }
            let start = i
            guard let rawName = token() else { i += 1; continue }
            guard consume(UInt8(ascii: "=")) else {
                if i == start { i += 1 }
                continue
            }
            skipCFWS()
            var value: [UInt8]
            if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
                value = quoted()
            } else {
                // Lenient: an unquoted value runs to the next ";" (real mail puts spaces and specials here).
                let vs = i
                while i < bytes.count, bytes[i] != UInt8(ascii: ";") { i += 1 }
                var ve = i
                while ve > vs, bytes[ve - 1] == 0x20 || bytes[ve - 1] == 0x09 { ve -= 1 }
                value = Array(bytes[vs..<ve])
            }
            // RFC 2231: attribute [ "*" section ] [ "*" ]
            var name = rawName.lowercased()
            var extended = false
            var section: Int?
            if name.hasSuffix("*") { extended = true; name.removeLast() }
            if let star = name.lastIndex(of: "*"), let n = Int(name[name.index(after: star)...]) {
                section = n
                name = String(name[..<star])
            }
            pieces.append(Piece(name: name, section: section, extended: extended, value: value))
        }
        var result: [MIMEParameter] = []
        var done = Set<String>()
        for piece in pieces where !done.contains(piece.name) {
            let group: [Piece]
            if piece.section == nil {
                group = [piece]
            } else {
                group = pieces.filter { $0.name == piece.name && $0.section != nil }.sorted { $0.section! < $1.section! }
            }
            done.insert(piece.name)
            let anyExtended = group.contains { $0.extended }
            var raw: [UInt8] = []
            for p in group { raw += p.value }
            var decoded: String
            var language: String?
            if anyExtended {
                // RFC 2231 §4: the first (extended) section carries charset'language'; extended sections are %-encoded.
                var charset = "us-ascii"
                var bytesOut: [UInt8] = []
                for (index, p) in group.enumerated() {
                    var v = p.value[...]
                    if index == 0, p.extended {
                        let parts = v.split(separator: UInt8(ascii: "'"), maxSplits: 2, omittingEmptySubsequences: false)
                        if parts.count == 3 {
                            charset = String(decoding: parts[0], as: UTF8.self)
                            language = parts[1].isEmpty ? nil : String(decoding: parts[1], as: UTF8.self)
                            v = parts[2]
                        }
                    }
                    bytesOut += p.extended ? percentDecode(v) : Array(v)
                }
                decoded = Charset.decode(bytesOut, charset: charset)
            } else {
                decoded = EncodedWords.decode(raw)
            }
            result.append(MIMEParameter(name: piece.name, value: decoded, rawValue: String(decoding: raw, as: UTF8.self),
                                        isExtended: anyExtended, language: language))
        }
        return result
    }
}

func percentDecode(_ v: some Collection<UInt8>) -> [UInt8] {
    let a = Array(v)
    var out: [UInt8] = []
    out.reserveCapacity(a.count)
    var i = 0
    while i < a.count {
        if a[i] == UInt8(ascii: "%"), i + 2 < a.count, let h = hexValue(a[i + 1]), let l = hexValue(a[i + 2]) {
            out.append(h << 4 | l)
            i += 3
        } else {
            out.append(a[i])
            i += 1
        }
    }
    return out
}

@inline(__always) func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case 0x30...0x39: return b - 0x30
    case 0x41...0x46: return b - 0x41 + 10
    case 0x61...0x66: return b - 0x61 + 10
    default: return nil
    }
}
