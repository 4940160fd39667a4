import NIOCore

/// Limits the parser enforces, with the defaults a server uses unless configured otherwise.
public struct IMAPParserLimits: Hashable, Sendable {
    /// Command bytes excluding literal contents (all lines of one command together). Default 64 KiB.
    public var maximumLineLength: Int
    /// Largest literal accepted, checked from the `{n}` header before any literal byte is read. Default 50 MB,
    /// which is also what the server advertises as APPENDLIMIT (RFC 7889).
    public var maximumLiteralSize: Int
    /// Deepest nesting of parenthesised lists and NOT/OR search keys. Default 32.
    public var maximumNestingDepth: Int
    /// All bytes of one command, literals included: bounds a MULTIAPPEND of many literals each under the literal limit.
    /// Default 100 MB.
    public var maximumCommandSize: Int

    public static let defaultMaximumLineLength = 64 * 1024
    public static let defaultMaximumLiteralSize = 50_000_000
    /// Largest literal a client that has not authenticated may send: 8 KiB, ample for LOGIN and ID (RFC 7888 §4 lets a
    /// server limit literals outside APPEND well below APPENDLIMIT).
    public static let defaultMaximumLiteralSizeBeforeAuthentication = 8 * 1024
    public static let defaultMaximumNestingDepth = 32
    public static let defaultMaximumCommandSize = 100_000_000

    public init(
        maximumLineLength: Int = Self.defaultMaximumLineLength,
        maximumLiteralSize: Int = Self.defaultMaximumLiteralSize,
        maximumNestingDepth: Int = Self.defaultMaximumNestingDepth,
        maximumCommandSize: Int = Self.defaultMaximumCommandSize
    ) {
        self.maximumLineLength = maximumLineLength
        self.maximumLiteralSize = maximumLiteralSize
        self.maximumNestingDepth = maximumNestingDepth
        self.maximumCommandSize = maximumCommandSize
    }

    /// These limits narrowed for a client that has not authenticated: literals of at most `maximumLiteralSize` octets,
    /// and, since the framer cannot know how many literals a command will have, commands of at most
    /// `maximumLineLength + maximumLiteralSize` octets in all. A connection that has not logged in then never makes the
    /// parser hold more than that.
    public func beforeAuthentication(maximumLiteralSize: Int) -> IMAPParserLimits {
        var limits = self
        limits.maximumLiteralSize = min(maximumLiteralSize, self.maximumLiteralSize)
        limits.maximumCommandSize = min(maximumLineLength + limits.maximumLiteralSize, maximumCommandSize)
        return limits
    }
}

/// Connection-dependent parsing choices.
public struct IMAPParserOptions: Hashable, Sendable {
    /// After ENABLE IMAP4rev2 or UTF8=ACCEPT mailbox names are UTF-8 on the wire, not modified UTF-7.
    public var utf8Enabled: Bool

    public init(utf8Enabled: Bool = false) { self.utf8Enabled = utf8Enabled }
}

/// What `IMAPCommandParser.parseCommand` found.
public enum IMAPCommandParseResult: Hashable, Sendable {
    /// The command is not complete yet; call again when more bytes arrived. The buffer was not consumed.
    case needMoreBytes
    /// The command line announced a literal of `size` bytes. For a synchronizing literal the server sends `+ Ready`
    /// (the client waits for it); then call again. Sizes over the limit are reported as `literalTooLarge` instead.
    case needLiteral(size: Int, synchronizing: Bool)
    /// A complete command; its bytes were consumed, stopping exactly at its end.
    case command(tag: String, IMAPCommand)
    /// A complete but malformed command: answer `tag BAD reason` (or `* BAD` without a tag), then call
    /// `skipFailedCommand` to drop its bytes. The buffer was not consumed.
    case syntaxError(tag: String?, reason: String)
    /// A literal larger than `maximumLiteralSize` was announced, or one that would take the command past
    /// `maximumCommandSize`; no literal byte has been read. Answer as `IMAPSessionState.literalTooLarge` says and call
    /// `skipFailedCommand`: a client waiting on a synchronizing literal then sends its next command. After a
    /// non-synchronizing literal the bytes keep coming: RFC 7888 §4 says to close the connection.
    case literalTooLarge(tag: String?, size: UInt64, synchronizing: Bool)
    /// The command line exceeded `maximumLineLength` before it ended. Answer `* BAD` and close the connection.
    case lineTooLong(tag: String?)
}

