/// A mailbox name as the user sees it (Unicode), with the hierarchy separator `/`.
///
/// RFC 9051 §5.1 / RFC 3501 §5.1: `INBOX` is case-insensitive, so any spelling of it is stored as `INBOX`, also as the
/// first component of a child's name (`inbox/child` is `INBOX/child`, as Dovecot and Cyrus treat it, and as LIST
/// patterns are matched). On the wire the name is modified
/// UTF-7 (RFC 3501 §5.1.3) unless the client enabled IMAP4rev2 or UTF8=ACCEPT, which send UTF-8 as is.
public struct MailboxName: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let name: String
    /// The wire form was not valid modified UTF-7, so no mailbox can have this name; `name` is the wire text as sent.
    /// Only SELECT and EXAMINE accept such a name (and answer NO, as for any name that does not exist).
    public let isUndecodable: Bool

    public init(_ name: String) {
        let first = name.prefix { $0 != Self.separator }
        self.name = first.count == 5 && first.lowercased() == "inbox" ? "INBOX" + name.dropFirst(5) : name
        self.isUndecodable = false
    }

    private init(undecodable wireText: String) {
        self.name = wireText
        self.isUndecodable = true
    }

    public static let inbox = MailboxName("INBOX")
    public static let separator: Character = "/"

    public var isInbox: Bool { name == "INBOX" }
    public var description: String { name }
    public var components: [Substring] { name.split(separator: Self.separator, omittingEmptySubsequences: false) }

    public static func < (lhs: MailboxName, rhs: MailboxName) -> Bool { lhs.name < rhs.name }

    /// The name as sent on the wire: UTF-8 after ENABLE IMAP4rev2 / UTF8=ACCEPT, modified UTF-7 before.
    public func wireForm(utf8Enabled: Bool) -> String {
        utf8Enabled || isUndecodable ? name : ModifiedUTF7.encode(name)
    }

    /// Decodes a name received on the wire, keeping one that is not valid modified UTF-7 as an undecodable name
    /// (`isUndecodable`) instead of failing.
    public static func decodingLeniently(wire bytes: [UInt8], utf8Enabled: Bool) throws(IMAPSyntaxError) -> MailboxName {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw IMAPSyntaxError("mailbox name is not UTF-8") }
        if utf8Enabled { return MailboxName(text) }
        guard let decoded = ModifiedUTF7.decode(text) else { return MailboxName(undecodable: text) }
        return MailboxName(decoded)
    }

    /// Decodes a name received on the wire. Before UTF-8 is enabled, `&…-` runs are modified UTF-7; raw UTF-8 is accepted too.
    public init(wire bytes: [UInt8], utf8Enabled: Bool) throws(IMAPSyntaxError) {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw IMAPSyntaxError("mailbox name is not UTF-8") }
        if utf8Enabled {
            self.init(text)
        } else {
            guard let decoded = ModifiedUTF7.decode(text) else {
                throw IMAPSyntaxError("mailbox name is not valid modified UTF-7")
            }
            self.init(decoded)
        }
    }
}

/// Modified UTF-7 (RFC 3501 §5.1.3): printable ASCII stands for itself except "&", written "&-"; any other run of
/// characters is "&" + modified BASE64 (with "," for "/", no padding) of its UTF-16BE form + "-".
public enum ModifiedUTF7 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    public static func encode(_ text: String) -> String {
        var output: [UInt8] = []
        var pending: [UInt16] = []
        func flush() {
            guard !pending.isEmpty else { return }
            output.append(UInt8(ascii: "&"))
            var bytes: [UInt8] = []
            for unit in pending { bytes.append(UInt8(unit >> 8)); bytes.append(UInt8(unit & 0xFF)) }
            var bits = 0, value = 0
            for byte in bytes {
                value = (value << 8) | Int(byte)
                bits += 8
                while bits >= 6 {
                    bits -= 6
                    output.append(alphabet[(value >> bits) & 0x3F])
                }
            }
            if bits > 0 { output.append(alphabet[(value << (6 - bits)) & 0x3F]) }
            output.append(UInt8(ascii: "-"))
            pending.removeAll()
        }
        for scalar in text.unicodeScalars {
            if scalar.value >= 0x20, scalar.value <= 0x7E {
                flush()
                output.append(UInt8(scalar.value))
                if scalar == "&" { output.append(UInt8(ascii: "-")) }
            } else {
                pending.append(contentsOf: String(scalar).utf16)
            }
        }
        flush()
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes strictly: returns nil for a malformed base64 run, one that encodes printable ASCII, a run not closed by "-",
    /// non-zero padding bits, unpaired surrogates or two runs in a row. Characters outside "&…-" runs pass through (so UTF-8 is tolerated).
    public static func decode(_ text: String) -> String? {
        var result = String.UnicodeScalarView()
        var scalars = text.unicodeScalars.makeIterator()
        var previousWasRun = false
        while let scalar = scalars.next() {
            guard scalar == "&" else {
                result.append(scalar)
                previousWasRun = false
                continue
            }
            var run: [UInt8] = []
            var closed = false
            while let next = scalars.next() {
                if next == "-" { closed = true; break }
                guard next.isASCII, let digit = alphabet.firstIndex(of: UInt8(next.value)) else { return nil }
                run.append(UInt8(digit))
            }
            guard closed else { return nil }
            if run.isEmpty {
                result.append("&")
                previousWasRun = false
                continue
            }
            // "&U,BTFw-&ZeVnLIqe-" has a superfluous shift: adjacent runs must be one run.
            guard !previousWasRun, let decoded = decodeRun(run) else { return nil }
            result.append(contentsOf: decoded)
            previousWasRun = true
        }
        return String(result)
    }

