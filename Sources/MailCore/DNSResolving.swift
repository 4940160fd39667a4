/// The DNS lookups mail needs (MX routing, SPF, DKIM, DMARC, DANE, reverse DNS), as a protocol so that pure modules
/// (MailAuth) and Delivery take a resolver as a parameter. The real implementation is `DNSResolver` in the DNS module;
/// tests describe DNS as data with a fake.

/// A DNS lookup that did not produce records. The cases keep apart what SPF (RFC 7208 §5, §2.6) and DMARC must tell
/// apart: a name that does not exist or has no such records (a definite answer: "none"), and a lookup that could not be
/// completed (try again later: "temperror").
public enum DNSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// NXDOMAIN (RCODE 3): the name does not exist. Permanent.
    case nameNotFound
    /// NOERROR but no records of the requested type ("NODATA"). Permanent.
    case noData
    /// SERVFAIL, REFUSED or another error RCODE from every server tried. Temporary.
    case serverFailure(String)
    /// No answer from any server before the deadline. Temporary.
    case timeout
    /// A response that does not parse, or does not answer the question asked. Temporary: another server or a later try
    /// may do better.
    case malformedResponse(String)
    /// The name cannot be put in a query (label over 63 octets, name over 255, non-ASCII label). Permanent.
    case invalidName(String)

    /// True when a later retry may succeed: SPF `temperror`, SMTP 4xx.
    public var isTemporary: Bool {
        switch self {
        case .serverFailure, .timeout, .malformedResponse: true
        case .nameNotFound, .noData, .invalidName: false
        }
    }

    /// True for the two definite "nothing there" answers (NXDOMAIN and NODATA), which SPF and DMARC treat as "none".
    public var isNoRecords: Bool { self == .nameNotFound || self == .noData }

    public var description: String {
        switch self {
        case .nameNotFound: "name not found (NXDOMAIN)"
        case .noData: "no records of that type"
        case .serverFailure(let detail): "server failure: \(detail)"
        case .timeout: "timed out"
        case .malformedResponse(let detail): "malformed response: \(detail)"
        case .invalidName(let name): "invalid name: \(name)"
        }
    }
}

/// An MX record (RFC 1035 §3.3.9). `exchange` is lower-cased without the trailing dot; the empty string is the root,
/// which a null MX (RFC 7505) uses to say "no mail here".
public struct MXRecord: Sendable, Hashable {
    public var preference: UInt16
    public var exchange: String

    public init(preference: UInt16, exchange: String) {
        self.preference = preference
        self.exchange = exchange
    }

    /// RFC 7505 §3: preference 0 and exchange ".".
    public var isNullMX: Bool { exchange.isEmpty }
}

/// A TLSA record (RFC 6698 §2.1) for DANE (RFC 7672).
public struct TLSARecord: Sendable, Hashable {
    public var certificateUsage: UInt8
    public var selector: UInt8
    public var matchingType: UInt8
    public var certificateAssociationData: [UInt8]

    public init(certificateUsage: UInt8, selector: UInt8, matchingType: UInt8, certificateAssociationData: [UInt8]) {
        self.certificateUsage = certificateUsage
        self.selector = selector
        self.matchingType = matchingType
        self.certificateAssociationData = certificateAssociationData
    }
}

/// TLSA records together with the resolver's DNSSEC verdict: DANE may use them only when `isAuthenticated` (the AD bit
/// from a validating resolver we trust, RFC 7672 §2.2).
public struct TLSAAnswer: Sendable, Hashable {
    public var records: [TLSARecord]
    public var isAuthenticated: Bool

    public init(records: [TLSARecord], isAuthenticated: Bool) {
        self.records = records
        self.isAuthenticated = isAuthenticated
    }
}

/// An IPv4 address as four octets in network order.
public struct IPv4Address: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) { bytes = [a, b, c, d] }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        self.bytes = Array(bytes)
    }

    /// Dotted-quad `192.0.2.1`: four decimal numbers 0…255 without leading zeros.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var values: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  part == "0" || part.first != "0", let value = UInt8(part) else { return nil }
            values.append(value)
        }
        self.init(bytes: values)
    }

    public var description: String { bytes.map(String.init).joined(separator: ".") }
}