/// What a single-line parse (AUTHENTICATE response, IDLE's DONE) found. Unlike commands, the line is consumed on error too.
public enum IMAPLineParseResult<Value: Hashable & Sendable>: Hashable, Sendable {
    case needMoreBytes
    case value(Value)
    case syntaxError(reason: String)
    case lineTooLong
}

/// An incremental IMAP command parser: feed it the connection's inbound buffer each time bytes arrive.
///
/// It first frames the command — lines ending in CRLF, and after a line ending in a literal header (`{n}`, `{n+}`,
/// `~{n}`) exactly n literal bytes — remembering its progress between calls, so a literal may arrive split at any byte;
/// only then does it run the grammar over the complete command. The buffer is consumed only when a command is returned.
/// Between calls the server may append to the buffer but must not consume from it.
public struct IMAPCommandParser: Sendable {
    public var limits: IMAPParserLimits
    public var options: IMAPParserOptions

    /// Bytes of the current command framed so far (complete lines and literals), from the buffer's reader index.
    private var framed = 0
    /// Non-literal bytes of the current command, counted against `maximumLineLength`.
    private var lineBytes = 0
    /// Where the search for the next CRLF resumes.
    private var searchFrom = 0
    /// Size of the literal that starts at `framed`, when its header has been announced.
    private var pendingLiteral: Int?
    /// Bytes of the command that failed, dropped by `skipFailedCommand`.
    private var failedLength = 0

    public init(limits: IMAPParserLimits = IMAPParserLimits(), options: IMAPParserOptions = IMAPParserOptions()) {
        self.limits = limits
        self.options = options
    }

    public mutating func parseCommand(_ buffer: inout ByteBuffer) -> IMAPCommandParseResult {
        while true {
            if let size = pendingLiteral {
                guard buffer.readableBytes - framed >= size else { return .needMoreBytes }
                framed += size
                searchFrom = framed
                pendingLiteral = nil
            }
            guard let lineEnd = findCRLF(in: buffer) else {
                if lineBytes + Self.pendingLineLength(in: buffer, from: framed) > limits.maximumLineLength {
                    let tag = Self.tag(in: buffer)
                    reset()
                    return .lineTooLong(tag: tag)
                }
                return .needMoreBytes
            }
            lineBytes += lineEnd + 2 - framed
            guard lineBytes <= limits.maximumLineLength + 2 else {
                let tag = Self.tag(in: buffer)
                reset()
                return .lineTooLong(tag: tag)
            }
            let lineStart = framed
            framed = lineEnd + 2
            searchFrom = framed
            if let header = Self.literalHeader(in: buffer, lineStart: lineStart, lineEnd: lineEnd) {
                guard header.size <= UInt64(limits.maximumLiteralSize),
                      UInt64(framed) + header.size <= UInt64(limits.maximumCommandSize) else {
                    let tag = Self.tag(in: buffer)
                    let length = framed
                    reset()
                    failedLength = length
                    return .literalTooLarge(tag: tag, size: header.size, synchronizing: header.synchronizing)
                }
                pendingLiteral = Int(header.size)
                return .needLiteral(size: Int(header.size), synchronizing: header.synchronizing)
            }
            return finishCommand(&buffer)
        }
    }

    /// Drops the bytes of the command last reported as `syntaxError` or `literalTooLarge`.
    public mutating func skipFailedCommand(_ buffer: inout ByteBuffer) {
        buffer.moveReaderIndex(forwardBy: min(failedLength, buffer.readableBytes))
        failedLength = 0
    }

    private mutating func finishCommand(_ buffer: inout ByteBuffer) -> IMAPCommandParseResult {
        let length = framed
        reset()
        var reader = GrammarReader(buffer: buffer.getSlice(at: buffer.readerIndex, length: length)!, limits: limits, options: options)
        do throws(IMAPSyntaxError) {
            let (tag, command) = try reader.command()
            buffer.moveReaderIndex(forwardBy: length)
            return .command(tag: tag, command)
        } catch {
            failedLength = length
            return .syntaxError(tag: Self.tag(in: buffer), reason: error.reason)
        }
    }

    private mutating func reset() {
        framed = 0
        lineBytes = 0
        searchFrom = 0
        pendingLiteral = nil
        failedLength = 0
    }

    /// Bytes of the unfinished line from `offset` on, not counting a CR at the end: it may be the start of the CRLF, and
    /// a line of exactly the limit must not be refused because its CR and LF arrived apart.
    static func pendingLineLength(in buffer: ByteBuffer, from offset: Int) -> Int {
        let pending = buffer.readableBytes - offset
        guard pending > 0, buffer.getInteger(at: buffer.readerIndex + buffer.readableBytes - 1, as: UInt8.self) == .cr else {
            return pending
        }
        return pending - 1
    }

