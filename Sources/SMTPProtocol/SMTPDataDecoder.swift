import NIOCore

/// Why a message body was refused. Detected while streaming; reported after the end of the body.
public enum SMTPBodyRejection: Hashable, Sendable {
    /// A CR not followed by LF, or an LF not preceded by CR (as Postfix `smtpd_forbid_bare_newline`).
    case bareLineEnding
    /// A text line over the line limit (RFC 5321 §4.5.3.1.6: 1000 octets including CRLF).
    case lineTooLong
    /// More octets than the maximum message size (RFC 1870).
    case tooLarge

    public var reply: SMTPReply {
        switch self {
        case .bareLineEnding: .bareLineEnding
        case .lineTooLong: .messageLineTooLong
        case .tooLarge: .messageTooBig
        }
    }
}

/// How a body ended.
public enum SMTPBodyOutcome: Hashable, Sendable {
    /// The body is complete; `size` octets were emitted as content.
    case complete(size: UInt64)
    case rejected(SMTPBodyRejection)
}

/// Limits applied to a message body while it streams.
public struct SMTPBodyLimits: Hashable, Sendable {
    /// Maximum message size in octets (after dot-unstuffing). Default 50 MiB (52 428 800).
    public var maximumMessageSize: UInt64
    /// Maximum text line length in octets including CRLF (RFC 5321 §4.5.3.1.6). Default 1000.
    public var maximumLineLength: Int
    /// Refuse bare CR / bare LF in text bodies. Default true.
    public var rejectBareLineEndings: Bool

    public init(maximumMessageSize: UInt64 = 52_428_800, maximumLineLength: Int = 1000, rejectBareLineEndings: Bool = true) {
        self.maximumMessageSize = maximumMessageSize
        self.maximumLineLength = maximumLineLength
        self.rejectBareLineEndings = rejectBareLineEndings
    }
}

/// Decodes the mail data that follows DATA (RFC 5321 §4.1.1.4, §4.5.2): removes dot-stuffing and stops exactly after
/// the end-of-data indicator `<CRLF>.<CRLF>` — nothing else ends the body.
///
/// Invariants:
/// - Only CRLF starts a new line. After a bare LF or bare CR the decoder is *not* at a line start, so
///   `<LF>.<CRLF>`, `<CR>.<CRLF>` and `<LF>.<LF>` never end the body (SMTP smuggling); the body is marked rejected and
///   the decoder keeps reading to the real terminator, staying in step with the client.
/// - The CRLF before the final "." belongs to the message; an empty message is ".<CRLF>" right after 354.
/// - Memory is bounded: each call returns the content decoded from the bytes given (at most that many octets), and a
///   CR or leading "." whose meaning depends on the next octet is held as state, not as bytes.
/// - After a rejection no more content is emitted; the outcome is reported once the terminator is read.
public struct SMTPDataDecoder: Sendable {
    private enum State: Sendable {
        case lineStart
        case inLine
        /// A CR was read; it is emitted once the next octet shows whether it ends the line.
        case carriageReturn
        /// A "." at the start of a line.
        case dot
        /// ".<CR>" at the start of a line.
        case dotCarriageReturn
        case finished
    }

    public struct Output: Sendable {
        /// Decoded message octets from this call, nil when there are none.
        public var content: ByteBuffer?
        /// Set when the end-of-data indicator was read.
        public var outcome: SMTPBodyOutcome?
    }

    public let limits: SMTPBodyLimits
    private var state = State.lineStart
    private var lineLength = 0
    private var size: UInt64 = 0
    private var rejection: SMTPBodyRejection?

    public init(limits: SMTPBodyLimits = SMTPBodyLimits()) {
        self.limits = limits
    }

    public var isFinished: Bool { if case .finished = state { true } else { false } }

