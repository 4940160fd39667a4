/// The Authentication-Results header field (RFC 8601): building ours, and finding fields that claim our authserv-id
/// (which arrived from outside and must be removed, §5).
public struct AuthenticationResults: Sendable, Hashable {
    /// Our authserv-id, normally the host name.
    public var authservID: String
    public var dkim: [DKIMResult]
    public var spf: [SPFResult]
    public var dmarc: DMARCResult?

    public init(authservID: String, dkim: [DKIMResult] = [], spf: [SPFResult] = [], dmarc: DMARCResult? = nil) {
        self.authservID = authservID
        self.dkim = dkim
        self.spf = spf
        self.dmarc = dmarc
    }

    /// ```
    /// authres-header = "Authentication-Results:" [CFWS] authserv-id [ CFWS authres-version ]
    ///                  ( no-result / 1*resinfo ) [CFWS] CRLF
    /// resinfo = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
    /// ```
    /// One resinfo per line. No DKIM signatures gives `dkim=none`; nothing at all gives `; none`.
    public var headerField: String {
        var results: [String] = []
        if dkim.isEmpty, !spf.isEmpty || dmarc != nil { results.append("dkim=none") }
        for result in dkim {
            var text = "dkim=\(result.status.rawValue)" + Self.reason(result.reason)
            if !result.domain.isEmpty { text += " header.d=\(Self.value(result.domain))" }
            if !result.selector.isEmpty { text += " header.s=\(Self.value(result.selector))" }
            if !result.algorithm.isEmpty { text += " header.a=\(Self.value(result.algorithm))" }
            if !result.signaturePrefix.isEmpty { text += " header.b=\(Self.value(result.signaturePrefix))" }
            results.append(text)
        }
        for result in spf {
            let property = result.identity == .helo ? "smtp.helo" : "smtp.mailfrom"
            let value = result.identity == .helo ? result.domain : result.sender
            results.append("spf=\(result.status.rawValue)" + Self.reason(result.reason ?? result.mechanism.map { "matched \($0)" })
                           + " \(property)=\(Self.value(value))")
        }
        if let dmarc {
            var text = "dmarc=\(dmarc.status.rawValue)" + Self.reason(dmarc.reason)
            if let policy = dmarc.requestedPolicy, dmarc.status == .fail { text += " policy.dmarc=\(policy.rawValue)" }
            text += " header.from=\(Self.value(dmarc.fromDomain))"
            results.append(text)
        }
        if results.isEmpty { return "Authentication-Results: \(authservID); none\r\n" }
        return "Authentication-Results: \(authservID);\r\n\t" + results.joined(separator: ";\r\n\t") + "\r\n"
    }

    /// `reasonspec = "reason" [CFWS] "=" [CFWS] value`, always quoted.
    static func reason(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "" }
        let cleaned = text.filter { $0 != "\r" && $0 != "\n" }
            .replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
        return " reason=\"\(cleaned)\""
    }

    /// A pvalue: as is when it is a token or a `local@domain` / domain (RFC 8601 §2.2), else a quoted-string.
    static func value(_ text: String) -> String {
        let special = Set("()<>,;:\\\"[]? =")
        let plain = !text.isEmpty && text.allSatisfy { $0.isASCII && !$0.isWhitespace && !special.contains($0) && $0 != "\u{7F}" }
            && text.unicodeScalars.allSatisfy { $0.value > 0x20 }
        if plain { return text }
        return "\"" + text.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
    }

    /// The byte ranges, in `header` (a raw header block or a whole message), of the Authentication-Results fields whose
    /// authserv-id equals `authservID` (case-insensitively), each range including the field's final CRLF — to be
    /// removed from mail that arrives from outside (§5).
    public static func fieldsClaiming(authservID: String, in header: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var offset = 0
        for field in RawMessage(header).fields {
            defer { offset += field.raw.count }
            guard field.lowercasedName == "authentication-results" else { continue }
            let value = String(decoding: field.raw.drop { $0 != UInt8(ascii: ":") }.dropFirst(), as: UTF8.self)
            if let id = Self.authservID(of: value), id.lowercased() == authservID.lowercased() {
                ranges.append(offset..<offset + field.raw.count)
            }
        }
        return ranges
    }

    /// The message without the fields `fieldsClaiming` finds. (The input must have CRLF line ends for the ranges to
    /// match; messages from SMTP do.)
    public static func removingFields(claiming authservID: String, from message: [UInt8]) -> [UInt8] {
        var output = message
        for range in fieldsClaiming(authservID: authservID, in: message).reversed() where range.upperBound <= output.count {
            output.removeSubrange(range)
        }
        return output
    }

    /// `[CFWS] authserv-id` where `authserv-id = value` (a token or a quoted-string); comments are skipped.
    static func authservID(of value: String) -> String? {
        var characters = Substring(value)
        func skipCFWS() {
            while let first = characters.first {
                if first.isWhitespace { characters.removeFirst(); continue }
                if first == "(" {
                    var depth = 0
                    while let next = characters.first {
                        characters.removeFirst()
                        if next == "\\" { if !characters.isEmpty { characters.removeFirst() }; continue }
                        if next == "(" { depth += 1 }
                        if next == ")" { depth -= 1; if depth == 0 { break } }
                    }
                    continue
                }
                return
            }
        }
        skipCFWS()
        if characters.first == "\"" {
            characters.removeFirst()
            var id = ""
            while let next = characters.first {
                characters.removeFirst()
                if next == "\"" { return id }
                if next == "\\", let escaped = characters.first { characters.removeFirst(); id.append(escaped); continue }
                id.append(next)
            }
            return nil
        }
        let id = characters.prefix { !$0.isWhitespace && $0 != ";" && $0 != "(" }
        return id.isEmpty ? nil : String(id)
    }
}