    static func decodeRun(_ digits: [UInt8]) -> [Unicode.Scalar]? {
        var bytes: [UInt8] = []
        var bits = 0, value = 0
        for digit in digits {
            value = (value << 6) | Int(digit)
            bits += 6
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8((value >> bits) & 0xFF))
            }
        }
        // Leftover bits must be fewer than 6 and zero; the byte count must make whole UTF-16 units.
        guard bits < 6, value & ((1 << bits) - 1) == 0, bytes.count % 2 == 0 else { return nil }
        var units: [UInt16] = []
        for index in stride(from: 0, to: bytes.count, by: 2) { units.append(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])) }
        var scalars: [Unicode.Scalar] = []
        var iterator = units.makeIterator()
        var decoder = UTF16()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                // Printable ASCII must not be base64-encoded (RFC 3501 §5.1.3).
                if scalar.value >= 0x20, scalar.value <= 0x7E { return nil }
                scalars.append(scalar)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        return scalars
    }
}

/// LIST/LSUB pattern matching (RFC 9051 §6.3.9): `*` matches zero or more characters, `%` matches zero or more characters
/// except the hierarchy separator. The reference name is prefixed to the pattern; `INBOX` matches case-insensitively.
public struct MailboxPattern: Hashable, Sendable {
    public let pattern: String

    public init(reference: String = "", pattern: String) {
        var combined = pattern
        if !reference.isEmpty {
            combined = reference.hasSuffix("/") && pattern.hasPrefix("/") ? reference + pattern.dropFirst() : reference + pattern
        }
        // INBOX is case-insensitive: canonicalise a leading "inbox" that ends at a separator, wildcard or the end.
        let scalars = Array(combined.unicodeScalars)
        if scalars.count >= 5, String(String.UnicodeScalarView(scalars[0..<5])).lowercased() == "inbox",
           scalars.count == 5 || ["/", "*", "%"].contains(scalars[5]) {
            combined = "INBOX" + String(String.UnicodeScalarView(scalars[5...]))
        }
        self.pattern = combined
    }

    public func matches(_ mailbox: MailboxName) -> Bool {
        Self.match(Array(pattern.unicodeScalars)[...], Array(mailbox.name.unicodeScalars)[...])
    }

    /// Dynamic programming over (pattern prefix, name prefix): O(|pattern| × |name|), no backtracking blow-up.
    static func match(_ pattern: ArraySlice<Unicode.Scalar>, _ name: ArraySlice<Unicode.Scalar>) -> Bool {
        let p = Array(pattern), n = Array(name)
        // row[j]: does the pattern prefix seen so far match n[0..<j]?
        var row = [Bool](repeating: false, count: n.count + 1)
        row[0] = true
        for token in p {
            var next = [Bool](repeating: false, count: n.count + 1)
            switch token {
            case "*":
                var reachable = false
                for j in 0...n.count {
                    reachable = reachable || row[j]
                    next[j] = reachable
                }
            case "%":
                var reachable = false
                for j in 0...n.count {
                    if j > 0, n[j - 1] == "/" { reachable = false }
                    reachable = reachable || row[j]
                    next[j] = reachable
                }
            default:
                for j in 1..<(n.count + 1) where row[j - 1] && n[j - 1] == token { next[j] = true }
            }
            row = next
        }
        return row[n.count]
    }
}
