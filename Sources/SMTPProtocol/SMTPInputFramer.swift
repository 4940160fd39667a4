import NIOCore

/// What the server session expects to read next (`SMTPServerSession.inputMode`).
public enum SMTPInputMode: Hashable, Sendable {
    /// Command lines (limit: `SMTPInputFramer.Limits.commandLine`).
    case command
    /// One line of a SASL exchange (RFC 4954 §4; limit: `Limits.authenticationLine`).
    case authenticationLine
    /// Mail data after DATA, up to `<CRLF>.<CRLF>`.
    case data(SMTPBodyLimits)
    /// The octets of one BDAT chunk (RFC 3030).
    case chunk(size: UInt64)
    /// The session waits for a collaborator's answer or has closed: read nothing.
    case none
}

/// One unit of client input, as the session consumes it.
public enum SMTPServerInput: Hashable, Sendable {
    case command(SMTPCommand)
    case invalidCommand(SMTPCommandError)
    /// A SASL response line (without CRLF), still base64.
    case authenticationLine(String)
    case authenticationLineTooLong
    /// Decoded (dot-unstuffed) mail data.
    case data(ByteBuffer)
    case dataEnd(SMTPBodyOutcome)
    /// Octets of the current BDAT chunk.
    case chunk(ByteBuffer)
    case chunkEnd
}

/// Splits the bytes a client sends into `SMTPServerInput`s according to the session's `inputMode`. Pure and bounded:
/// an over-long line is skipped up to its LF without being stored, then reported as `.lineTooLong`.
///
/// Only CRLF ends a command line; a bare LF makes the line `.malformedLine` (no line-ending tricks in commands).
public struct SMTPInputFramer: Sendable {
    public struct Limits: Hashable, Sendable {
        /// Command line limit including CRLF (RFC 5321 §4.5.3.1.4). Default 512.
        public var commandLine: Int
        /// SASL response line limit including CRLF (RFC 4954 §4 suggests 12288). Default 12288.
        public var authenticationLine: Int

        public init(commandLine: Int = 512, authenticationLine: Int = 12288) {
            self.commandLine = commandLine
            self.authenticationLine = authenticationLine
        }
    }

    public let limits: Limits
    private var skippingLongLine = false
    private var dataDecoder: SMTPDataDecoder?
    private var pendingDataEnd: SMTPBodyOutcome?
    private var chunkRemaining: UInt64?

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// The next input available in `buffer` for `mode`, or nil when more bytes are needed (or `mode` is `.none`).
    /// Consumed bytes are removed from `buffer`; nothing past the returned input is consumed.
    public mutating func next(from buffer: inout ByteBuffer, mode: SMTPInputMode) -> SMTPServerInput? {
        switch mode {
        case .none:
            return nil
        case .command:
            guard let line = nextLine(from: &buffer, limit: limits.commandLine) else { return nil }
            switch line {
            case .success(let bytes):
                do { return .command(try SMTPCommandParser.parse(line: bytes)) } catch { return .invalidCommand(error) }
            case .failure(let error):
                return .invalidCommand(error)
            }
        case .authenticationLine:
            guard let line = nextLine(from: &buffer, limit: limits.authenticationLine) else { return nil }
            switch line {
            case .success(let bytes): return .authenticationLine(String(decoding: bytes, as: UTF8.self))
            case .failure(.lineTooLong): return .authenticationLineTooLong
            case .failure(let error): return .invalidCommand(error)
            }
        case .data(let limits):
            return nextData(from: &buffer, limits: limits)
        case .chunk(let size):
            return nextChunk(from: &buffer, size: size)
        }
    }

    private mutating func nextData(from buffer: inout ByteBuffer, limits: SMTPBodyLimits) -> SMTPServerInput? {
        if let end = pendingDataEnd {
            pendingDataEnd = nil
            return .dataEnd(end)
        }
        var decoder = dataDecoder ?? SMTPDataDecoder(limits: limits)
        while buffer.readableBytes > 0 {
            let output = decoder.decode(&buffer)
            if let outcome = output.outcome {
                dataDecoder = nil
                if let content = output.content {
                    pendingDataEnd = outcome
                    return .data(content)
                }
                return .dataEnd(outcome)
            }
            if let content = output.content {
                dataDecoder = decoder
                return .data(content)
            }
        }
        dataDecoder = decoder
        return nil
    }

    private mutating func nextChunk(from buffer: inout ByteBuffer, size: UInt64) -> SMTPServerInput? {
        let remaining = chunkRemaining ?? size
        if remaining == 0 {
            chunkRemaining = nil
            return .chunkEnd
        }
        guard buffer.readableBytes > 0 else {
            chunkRemaining = remaining
            return nil
        }
        let count = Int(min(UInt64(buffer.readableBytes), remaining))
        let slice = buffer.readSlice(length: count)!
        chunkRemaining = remaining - UInt64(count)
        return .chunk(slice)
    }

    /// The next CRLF-terminated line (without CRLF), `.lineTooLong` after skipping an over-long line, `.malformedLine`
    /// for a bare LF, or nil when no complete line is buffered.
    private mutating func nextLine(from buffer: inout ByteBuffer, limit: Int) -> Result<[UInt8], SMTPCommandError>? {
        while true {
            let readable = buffer.readableBytesView
            if skippingLongLine {
                guard let lf = readable.firstIndex(of: 10) else {
                    buffer.moveReaderIndex(forwardBy: readable.count)
                    return nil
                }
                buffer.moveReaderIndex(forwardBy: lf - readable.startIndex + 1)
                skippingLongLine = false
                return .failure(.lineTooLong)
            }
            let window = readable.prefix(limit)
            guard let lf = window.firstIndex(of: 10) else {
                guard readable.count >= limit else { return nil }
                skippingLongLine = true
                buffer.moveReaderIndex(forwardBy: window.count)  // no LF among these: drop them, look on
                continue
            }
            let length = lf - readable.startIndex
            let line = Array(readable.prefix(length))
            buffer.moveReaderIndex(forwardBy: length + 1)
            guard line.last == 13 else { return .failure(.malformedLine) }
            return .success(Array(line.dropLast()))
        }
    }
}
