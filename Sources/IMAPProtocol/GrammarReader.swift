import NIOCore

/// A syntax error found while parsing one framed command: the reason is shown to the client in `tag BAD reason`.
public struct IMAPSyntaxError: Error, Hashable, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// Reads the grammar's terminals from one complete, framed command (literals inline). Failed reads leave `index` where it
/// was, so alternatives can be tried. Indices are offsets into `buffer`'s readable bytes.
struct GrammarReader {
    let buffer: ByteBuffer
    var index: Int = 0
    var depth: Int = 0
    let limits: IMAPParserLimits
    let options: IMAPParserOptions

    init(buffer: ByteBuffer, limits: IMAPParserLimits, options: IMAPParserOptions) {
        self.buffer = buffer
        self.limits = limits
        self.options = options
    }

    var isAtEnd: Bool { index >= buffer.readableBytes }

    func peek(_ offset: Int = 0) -> UInt8? {
        let position = index + offset
        guard position < buffer.readableBytes else { return nil }
        return buffer.getInteger(at: buffer.readerIndex + position, as: UInt8.self)
    }

    mutating func next() throws(IMAPSyntaxError) -> UInt8 {
        guard let byte = peek() else { throw IMAPSyntaxError("unexpected end of command") }
        index += 1
        return byte
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(IMAPSyntaxError) {
        guard peek() == byte else { throw IMAPSyntaxError("expected \(what)") }
        index += 1
    }

    // SP = %x20
    mutating func space() throws(IMAPSyntaxError) { try expect(.space, "SP") }

    // CRLF = CR LF
    mutating func crlf() throws(IMAPSyntaxError) {
        guard peek() == .cr, peek(1) == .lf else { throw IMAPSyntaxError("expected end of command") }
        index += 2
    }

    mutating func skipOptional(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }

    /// Matches a case-insensitive keyword, only if it is not followed by another atom character.
    mutating func keyword(_ word: String) -> Bool {
        let bytes = Array(word.utf8)
        for (offset, expected) in bytes.enumerated() {
            guard let byte = peek(offset), byte.asciiUppercased == expected.asciiUppercased else { return false }
        }
        if let following = peek(bytes.count), following.isAtomChar { return false }
        index += bytes.count
        return true
    }

    /// Matches a case-insensitive literal prefix with no word-boundary check.
    mutating func prefix(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        for (offset, expected) in bytes.enumerated() {
            guard let byte = peek(offset), byte.asciiUppercased == expected.asciiUppercased else { return false }
        }
        index += bytes.count
        return true
    }

    mutating func enterNesting() throws(IMAPSyntaxError) {
        depth += 1
        guard depth <= limits.maximumNestingDepth else { throw IMAPSyntaxError("nesting too deep") }
    }

    mutating func leaveNesting() { depth -= 1 }

    // atom = 1*ATOM-CHAR
    mutating func atom() throws(IMAPSyntaxError) -> String {
        try run(while: { $0.isAtomChar }, what: "atom")
    }

    /// Reads `1*<bytes matching predicate>` as ASCII text.
    mutating func run(while predicate: (UInt8) -> Bool, what: String) throws(IMAPSyntaxError) -> String {
        let start = index
        while let byte = peek(), predicate(byte) { index += 1 }
        guard index > start else { throw IMAPSyntaxError("expected \(what)") }
        return buffer.getString(at: buffer.readerIndex + start, length: index - start) ?? ""
    }

    // number = 1*DIGIT   ; unsigned 32-bit integer
    mutating func number() throws(IMAPSyntaxError) -> UInt32 {
        let value = try number64()
        guard value <= UInt64(UInt32.max) else { throw IMAPSyntaxError("number out of range") }
        return UInt32(value)
    }

    // number64 = 1*DIGIT   ; unsigned 63-bit integer
    mutating func number64() throws(IMAPSyntaxError) -> UInt64 {
        let start = index
        var value: UInt64 = 0
        while let byte = peek(), byte.isDigit {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(byte - .zero))
            guard !overflow1, !overflow2, sum <= UInt64(Int64.max) else { index = start; throw IMAPSyntaxError("number out of range") }
            value = sum
            index += 1
        }
        guard index > start else { throw IMAPSyntaxError("expected number") }
        return value
    }

    // nz-number = digit-nz *DIGIT   ; non-zero unsigned 32-bit integer
    mutating func nzNumber() throws(IMAPSyntaxError) -> UInt32 {
        let start = index
        let value = try number()
        guard value != 0 else { index = start; throw IMAPSyntaxError("expected non-zero number") }
        return value
    }

    // quoted = DQUOTE *QUOTED-CHAR DQUOTE
    // QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4
    mutating func quoted() throws(IMAPSyntaxError) -> [UInt8] {
        let start = index
        try expect(.quote, "quoted string")
        var bytes: [UInt8] = []
        while true {
            guard let byte = peek() else { index = start; throw IMAPSyntaxError("unterminated quoted string") }
            index += 1
            switch byte {
            case .quote: return bytes
            case .backslash:
                guard let escaped = peek(), escaped == .quote || escaped == .backslash else {
                    index = start
                    throw IMAPSyntaxError("invalid escape in quoted string")
                }
                index += 1
                bytes.append(escaped)
            case .cr, .lf, 0: index = start; throw IMAPSyntaxError("invalid character in quoted string")
            default: bytes.append(byte)
            }
        }
    }

