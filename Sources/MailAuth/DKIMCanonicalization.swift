/// DKIM canonicalization (RFC 6376 §3.4) on the raw bytes of a message, and the raw header split it works on.

/// One header field exactly as it appears in the message: `raw` runs from the first byte of the name through the CRLF
/// that ends the field (folded continuation lines included).
public struct RawHeaderField: Sendable, Hashable {
    public var name: String
    public var raw: [UInt8]

    /// The name lower-cased, for comparisons (header field names are case-insensitive).
    public var lowercasedName: String { name.lowercased() }
}

/// A message split into its header fields and its body, byte for byte.
public struct RawMessage: Sendable, Hashable {
    public var fields: [RawHeaderField]
    public var body: [UInt8]

    /// Splits at the first empty line. Bare LF line ends are first turned into CRLF (as dkimpy and OpenDKIM do for
    /// messages handed over with local line ends); a message without an empty line has an empty body.
    public init(_ message: some Collection<UInt8>) {
        let bytes = Self.normalizingLineEnds(message)
        var fields: [RawHeaderField] = []
        var index = 0
        var bodyStart = bytes.count
        while index < bytes.count {
            if bytes[index] == 0x0D, index + 1 < bytes.count, bytes[index + 1] == 0x0A {
                bodyStart = index + 2
                break
            }
            var end = index
            // A field ends at a CRLF not followed by SP or HTAB.
            while end < bytes.count {
                if bytes[end] == 0x0D, end + 1 < bytes.count, bytes[end + 1] == 0x0A {
                    end += 2
                    if end < bytes.count, bytes[end] == 0x20 || bytes[end] == 0x09 { continue }
                    break
                }
                end += 1
            }
            let raw = Array(bytes[index..<end])
            let nameEnd = raw.firstIndex(of: UInt8(ascii: ":")) ?? raw.count
            let name = String(decoding: raw[..<nameEnd], as: UTF8.self).trimmingWhitespace()
            fields.append(RawHeaderField(name: String(name), raw: raw))
            index = end
        }
        self.fields = fields
        self.body = bodyStart <= bytes.count ? Array(bytes[bodyStart...]) : []
    }

    static func normalizingLineEnds(_ message: some Collection<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(message.count + 64)
        var previous: UInt8 = 0
        for byte in message {
            if byte == 0x0A, previous != 0x0D { output.append(0x0D) }
            output.append(byte)
            previous = byte
        }
        return output
    }
}

/// `c=` (RFC 6376 §3.5): one algorithm for the header, one for the body.
public enum DKIMCanonicalization: String, Sendable, Hashable, CaseIterable {
    case simple
    case relaxed

    /// §3.4.1 "simple": the field unchanged. §3.4.2 "relaxed": name lower-cased, unfolded, runs of WSP as one SP,
    /// WSP at the end of the value and around the colon removed, ending in CRLF.
    public func canonicalize(header field: RawHeaderField) -> [UInt8] {
        switch self {
        case .simple:
            return field.raw
        case .relaxed:
            let colon = field.raw.firstIndex(of: UInt8(ascii: ":")) ?? field.raw.count
            var output = Array(field.name.lowercased().utf8)
            output.append(UInt8(ascii: ":"))
            var pendingSpace = false
            var atValueStart = true
            for byte in field.raw[min(colon + 1, field.raw.count)...] {
                switch byte {
                case 0x0D, 0x0A: continue
                case 0x20, 0x09: pendingSpace = true
                default:
                    if pendingSpace, !atValueStart { output.append(0x20) }
                    pendingSpace = false
                    atValueStart = false
                    output.append(byte)
                }
            }
            output += [0x0D, 0x0A]
            return output
        }
    }

    /// §3.4.3 "simple": trailing empty lines removed, an empty body becomes one CRLF. §3.4.4 "relaxed": WSP at line ends
    /// removed, runs of WSP as one SP, trailing empty lines removed, an empty body stays empty. A non-empty body that
    /// lacks a final CRLF gets one.
    public func canonicalize(body: [UInt8]) -> [UInt8] {
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var index = 0
        while index < body.count {
            if body[index] == 0x0D, index + 1 < body.count, body[index + 1] == 0x0A {
                lines.append(body[start..<index])
                index += 2
                start = index
            } else {
                index += 1
            }
        }
        if start < body.count { lines.append(body[start...]) }
        var output: [UInt8] = []
        output.reserveCapacity(body.count + 2)
        var lineBytes: [[UInt8]] = lines.map { line in
            switch self {
            case .simple: return Array(line)
            case .relaxed: return Self.relaxedLine(line)
            }
        }
        while let last = lineBytes.last, last.isEmpty { lineBytes.removeLast() }
        for line in lineBytes { output += line; output += [0x0D, 0x0A] }
        if output.isEmpty, self == .simple { output = [0x0D, 0x0A] }
        return output
    }

    private static func relaxedLine(_ line: ArraySlice<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(line.count)
        var pendingSpace = false
        for byte in line {
            if byte == 0x20 || byte == 0x09 {
                pendingSpace = true
            } else {
                if pendingSpace { output.append(0x20) }
                pendingSpace = false
                output.append(byte)
            }
        }
        return output
    }
}

/// `c=header/body`; a missing body part means simple (RFC 6376 §3.5).
public struct DKIMCanonicalizationPair: Sendable, Hashable, CustomStringConvertible {
    public var header: DKIMCanonicalization
    public var body: DKIMCanonicalization

    public init(header: DKIMCanonicalization, body: DKIMCanonicalization) {
        self.header = header
        self.body = body
    }

    public init?(_ text: String) {
        let parts = text.lowercased().split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let header = DKIMCanonicalization(rawValue: String(parts[0])) else { return nil }
        let body = parts.count == 2 ? DKIMCanonicalization(rawValue: String(parts[1])) : .simple
        guard let body else { return nil }
        self.init(header: header, body: body)
    }

    public var description: String { "\(header.rawValue)/\(body.rawValue)" }
}

/// Which header fields a signature covers (RFC 6376 §5.4.2): for each name in `h=`, the last not-yet-used instance,
/// searching from the bottom; a name with no instance left contributes nothing (the "null string"), which is how
/// over-signing prevents a field from being added later.
func selectHeaders(_ names: [String], from fields: [RawHeaderField]) -> [RawHeaderField] {
    var used = Set<Int>()
    var selected: [RawHeaderField] = []
    for name in names {
        let wanted = name.lowercased()
        if let index = fields.indices.reversed().first(where: { !used.contains($0) && fields[$0].lowercasedName == wanted }) {
            used.insert(index)
            selected.append(fields[index])
        }
    }
    return selected
}
