/// An MTA-STS policy (RFC 8461 §3.2), served at `https://mta-sts.<domain>/.well-known/mta-sts.txt`, and its policy id
/// for the `_mta-sts.<domain>` TXT record (RFC 8461 §3.1: "v=STSv1; id=…").
public struct MTASTSPolicy: Sendable, Equatable {
    /// RFC 8461 §5: `enforce` refuses delivery without a valid TLS connection to a listed MX, `testing` only reports.
    public enum Mode: String, Sendable, CaseIterable {
        case testing, enforce, none
    }

    public var mode: Mode
    /// MX host names or wildcard patterns (`*.example.net`, §4.1) senders may deliver to.
    public var mx: [String]
    /// Seconds senders cache the policy (§3.2: at most 31557600). Default one week.
    public var maxAge: Int

    public static let defaultMaxAge = 604_800
    public static let maximumMaxAge = 31_557_600

    public init(mode: Mode = .testing, mx: [String], maxAge: Int = MTASTSPolicy.defaultMaxAge) {
        self.mode = mode
        self.mx = mx
        self.maxAge = min(max(0, maxAge), Self.maximumMaxAge)
    }

    /// The policy file (§3.2), CRLF line ends:
    /// ```
    /// sts-policy-record = *WSP sts-policy-field *WSP *(sts-policy-term *WSP sts-policy-field *WSP) [sts-policy-term]
    /// sts-policy-field  = sts-policy-version / sts-policy-mode / sts-policy-max-age / sts-policy-mx / sts-policy-extension
    /// ```
    public var text: String {
        var lines = ["version: STSv1", "mode: \(mode.rawValue)"]
        lines += mx.map { "mx: \($0)" }
        lines.append("max_age: \(maxAge)")
        return lines.map { $0 + "\r\n" }.joined()
    }

    /// The policy id (§3.1: `sts-id = 1*32(ALPHA / DIGIT)`): the first 32 hex digits of the SHA-256 of the policy text,
    /// so the TXT record changes exactly when the policy does.
    public var id: String { String(Hashing.sha256Hex(Array(text.utf8)).prefix(32)) }

    /// The TXT record value for `_mta-sts.<domain>` (§3.1).
    public var txtRecord: String { "v=STSv1; id=\(id)" }
}