    /// Consumes bytes from `buffer` up to and including the end-of-data indicator; bytes after it stay in `buffer`.
    public mutating func decode(_ buffer: inout ByteBuffer) -> Output {
        guard !isFinished else { return Output() }
        var out: [UInt8] = []
        out.reserveCapacity(rejection == nil ? buffer.readableBytes : 0)
        var consumed = 0
        var ended = false
        buffer.withUnsafeReadableBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            while consumed < bytes.count {
                // Inside a line, everything up to the next CR or LF is content: take it in one run (the profile of
                // inbound SMTP had this decoder, one octet at a time, as its largest cost).
                if case .inLine = state {
                    var end = consumed
                    while end < bytes.count, bytes[end] != 13, bytes[end] != 10 { end += 1 }
                    if end > consumed {
                        emitRun(UnsafeBufferPointer(rebasing: bytes[consumed..<end]), into: &out)
                        consumed = end
                        continue
                    }
                }
                let byte = bytes[consumed]
                consumed += 1
                if step(byte, into: &out) {
                    ended = true
                    break
                }
            }
        }
        buffer.moveReaderIndex(forwardBy: consumed)
        var output = Output()
        if !out.isEmpty, rejection == nil {
            var content = ByteBufferAllocator().buffer(capacity: out.count)
            content.writeBytes(out)
            output.content = content
        }
        if ended {
            state = .finished
            output.outcome = rejection.map { .rejected($0) } ?? .complete(size: size)
        }
        return output
    }

    /// Advances the state by one octet; returns true at the end of data.
    private mutating func step(_ byte: UInt8, into out: inout [UInt8]) -> Bool {
        let cr: UInt8 = 13
        let lf: UInt8 = 10
        switch state {
        case .finished:
            return true
        case .lineStart where byte == UInt8(ascii: "."):
            state = .dot
        case .lineStart, .inLine:
            if byte == cr {
                state = .carriageReturn
            } else {
                if byte == lf { reject(.bareLineEnding) }
                emit(byte, into: &out)
                state = .inLine
            }
        case .carriageReturn:
            if byte == lf {
                emitLineEnd(into: &out)
            } else {
                reject(.bareLineEnding)
                emit(cr, into: &out)
                state = .inLine
                return step(byte, into: &out)
            }
        case .dot:
            if byte == cr {
                state = .dotCarriageReturn
            } else {
                // "If the first character is a period and there are other characters on the line, the first
                // character is deleted." (RFC 5321 §4.5.2)
                state = .inLine
                return step(byte, into: &out)
            }
        case .dotCarriageReturn:
            if byte == lf { return true }
            reject(.bareLineEnding)
            emit(cr, into: &out)
            state = .inLine
            return step(byte, into: &out)
        }
        return false
    }

    private mutating func emit(_ byte: UInt8, into out: inout [UInt8]) {
        lineLength += 1
        if lineLength + 2 > limits.maximumLineLength { reject(.lineTooLong) }
        count(1)
        if rejection == nil { out.append(byte) }
    }

    /// `emit` of each octet of a run holding no CR or LF, with the same limits and the same first rejection.
    private mutating func emitRun(_ run: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        if rejection == nil {
            // 1-based position in the run of the octet at which each limit would be exceeded (Int.max: not in this run).
            let lineRoom = limits.maximumLineLength - 2 - lineLength
            let lineAt = run.count > lineRoom ? lineRoom + 1 : Int.max
            let sizeRoom = limits.maximumMessageSize - size
            let sizeAt = UInt64(run.count) > sizeRoom ? Int(sizeRoom) + 1 : Int.max
            // `emit` checks the line before the size for each octet.
            if lineAt != Int.max || sizeAt != Int.max { reject(lineAt <= sizeAt ? .lineTooLong : .tooLarge) }
        }
        lineLength += run.count
        size += UInt64(run.count)
        if rejection == nil { out.append(contentsOf: run) }
    }

    private mutating func emitLineEnd(into out: inout [UInt8]) {
        lineLength = 0
        state = .lineStart
        count(2)
        if rejection == nil { out.append(contentsOf: [13, 10]) }
    }

    private mutating func count(_ octets: UInt64) {
        size += octets
        if size > limits.maximumMessageSize { reject(.tooLarge) }
    }

    private mutating func reject(_ reason: SMTPBodyRejection) {
        if reason == .bareLineEnding, !limits.rejectBareLineEndings { return }
        if rejection == nil { rejection = reason }
    }
}

/// Checks the octets of BDAT chunks (RFC 3030), which carry no terminator and no dot-stuffing: counts the size and,
/// for text bodies (not BINARYMIME), finds bare CR / LF and over-long lines, across chunk boundaries.
public struct SMTPChunkChecker: Hashable, Sendable {
    public let limits: SMTPBodyLimits
    public let isBinary: Bool
    public private(set) var size: UInt64 = 0
    public private(set) var rejection: SMTPBodyRejection?
    private var pendingCR = false
    private var lineLength = 0

    public init(limits: SMTPBodyLimits, isBinary: Bool) {
        self.limits = limits
        self.isBinary = isBinary
    }

    /// Accounts a chunk's declared size before its octets arrive (RFC 1870: refuse as soon as the total is known).
    public mutating func announce(_ octets: UInt64) {
        let (total, overflow) = size.addingReportingOverflow(octets)
        if overflow || total > limits.maximumMessageSize { reject(.tooLarge) }
    }

    public mutating func scan(_ buffer: ByteBuffer) {
        size += UInt64(buffer.readableBytes)
        if size > limits.maximumMessageSize { reject(.tooLarge) }
        guard !isBinary, rejection == nil else { return }
        buffer.withUnsafeReadableBytes { raw in
            for byte in raw { scan(byte) }
        }
    }

    /// Call after the LAST chunk: a CR at the very end is bare.
    public mutating func finish() {
        if pendingCR, !isBinary { reject(.bareLineEnding) }
    }

    private mutating func scan(_ byte: UInt8) {
        if pendingCR {
            pendingCR = false
            if byte == 10 { lineLength = 0; return }
            reject(.bareLineEnding)
        }
        if byte == 13 { pendingCR = true; return }
        if byte == 10 { reject(.bareLineEnding) }
        lineLength += 1
        if lineLength + 2 > limits.maximumLineLength { reject(.lineTooLong) }
    }

    private mutating func reject(_ reason: SMTPBodyRejection) {
        if reason == .bareLineEnding, !limits.rejectBareLineEndings { return }
        if rejection == nil { rejection = reason }
    }
}
