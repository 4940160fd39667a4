/// The `tag=value` lists of DKIM signatures, DKIM key records and DMARC records (RFC 6376 §3.2, RFC 7489 §6.4).
public struct TagList: Sendable, Hashable {
    /// The tags in their order of appearance, names as written (tag names are case-sensitive), values with leading and
    /// trailing whitespace removed.
    public var tags: [(name: String, value: String)] {
        zip(names, values).map { ($0, $1) }
    }
    private var names: [String] = []
    private var values: [String] = []

    public enum ParseError: Error, Sendable, Hashable {
        case duplicateTag(String)
        case malformedTag(String)
    }

    /// ```
    /// tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
    /// tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
    /// tag-name  =  ALPHA *ALNUMPUNC
    /// tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
    /// tval      =  1*VALCHAR           ; VALCHAR = %x21-3A / %x3C-7E
    /// ```
    /// RFC 6376 §3.2: a tag appearing twice makes the whole list invalid. An empty spec (e.g. after a trailing `;`) is
    /// allowed.
    public init(parsing text: String) throws(ParseError) {
        for spec in text.split(separator: ";", omittingEmptySubsequences: false) {
            let trimmed = spec.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            guard let equals = trimmed.firstIndex(of: "=") else { throw .malformedTag(String(trimmed)) }
            let name = String(trimmed[..<equals].trimmingWhitespace())
            guard let first = name.unicodeScalars.first, first.isASCIIAlpha,
                  name.unicodeScalars.allSatisfy({ $0.isASCIIAlpha || $0.isASCIIDigit || $0 == "_" }) else {
                throw .malformedTag(String(trimmed))
            }
            guard !names.contains(name) else { throw .duplicateTag(name) }
            names.append(name)
            values.append(String(trimmed[trimmed.index(after: equals)...].trimmingWhitespace()))
        }
    }

    public subscript(name: String) -> String? {
        names.firstIndex(of: name).map { values[$0] }
    }

    public var firstName: String? { names.first }

    public static func == (lhs: TagList, rhs: TagList) -> Bool { lhs.names == rhs.names && lhs.values == rhs.values }
    public func hash(into hasher: inout Hasher) { hasher.combine(names); hasher.combine(values) }
}

extension StringProtocol {
    /// Without leading and trailing SP, HTAB, CR and LF (FWS).
    func trimmingWhitespace() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return self[endIndex...] }
        let end = lastIndex(where: { !isSpace($0) })!
        return self[start...end]
    }

    /// Without any SP, HTAB, CR or LF (for base64 values that may be folded: `b=`, `bh=`, `p=`).
    func removingWhitespace() -> String {
        String(filter { $0 != " " && $0 != "\t" && $0 != "\r" && $0 != "\n" && $0 != "\r\n" })
    }
}

extension Unicode.Scalar {
    var isASCIIAlpha: Bool { (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value) }
    var isASCIIDigit: Bool { (0x30...0x39).contains(value) }
}