    /// Offset (from the reader index) of the next CR LF at or after `searchFrom`; remembers how far it looked.
    private mutating func findCRLF(in buffer: ByteBuffer) -> Int? {
        let start = max(searchFrom, framed)
        let found: Int? = buffer.withUnsafeReadableBytes { bytes in
            var index = start
            while index + 1 < bytes.count {
                if bytes[index] == .cr, bytes[index + 1] == .lf { return index }
                index += 1
            }
            return nil
        }
        if found == nil { searchFrom = max(start, buffer.readableBytes - 1) }
        return found
    }

    /// literal = "{" number64 ["+"] "}" CRLF; literal8 = "~{" number64 ["+"] "}" CRLF (RFC 3516, RFC 7888).
    /// Looks at the end of the line [lineStart, lineEnd) for a literal header.
    static func literalHeader(in buffer: ByteBuffer, lineStart: Int, lineEnd: Int) -> (size: UInt64, synchronizing: Bool)? {
        func byte(_ offset: Int) -> UInt8 { buffer.getInteger(at: buffer.readerIndex + offset, as: UInt8.self)! }
        guard lineEnd > lineStart, byte(lineEnd - 1) == .closeBrace else { return nil }
        var index = lineEnd - 2
        let synchronizing = !(index >= lineStart && byte(index) == .plus)
        if !synchronizing { index -= 1 }
        let digitsEnd = index + 1
        while index >= lineStart, byte(index).isDigit { index -= 1 }
        guard index >= lineStart, byte(index) == .openBrace, digitsEnd > index + 1, digitsEnd - index - 1 <= 19 else { return nil }
        var size: UInt64 = 0
        for offset in (index + 1)..<digitsEnd { size = size &* 10 &+ UInt64(byte(offset) - .zero) }
        guard digitsEnd - index - 1 < 19 || size <= UInt64(Int64.max) else { return nil }
        return (size, synchronizing)
    }

    /// The tag at the start of the buffer, if one is there (for `tag BAD`).
    static func tag(in buffer: ByteBuffer) -> String? {
        let view = buffer.readableBytesView
        guard let space = view.firstIndex(of: .space), space > view.startIndex,
              view[view.startIndex..<space].allSatisfy(\.isTagChar) else { return nil }
        return String(decoding: view[view.startIndex..<space], as: UTF8.self)
    }

    // MARK: Single-line continuations

    /// A line of an AUTHENTICATE exchange (RFC 9051 §6.2.2): base64, or "*" to cancel.
    public mutating func parseAuthenticationResponse(_ buffer: inout ByteBuffer) -> IMAPLineParseResult<SASLContinuation> {
        parseLine(&buffer) { line in
            if line == "*" { return .cancel }
            guard line.utf8.allSatisfy(\.isBase64Char) else { return nil }
            return .base64(line)
        }
    }

    /// The line that ends IDLE (RFC 2177): "DONE", case-insensitively.
    public mutating func parseIdleDone(_ buffer: inout ByteBuffer) -> IMAPLineParseResult<Bool> {
        parseLine(&buffer) { line in line.uppercased() == "DONE" ? true : nil }
    }

    private mutating func parseLine<Value: Hashable & Sendable>(
        _ buffer: inout ByteBuffer, _ interpret: (String) -> Value?
    ) -> IMAPLineParseResult<Value> {
        // The limit holds whether the line is complete or not (a line must not pass because it arrived in one piece).
        guard let lineEnd = findCRLF(in: buffer) else {
            if Self.pendingLineLength(in: buffer, from: 0) > limits.maximumLineLength {
                reset()
                return .lineTooLong
            }
            return .needMoreBytes
        }
        reset()
        guard lineEnd <= limits.maximumLineLength else { return .lineTooLong }
        let line = buffer.readString(length: lineEnd) ?? ""
        buffer.moveReaderIndex(forwardBy: 2)
        guard let value = interpret(line) else { return .syntaxError(reason: "unexpected line") }
        return .value(value)
    }
}

extension UInt8 {
    var isBase64Char: Bool {
        (self >= UInt8(ascii: "A") && self <= UInt8(ascii: "Z")) || (self >= UInt8(ascii: "a") && self <= UInt8(ascii: "z"))
            || isDigit || self == .plus || self == UInt8(ascii: "/") || self == .equals
    }
}
