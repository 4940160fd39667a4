import MailCore

/// Limits for the parser, with their defaults. Past a limit the parser degrades (treats deeper multiparts as leaves);
/// it never fails.
public struct ParserLimits: Hashable, Sendable {
    /// Maximum nesting of multiparts and encapsulated messages (default 64).
    public var maximumDepth: Int
    /// Maximum number of body parts in one message (default 100 000).
    public var maximumParts: Int

    public init(maximumDepth: Int = 64, maximumParts: Int = 100_000) {
        self.maximumDepth = maximumDepth
        self.maximumParts = maximumParts
    }

    public static let `default` = ParserLimits()
}

/// One entity of the MIME tree (RFC 2045 §2.4): a header, a body, and children for multipart and message/rfc822.
public struct MessagePart: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// A leaf body (text, image, …, or a message/* that is not parsed as a message).
        case single
        /// multipart/*: `children` are the body parts.
        case multipart
        /// message/rfc822 or message/global: `children[0]` is the encapsulated message's root entity.
        case message
    }

    public var kind: Kind
    public var header: Header
    /// The effective content type (RFC 2045 §5.2 defaults applied when the field is missing or broken).
    public var contentType: ContentType
    /// False when the header had no usable Content-Type and `contentType` is a default.
    public var hasContentType: Bool
    /// Byte range of the body in the message bytes (for multipart: from the end of the header to the end of the epilogue).
    public var bodyRange: Range<Int>
    public var children: [MessagePart]
    /// For multipart: the text before the first boundary and after the close-delimiter (empty ranges when absent).
    public var preambleRange: Range<Int>
    public var epilogueRange: Range<Int>
    /// For multipart: true when the close-delimiter `--boundary--` was never seen.
    public var isMissingCloseDelimiter: Bool

    /// Byte range of the header, including its terminating blank line.
    public var headerRange: Range<Int> { header.range }
    /// Header and body together.
    public var range: Range<Int> { header.range.lowerBound..<max(bodyRange.upperBound, header.range.upperBound) }

    /// The Content-Transfer-Encoding, lower-cased, or "7bit" when absent (RFC 2045 §6.1).
    public var transferEncoding: String {
        guard let value = header["Content-Transfer-Encoding"]?.unfoldedBytes, !value.isEmpty else { return "7bit" }
        return String(decoding: value, as: UTF8.self).lowercased().trimmingSpaces
    }

    public var disposition: ContentDisposition? {
        header["Content-Disposition"].flatMap { ContentDisposition.parse($0.rawValue) }
    }

    /// The attachment file name: Content-Disposition `filename`, else Content-Type `name` (decoded).
    public var fileName: String? { disposition?.parameter("filename") ?? contentType.parameter("name") }
}

/// A parsed message: the original bytes plus the MIME tree over them. Parsing is a single linear pass and never fails.
public struct Message: Sendable {
    public let bytes: [UInt8]
    public let root: MessagePart
    public var header: Header { root.header }

    public init(bytes: [UInt8], root: MessagePart) {
        self.bytes = bytes
        self.root = root
    }

    /// Parses `bytes` (CRLF or bare-LF line endings) into a MIME tree.
    public static func parse(_ bytes: [UInt8], limits: ParserLimits = .default) -> Message {
        var parser = MessageParser(bytes: bytes, limits: limits)
        let (root, _) = parser.parseEntity(start: 0, end: bytes.count, defaultType: .textPlainDefault, depth: 0)
        return Message(bytes: bytes, root: root)
    }

    /// The bytes of a range of the message.
    public func slice(_ range: Range<Int>) -> ArraySlice<UInt8> { bytes[range] }
}

/// The single-pass MIME parser. Every multipart pushes its boundary on a stack; a body is scanned once for the next line
/// that starts with `--` followed by any boundary on the stack (innermost first), so an outer boundary also ends inner
/// parts whose close-delimiter is missing (RFC 2046 §5.1.2).
public struct MessageParser {
    let bytes: [UInt8]
    let limits: ParserLimits
    var boundaries: [[UInt8]] = []
    var partCount = 0

