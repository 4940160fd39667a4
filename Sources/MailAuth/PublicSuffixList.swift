import MailCore

/// The Public Suffix List (Mozilla's `public_suffix_list.dat` format) and organizational domains (RFC 7489 §3.2).
///
/// The caller reads the file (Debian: /usr/share/publicsuffix/public_suffix_list.dat) and passes its text. Rules are
/// kept in A-label (punycode) form, as domains arrive from DNS and SMTP.
public struct PublicSuffixList: Sendable {
    private var rules: Set<String> = []
    private var wildcards: Set<String> = []
    private var exceptions: Set<String> = []

    /// One rule per line; `//` starts a comment line; only the text up to the first whitespace counts; `*.` marks a
    /// wildcard rule and `!` an exception (https://publicsuffix.org/list/ format).
    public init(parsing text: String) {
        for line in text.split(whereSeparator: \.isNewline) {
            guard let rule = line.split(whereSeparator: \.isWhitespace).first, !rule.hasPrefix("//") else { continue }
            var name = String(rule).lowercased()
            if name.hasPrefix("!") {
                name.removeFirst()
                exceptions.insert(Self.ascii(name))
            } else if name.hasPrefix("*.") {
                name.removeFirst(2)
                wildcards.insert(Self.ascii(name))
            } else {
                rules.insert(Self.ascii(name))
            }
        }
    }

    public var isEmpty: Bool { rules.isEmpty && wildcards.isEmpty && exceptions.isEmpty }

    static func ascii(_ name: String) -> String {
        name.allSatisfy(\.isASCII) ? name : (Punycode.asciiDomain(name) ?? name)
    }

    /// The public suffix of a domain by the PSL algorithm: an exception rule wins; else the longest matching rule;
    /// else the last label (the implicit `*` rule).
    public func publicSuffix(of domain: String) -> String {
        var name = Self.ascii(domain.lowercased())
        if name.hasSuffix(".") { name.removeLast() }
        let labels = name.split(separator: ".").map(String.init)
        guard !labels.isEmpty else { return name }
        var best = 1
        for count in 1...labels.count {
            let candidate = labels.suffix(count).joined(separator: ".")
            if exceptions.contains(candidate) { return labels.suffix(count - 1).joined(separator: ".") }
            if rules.contains(candidate) { best = max(best, count) }
            if count < labels.count, wildcards.contains(candidate) { best = max(best, count + 1) }
        }
        return labels.suffix(best).joined(separator: ".")
    }

    /// RFC 7489 §3.2: the public suffix plus one label. A domain that is itself a public suffix is its own
    /// organizational domain.
    public func organizationalDomain(of domain: String) -> String {
        var name = Self.ascii(domain.lowercased())
        if name.hasSuffix(".") { name.removeLast() }
        let labels = name.split(separator: ".").map(String.init)
        let suffixCount = publicSuffix(of: name).split(separator: ".").count
        guard labels.count > suffixCount else { return name }
        return labels.suffix(suffixCount + 1).joined(separator: ".")
    }
}