/// An IPv6 address as sixteen octets in network order.
public struct IPv6Address: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        self.bytes = Array(bytes)
    }

    /// RFC 4291 §2.2 text forms, including `::` and an embedded dotted quad (`::ffff:192.0.2.1`).
    public init?(_ text: some StringProtocol) {
        let text = String(text)
        var head: [UInt16] = [], tail: [UInt16] = []
        let halves = text.splitAtIPv6Gap()
        guard halves.count <= 2 else { return nil }
        let sawGap = halves.count == 2
        func groups(_ part: Substring, allowIPv4: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if allowIPv4, index == pieces.count - 1, piece.contains("."), let v4 = IPv4Address(piece) {
                    let b = v4.bytes
                    result += [UInt16(b[0]) << 8 | UInt16(b[1]), UInt16(b[2]) << 8 | UInt16(b[3])]
                } else {
                    guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                    result.append(value)
                }
            }
            return result
        }
        guard let first = groups(halves[0], allowIPv4: !sawGap) else { return nil }
        head = first
        if sawGap {
            guard let second = groups(halves[1], allowIPv4: true) else { return nil }
            tail = second
            guard head.count + tail.count <= 7 else { return nil }
        } else {
            guard head.count == 8 else { return nil }
        }
        let words = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        self.bytes = words.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    /// RFC 5952 canonical text: lower case, no leading zeros, the longest run of two or more zero groups as `::`.
    public var description: String {
        let words = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var bestStart = -1, bestLength = 1, runStart = -1
        for index in 0...8 {
            if index < 8 && words[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { bestStart = runStart; bestLength = index - runStart }
                runStart = -1
            }
        }
        let hex = words.map { String($0, radix: 16) }
        guard bestStart >= 0 else { return hex.joined(separator: ":") }
        return hex[..<bestStart].joined(separator: ":") + "::" + hex[(bestStart + bestLength)...].joined(separator: ":")
    }
}

extension String {
    /// Splits an IPv6 text at its `::` (at most one is valid; more yields three or more parts).
    fileprivate func splitAtIPv6Gap() -> [Substring] {
        var parts: [Substring] = []
        var rest = self[...]
        while let range = rest.firstRange(of: "::") {
            parts.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        parts.append(rest)
        return parts
    }
}

/// An IP address of either family.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) { self = .v4(v4) } else if let v6 = IPv6Address(text) { self = .v6(v6) } else { return nil }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }

    /// The name a PTR query asks for (RFC 1035 §3.5 `in-addr.arpa`, RFC 3596 §2.5 `ip6.arpa`).
    public var reverseLookupName: String {
        switch self {
        case .v4(let address):
            return address.bytes.reversed().map(String.init).joined(separator: ".") + ".in-addr.arpa"
        case .v6(let address):
            let nibbles = address.bytes.flatMap { [$0 >> 4, $0 & 0xF] }
            return nibbles.reversed().map { String($0, radix: 16) }.joined(separator: ".") + ".ip6.arpa"
        }
    }
}

/// The lookups mail needs. Each throws `DNSError` for every outcome without records, including NODATA, so that callers
/// see "none" versus "temporary" in the type (SPF `none`/`temperror`, RFC 7208 §4.4).
public protocol DNSResolving: Sendable {
    /// MX records in the order received (`MailExchangers` in the DNS module sorts and applies RFC 5321 §5.1).
    func mx(_ domain: DomainName) async throws(DNSError) -> [MXRecord]
    /// TXT records, each one's character-strings concatenated without separators (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
    func txt(_ name: DomainName) async throws(DNSError) -> [String]
    func a(_ name: DomainName) async throws(DNSError) -> [IPv4Address]
    func aaaa(_ name: DomainName) async throws(DNSError) -> [IPv6Address]
    /// Names from the PTR records of `address`'s reverse name, lower-cased without the trailing dot.
    func ptr(_ address: IPAddress) async throws(DNSError) -> [String]
    /// TLSA records for e.g. `_25._tcp.mx.example.com` (RFC 7672 §2.2), with the DNSSEC verdict.
    func tlsa(_ name: DomainName) async throws(DNSError) -> TLSAAnswer
}