    // literal = "{" number64 ["+"] "}" CRLF *CHAR8
    // literal8 = "~{" number64 ["+"] "}" CRLF *OCTET
    /// The bytes of a literal, as a slice of the command buffer (no copy). `allowBinary` also accepts
    /// literal8 = "~{" number64 "}" CRLF *OCTET (RFC 3516), and allows NUL bytes.
    mutating func literal(allowBinary: Bool = false) throws(IMAPSyntaxError) -> (data: ByteBuffer, isBinary: Bool) {
        let start = index
        let isBinary = skipOptional(.tilde)
        guard !isBinary || allowBinary else { index = start; throw IMAPSyntaxError("literal8 not allowed here") }
        do throws(IMAPSyntaxError) {
            try expect(.openBrace, "literal")
            let size = try number64()
            _ = skipOptional(.plus)  // non-synchronizing (RFC 7888 §3 allows it for literal8 too)
            try expect(.closeBrace, "}")
            try crlf()
            guard Int(size) <= buffer.readableBytes - index,
                  let data = buffer.getSlice(at: buffer.readerIndex + index, length: Int(size))
            else { throw IMAPSyntaxError("literal is truncated") }
            if !allowBinary, data.readableBytesView.contains(0) { throw IMAPSyntaxError("NUL in literal") }
            index += Int(size)
            return (data, isBinary)
        } catch {
            index = start
            throw error
        }
    }

    // string = quoted / literal
    mutating func string() throws(IMAPSyntaxError) -> [UInt8] {
        if peek() == .quote { return try quoted() }
        return Array(try literal().data.readableBytesView)
    }

    // astring = 1*ASTRING-CHAR / string
    mutating func astring() throws(IMAPSyntaxError) -> [UInt8] {
        if peek() == .quote || peek() == .openBrace { return try string() }
        return Array(try run(while: { $0.isAStringChar }, what: "astring").utf8)
    }

    mutating func astringText() throws(IMAPSyntaxError) -> String {
        let start = index
        let bytes = try astring()
        guard let text = String(validating: bytes, as: UTF8.self) else { index = start; throw IMAPSyntaxError("invalid UTF-8") }
        return text
    }

    // nstring = string / nil
    mutating func nstring() throws(IMAPSyntaxError) -> [UInt8]? {
        if keyword("NIL") { return nil }
        return try string()
    }

    /// Parses "(" item *(SP item) ")" — at least one item unless `allowEmpty`.
    mutating func parenthesizedList<T>(
        allowEmpty: Bool, _ item: (inout GrammarReader) throws(IMAPSyntaxError) -> T
    ) throws(IMAPSyntaxError) -> [T] {
        try expect(.openParen, "(")
        try enterNesting()
        defer { leaveNesting() }
        var items: [T] = []
        if skipOptional(.closeParen) {
            guard allowEmpty else { throw IMAPSyntaxError("empty list") }
            return items
        }
        repeat {
            items.append(try item(&self))
        } while skipOptional(.space)
        try expect(.closeParen, ")")
        return items
    }
}

extension UInt8 {
    static let space = UInt8(ascii: " ")
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let openParen = UInt8(ascii: "(")
    static let closeParen = UInt8(ascii: ")")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let lessThan = UInt8(ascii: "<")
    static let greaterThan = UInt8(ascii: ">")
    static let dot = UInt8(ascii: ".")
    static let plus = UInt8(ascii: "+")
    static let minus = UInt8(ascii: "-")
    static let tilde = UInt8(ascii: "~")
    static let star = UInt8(ascii: "*")
    static let percent = UInt8(ascii: "%")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let dollar = UInt8(ascii: "$")
    static let zero = UInt8(ascii: "0")
    static let equals = UInt8(ascii: "=")

    var isDigit: Bool { self >= .zero && self <= UInt8(ascii: "9") }
    var asciiUppercased: UInt8 { self >= UInt8(ascii: "a") && self <= UInt8(ascii: "z") ? self - 32 : self }

    // atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials
    // ATOM-CHAR = <any CHAR except atom-specials>
    var isAtomChar: Bool {
        guard self > 0x1F, self < 0x7F else { return false }
        switch self {
        case .openParen, .closeParen, .openBrace, .space, .percent, .star, .quote, .backslash, .closeBracket: return false
        default: return true
        }
    }

    // ASTRING-CHAR = ATOM-CHAR / resp-specials
    var isAStringChar: Bool { isAtomChar || self == .closeBracket }

    // tag = 1*<any ASTRING-CHAR except "+">
    var isTagChar: Bool { isAStringChar && self != .plus }

    // list-char = ATOM-CHAR / list-wildcards / resp-specials
    var isListChar: Bool { isAStringChar || self == .percent || self == .star }
}