    public init(bytes: [UInt8], limits: ParserLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    struct BoundaryHit {
        /// Start of the boundary line, and of the line after it.
        var lineStart: Int
        var next: Int
        /// Index into the boundary stack.
        var level: Int
        var isClose: Bool
    }

    /// RFC 2046 §5.1.1: `dash-boundary := "--" boundary`; `close-delimiter := delimiter "--"`. Matched as a prefix, as
    /// Dovecot does, so trailing garbage after the boundary still counts.
    func boundaryMatch(_ start: Int, _ end: Int) -> (level: Int, isClose: Bool)? {
        guard end - start >= 2, bytes[start] == UInt8(ascii: "-"), bytes[start + 1] == UInt8(ascii: "-") else { return nil }
        var level = boundaries.count - 1
        while level >= 0 {
            let b = boundaries[level]
            let bEnd = start + 2 + b.count
            if bEnd <= end {
                var k = 0
                while k < b.count, bytes[start + 2 + k] == b[k] { k += 1 }
                if k == b.count {
                    let isClose = bEnd + 2 <= end && bytes[bEnd] == UInt8(ascii: "-") && bytes[bEnd + 1] == UInt8(ascii: "-")
                    return (level, isClose)
                }
            }
            level -= 1
        }
        return nil
    }

    /// Finds the first boundary line at or after `pos` (a line start), before `end`.
    func nextBoundary(from pos: Int, end: Int) -> BoundaryHit? {
        guard !boundaries.isEmpty else { return nil }
        var lineStart = pos
        return bytes.withUnsafeBufferPointer { buf -> BoundaryHit? in
            while lineStart < end {
                var lineEnd = lineStart
                if end - lineStart >= 2, buf[lineStart] == UInt8(ascii: "-"), buf[lineStart + 1] == UInt8(ascii: "-") {
                    while lineEnd < end, buf[lineEnd] != 0x0A { lineEnd += 1 }
                    var contentEnd = lineEnd
                    if contentEnd > lineStart, buf[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                    if let m = boundaryMatch(lineStart, contentEnd) {
                        return BoundaryHit(lineStart: lineStart, next: min(lineEnd + 1, end), level: m.level, isClose: m.isClose)
                    }
                } else {
                    while lineEnd < end, buf[lineEnd] != 0x0A { lineEnd += 1 }
                }
                lineStart = lineEnd + 1
            }
            return nil
        }
    }

    /// The end of the content before a boundary line: the line ending before it belongs to the delimiter (RFC 2046 §5.1.1).
    func contentEnd(before hit: BoundaryHit?, from start: Int, end: Int) -> Int {
        guard let hit else { return end }
        var e = hit.lineStart
        if e > start, bytes[e - 1] == 0x0A { e -= 1; if e > start, bytes[e - 1] == 0x0D { e -= 1 } }
        return max(e, start)
    }

    /// Parses one entity (header + body) starting at `start`; returns it and the boundary line that ended it, if any.
    mutating func parseEntity(start: Int, end: Int, defaultType: ContentType, depth: Int) -> (MessagePart, BoundaryHit?) {
        partCount += 1
        let stack = self
        let (header, bodyStart) = parseHeader(bytes, from: start, to: end) { s, e in stack.boundaryMatch(s, e) != nil }
        let parsedType = header["Content-Type"].flatMap { ContentType.parse($0.rawValue) }
        let contentType = parsedType ?? defaultType
        var part = MessagePart(kind: .single, header: header, contentType: contentType, hasContentType: parsedType != nil,
                               bodyRange: bodyStart..<bodyStart, children: [], preambleRange: bodyStart..<bodyStart,
                               epilogueRange: bodyStart..<bodyStart, isMissingCloseDelimiter: false)
        let canNest = depth < limits.maximumDepth && partCount < limits.maximumParts
        if contentType.isMultipart, canNest, let boundary = contentType.parameter("boundary"), !boundary.isEmpty {
            return parseMultipart(part, boundary: Array(boundary.utf8), end: end, depth: depth)
        }
        if contentType.isEncapsulatedMessage, canNest, ["7bit", "8bit", "binary"].contains(part.transferEncoding) {
            let (inner, hit) = parseEntity(start: bodyStart, end: end, defaultType: .textPlainDefault, depth: depth + 1)
            part.kind = .message
            part.children = [inner]
            part.bodyRange = bodyStart..<contentEnd(before: hit, from: bodyStart, end: end)
            return (part, hit)
        }
        let hit = nextBoundary(from: bodyStart, end: end)
        part.bodyRange = bodyStart..<contentEnd(before: hit, from: bodyStart, end: end)
        return (part, hit)
    }

    /// RFC 2046 §5.1.1:
    ///
    ///     multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF body-part *encapsulation
    ///                       close-delimiter transport-padding [CRLF epilogue]
    mutating func parseMultipart(_ container: MessagePart, boundary: [UInt8], end: Int, depth: Int) -> (MessagePart, BoundaryHit?) {
        var part = container
        part.kind = .multipart
        let bodyStart = part.bodyRange.lowerBound
        boundaries.append(boundary)
        let level = boundaries.count - 1
        let childDefault: ContentType = part.contentType.subtype == "digest" ? .messageRFC822Default : .textPlainDefault
        var hit = nextBoundary(from: bodyStart, end: end)
        part.preambleRange = bodyStart..<contentEnd(before: hit, from: bodyStart, end: end)
        while let h = hit, h.level == level, !h.isClose {
            let (child, childHit) = parseEntity(start: h.next, end: end, defaultType: childDefault, depth: depth + 1)
            part.children.append(child)
            hit = childHit
        }
        boundaries.removeLast()
        if let h = hit, h.level == level {
            // Close-delimiter: the epilogue runs to the next outer boundary (or the end).
            let outer = nextBoundary(from: h.next, end: end)
            let bodyEnd = contentEnd(before: outer, from: h.next, end: end)
            part.epilogueRange = min(h.next, bodyEnd)..<bodyEnd
            part.bodyRange = bodyStart..<bodyEnd
            return (part, outer)
        }
        part.isMissingCloseDelimiter = true
        let bodyEnd = contentEnd(before: hit, from: bodyStart, end: end)
        part.bodyRange = bodyStart..<bodyEnd
        part.epilogueRange = bodyEnd..<bodyEnd
        return (part, hit)
    }
}
