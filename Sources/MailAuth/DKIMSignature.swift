import MailCore
/// A parsed DKIM-Signature field (RFC 6376 §3.5) and the data both signer and verifier hash (§3.7).
public struct DKIMSignature: Sendable, Hashable {
    /// `a=` as written (lower-cased); `algorithm` is nil for one we do not accept (rsa-sha1, RFC 8301 §3.1).
    public var algorithmName: String
    public var algorithm: DKIMAlgorithm?
    public var signature: [UInt8]
    public var bodyHash: [UInt8]
    public var canonicalization: DKIMCanonicalizationPair
    public var domain: String
    public var signedHeaders: [String]
    /// `i=`; defaults to `@d` (§3.5).
    public var identity: String
    public var bodyLength: Int?
    public var selector: String
    public var timestamp: UnixTime?
    public var expiration: UnixTime?

    public enum ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        case syntax(String)
        case missingTag(String)
        case badValue(String)
        case unsupportedVersion(String)

        public var description: String {
            switch self {
            case .syntax(let detail): "signature syntax: \(detail)"
            case .missingTag(let tag): "signature lacks the required \(tag)= tag"
            case .badValue(let tag): "signature has an invalid \(tag)= value"
            case .unsupportedVersion(let version): "signature version v=\(version) is not 1"
            }
        }
    }

    /// Parses the value of a DKIM-Signature field. Required: v=1, a, b, bh, d, h (containing From), s (§3.5, §6.1.1).
    public init(parsing value: String) throws(ParseError) {
        let tags: TagList
        do { tags = try TagList(parsing: value) } catch { throw .syntax("\(error)") }
        func required(_ name: String) throws(ParseError) -> String {
            guard let value = tags[name] else { throw .missingTag(name) }
            return value
        }
        let version = try required("v")
        guard version == "1" else { throw .unsupportedVersion(version) }
        algorithmName = try required("a").lowercased()
        algorithm = DKIMAlgorithm(rawValue: algorithmName)
        guard let signature = Base64.decode(try required("b").removingWhitespace()), !signature.isEmpty else {
            throw .badValue("b")
        }
        self.signature = signature
        guard let bodyHash = Base64.decode(try required("bh").removingWhitespace()), !bodyHash.isEmpty else {
            throw .badValue("bh")
        }
        self.bodyHash = bodyHash
        guard let canonicalization = DKIMCanonicalizationPair(tags["c"]?.removingWhitespace() ?? "simple/simple") else {
            throw .badValue("c")
        }
        self.canonicalization = canonicalization
        domain = try required("d").removingWhitespace().lowercased()
        guard !domain.isEmpty else { throw .badValue("d") }
        signedHeaders = try required("h").split(separator: ":").map { String($0.trimmingWhitespace()) }
        guard signedHeaders.contains(where: { $0.lowercased() == "from" }), !signedHeaders.contains(where: \.isEmpty) else {
            throw .badValue("h")
        }
        selector = try required("s").removingWhitespace().lowercased()
        guard !selector.isEmpty else { throw .badValue("s") }
        identity = tags["i"]?.removingWhitespace() ?? "@" + domain
        let identityDomain = identity.split(separator: "@", omittingEmptySubsequences: false).last.map { $0.lowercased() } ?? ""
        // §3.5 i=: the domain must be d= or a subdomain of it.
        guard identity.contains("@"), identityDomain == domain || identityDomain.hasSuffix("." + domain) else {
            throw .badValue("i")
        }
        func number(_ name: String) throws(ParseError) -> Int64? {
            guard let text = tags[name] else { return nil }
            guard !text.isEmpty, text.count <= 12, text.allSatisfy(\.isASCIIDigitCharacter), let value = Int64(text) else {
                throw .badValue(name)
            }
            return value
        }
        bodyLength = try number("l").map { Int($0) }
        timestamp = try number("t")
        expiration = try number("x")
        if let query = tags["q"], !query.removingWhitespace().lowercased().split(separator: ":").contains("dns/txt") {
            throw .badValue("q")
        }
        // §3.5 x=: must be greater than t=.
        if let timestamp, let expiration, expiration <= timestamp { throw .badValue("x") }
    }

    /// The domain part of `i=`.
    public var identityDomain: String {
        identity.split(separator: "@", omittingEmptySubsequences: false).last.map { $0.lowercased() } ?? domain
    }
}

extension Character {
    var isASCIIDigitCharacter: Bool { isASCII && isNumber }
}

/// The bytes a DKIM signature signs (RFC 6376 §3.7): the selected header fields canonicalized, then the
/// DKIM-Signature field itself with the value of `b=` emptied and without its final CRLF.
func dkimSignedData(fields: [RawHeaderField], signedHeaders: [String], signatureField: RawHeaderField,
                    canonicalization: DKIMCanonicalization) -> [UInt8] {
    var data: [UInt8] = []
    for field in selectHeaders(signedHeaders, from: fields) { data += canonicalization.canonicalize(header: field) }
    var stripped = signatureField
    stripped.raw = removingSignatureValue(signatureField.raw)
    var last = canonicalization.canonicalize(header: stripped)
    if last.suffix(2) == [0x0D, 0x0A] { last.removeLast(2) }
    return data + last
}

/// The raw field with everything between `b=` and the next `;` (or the end of the field, before its CRLF) removed.
/// The tag is found by name, so `bh=` is left alone (§3.7: "the value of the b= tag ... deleted").
func removingSignatureValue(_ raw: [UInt8]) -> [UInt8] {
    guard let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { return raw }
    var end = raw.count
    while end > colon + 1, raw[end - 1] == 0x0D || raw[end - 1] == 0x0A { end -= 1 }
    var specStart = colon + 1
    while specStart < end {
        let specEnd = raw[specStart..<end].firstIndex(of: UInt8(ascii: ";")) ?? end
        let spec = raw[specStart..<specEnd]
        if let equals = spec.firstIndex(of: UInt8(ascii: "=")) {
            let name = spec[specStart..<equals].filter { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D && $0 != 0x0A }
            if name == [UInt8(ascii: "b")] {
                return Array(raw[..<(equals + 1)]) + Array(raw[specEnd...])
            }
        }
        specStart = specEnd + 1
    }
    return raw
}
