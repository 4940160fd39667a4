/// A message or body-part header (RFC 5322 §2.2, §3.6): the exact raw bytes (DKIM canonicalisation needs them) and the
/// fields in order, duplicates kept, looked up case-insensitively.
public struct HeaderField: Hashable, Sendable {
    /// The field name as written (without the colon or trailing whitespace).
    public var name: String
    /// The whole field in the source, from the first byte of the name up to and including the final line ending.
    public var range: Range<Int>
    /// The value's bytes as written, folding kept: from after the colon up to (not including) the final line ending.
    public var rawValue: [UInt8]

    /// RFC 5322 §2.2.3 unfolding: CRLF (or bare LF) followed by WSP is removed; leading/trailing whitespace trimmed.
    public var unfoldedValue: String { String(decoding: Self.unfold(rawValue), as: UTF8.self) }

    /// The unfolded value as bytes, leading and trailing whitespace removed.
    public var unfoldedBytes: [UInt8] { Self.unfold(rawValue) }

    /// Unfolds and trims `value`.
    public static func unfold(_ value: some Collection<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(value.count)
        for b in value where b != 0x0D && b != 0x0A { out.append(b) }
        var start = 0, end = out.count
        while start < end, out[start] == 0x20 || out[start] == 0x09 { start += 1 }
        while end > start, out[end - 1] == 0x20 || out[end - 1] == 0x09 { end -= 1 }
        if start == 0 && end == out.count { return out }
        return Array(out[start..<end])
    }

    public init(name: String, range: Range<Int>, rawValue: [UInt8]) {
        self.name = name
        self.range = range
        self.rawValue = rawValue
    }
}

public struct Header: Hashable, Sendable {
    /// The header's fields in order.
    public var fields: [HeaderField]
    /// Byte range of the whole header in the message, including the blank line that ends it (when present).
    public var range: Range<Int>

    public init(fields: [HeaderField], range: Range<Int>) {
        self.fields = fields
        self.range = range
    }

    /// All fields named `name` (case-insensitive), in order.
    public func fields(named name: String) -> [HeaderField] {
        fields.filter { Self.namesEqual($0.name, name) }
    }

    /// The first field named `name`, case-insensitively.
    public subscript(name: String) -> HeaderField? {
        fields.first { Self.namesEqual($0.name, name) }
    }

    /// The first field's unfolded value.
    public func value(_ name: String) -> String? { self[name]?.unfoldedValue }

    /// The header section of a whole message (up to its first empty line), for callers that need its fields but not
    /// the MIME tree (a submission server checking From and Sender, say).
    public static func parse(message bytes: [UInt8]) -> Header {
        parseHeader(bytes, from: 0, to: bytes.count) { _, _ in false }.0
    }

    static func namesEqual(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        return zip(x, y).allSatisfy { asciiLower($0) == asciiLower($1) }
    }
}

@inline(__always) func asciiLower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

/// Parses a header block starting at `start`. Stops after the first empty line (CRLF or bare LF), at `end`, or at a line
/// that is a boundary of an enclosing multipart (given by `isBoundaryLine`), so a part without a blank line is still bounded.
///
///     fields      = *(field) ; field = field-name ":" unstructured CRLF  (RFC 5322 §3.6, §2.2)
///     field-name  = 1*ftext ; ftext = %d33-57 / %d59-126
///
/// Returns the header and the offset where the body begins.
func parseHeader(_ bytes: [UInt8], from start: Int, to end: Int, isBoundaryLine: (Int, Int) -> Bool) -> (Header, bodyStart: Int) {
    var fields: [HeaderField] = []
    var pos = start
    var fieldStart = -1
    var colon = -1
    func finishField(at lineEnd: Int, valueEnd: Int) {
        guard fieldStart >= 0 else { return }
        if colon > fieldStart {
            var nameEnd = colon
            while nameEnd > fieldStart, bytes[nameEnd - 1] == 0x20 || bytes[nameEnd - 1] == 0x09 { nameEnd -= 1 }
            let name = String(decoding: bytes[fieldStart..<nameEnd], as: UTF8.self)
            fields.append(HeaderField(name: name, range: fieldStart..<lineEnd, rawValue: Array(bytes[(colon + 1)..<valueEnd])))
        }
        fieldStart = -1
        colon = -1
    }
    var valueEnd = start
    while pos < end {
        // Find this line's end.
        var lineEnd = pos
        while lineEnd < end, bytes[lineEnd] != 0x0A { lineEnd += 1 }
        let next = lineEnd < end ? lineEnd + 1 : end
        var contentEnd = lineEnd
        if contentEnd > pos, bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
        if contentEnd == pos {
            // Empty line: end of header.
            finishField(at: pos, valueEnd: valueEnd)
            return (Header(fields: fields, range: start..<next), next)
        }
        let first = bytes[pos]
        if first == 0x20 || first == 0x09 {
            // Continuation line (folding).
            if fieldStart >= 0 { valueEnd = contentEnd }
        } else {
            if isBoundaryLine(pos, contentEnd) {
                finishField(at: pos, valueEnd: valueEnd)
                return (Header(fields: fields, range: start..<pos), pos)
            }
            finishField(at: pos, valueEnd: valueEnd)
            fieldStart = pos
            var c = pos
            while c < contentEnd, bytes[c] != UInt8(ascii: ":") { c += 1 }
            colon = c < contentEnd ? c : -1
            valueEnd = contentEnd
        }
        pos = next
    }
    finishField(at: end, valueEnd: valueEnd)
    return (Header(fields: fields, range: start..<end), end)
}
