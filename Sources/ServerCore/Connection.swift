import Logging
import NIOCore
import NIOSSL

/// One client connection, as a protocol session sees it.
///
/// Owned by the session task the listener runs for it: not Sendable; use `waker` to reach it from elsewhere.
/// Reads frame the bytes in the session task over an internal buffer (ServerCore.swift, invariants 2–5). Writes are
/// queued until `flush()` (batch replies to pipelined commands), or until `outputFlushThreshold` bytes are queued.
public final class Connection {
    /// Queued output beyond this many bytes is flushed by `write` itself. 64 KiB.
    public static let outputFlushThreshold = 64 * 1024

    /// A short unique id, also in every log line of this connection (`connection` metadata).
    public let id: ConnectionID
    /// The listener's `ListenerConfiguration.name`.
    public let listenerName: String
    public let remoteAddress: SocketAddress?
    public let localAddress: SocketAddress?
    /// Logger with metadata `connection`, `remote` and `listener`. Add your own (e.g. `user`) as the session learns it.
    public var logger: Logger
    /// How long each read may wait for input; starts at `ListenerConfiguration.idleTimeout`.
    public var idleTimeout: Duration
    /// The line limit `readLine()` uses when not given one; starts at `ListenerConfiguration.maxLineLength`.
    public var maxLineLength: Int
    /// Whether the connection is encrypted (implicit TLS, or after `startTLS`).
    public internal(set) var isTLS: Bool
    /// Hand this to whatever must interrupt a `readLineOrWakeUp` (IMAP IDLE: the mailbox change feed).
    public let waker: ConnectionWaker

    let channel: any Channel
    let tlsMode: TLSMode
    let certificates: TLSCertificateStore?
    let signals: ConnectionSignals
    let handler: NIOLoopBound<InboundEventHandler>
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    var inbound: NIOAsyncChannelInboundStream<InboundEvent>.AsyncIterator
    /// Received, not yet consumed bytes.
    var buffer = ByteBuffer()
    /// After `lineTooLong`: drop input up to and including the next LF.
    private var discardingUntilLF = false
    private var pendingOutput: [ByteBuffer] = []
    private var pendingOutputBytes = 0
    /// A `.wakeUp` arrived while the session was not waiting for one.
    var wakeUpPending = false
    private var shutdownReported = false
    private var timerToken: UInt64 = 0
    private var closed = false
    /// Set when the peer can no longer receive anything meaningful (plaintext injected after STARTTLS).
    var outputAbandoned = false

    init(
        id: ConnectionID,
        configuration: ListenerConfiguration,
        channel: any Channel,
        inbound: NIOAsyncChannelInboundStream<InboundEvent>,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        signals: ConnectionSignals,
        handler: NIOLoopBound<InboundEventHandler>,
        certificates: TLSCertificateStore?,
        logger: Logger
    ) {
        self.id = id
        self.listenerName = configuration.name
        self.remoteAddress = channel.remoteAddress
        self.localAddress = channel.localAddress
        self.idleTimeout = configuration.idleTimeout
        self.maxLineLength = configuration.maxLineLength
        self.tlsMode = configuration.tlsMode
        self.isTLS = configuration.tlsMode == .implicit
        self.channel = channel
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
        self.signals = signals
        self.handler = handler
        self.certificates = certificates
        self.waker = ConnectionWaker(signals: signals, handler: handler)
        var logger = logger
        logger[metadataKey: "connection"] = "\(id)"
        logger[metadataKey: "remote"] = "\(channel.remoteAddress.map { "\($0)" } ?? "unknown")"
        logger[metadataKey: "listener"] = "\(configuration.name)"
        self.logger = logger
    }

    /// TLS details; nil on a plaintext connection.
    public var tls: TLSInfo? { isTLS ? TLSInfo(version: signals.tlsVersion) : nil }

    /// True once the listener started a graceful shutdown: finish the current transaction, say goodbye, return.
    public var isShutdownRequested: Bool { signals.shutdownRequested }

    /// Bytes received and not yet consumed (after a command line: pipelined input).
    public var bufferedByteCount: Int { buffer.readableBytes }

    // MARK: Reading

    /// The next line, without its terminator. Wake-ups that arrive meanwhile are kept for the next `readLineOrWakeUp`.
    /// - Throws: `.lineTooLong` (the rest of the line is discarded; reading may go on), `.idleTimeout`, `.endOfStream`,
    ///   `.transport`.
    public func readLine(maxLength: Int? = nil) async throws(ConnectionError) -> Line {
        let limit = maxLength ?? maxLineLength
        while true {
            if let line = try takeLine(limit: limit) { return line }
            _ = try await receive(wakeable: false)
        }
    }

    /// The next line, or a wake-up / shutdown request if one comes first. A complete line already buffered wins.
    public func readLineOrWakeUp(maxLength: Int? = nil) async throws(ConnectionError) -> InputEvent {
        let limit = maxLength ?? maxLineLength
        while true {
            if let line = try takeLine(limit: limit) { return .line(line) }
            switch try await receive(wakeable: true) {
            case .data: continue
            case .wokenUp: return .wokenUp
            case .shutdownRequested: return .shutdownRequested
            }
        }
    }

    /// Exactly `count` bytes (an IMAP literal, an SMTP BDAT chunk). The caller bounds `count`: it is buffered whole.
    public func readBytes(exactly count: Int) async throws(ConnectionError) -> ByteBuffer {
        precondition(count >= 0, "negative byte count")
        while buffer.readableBytes < count {
            _ = try await receive(wakeable: false)
        }
        return takeBytes(count)
    }

    /// Between 1 and `max` bytes: whatever is buffered, or the next bytes to arrive (SMTP DATA streaming).
    public func readAvailable(max: Int) async throws(ConnectionError) -> ByteBuffer {
        precondition(max > 0, "max must be positive")
        while buffer.readableBytes == 0 {
            _ = try await receive(wakeable: false)
        }
        return takeBytes(Swift.min(max, buffer.readableBytes))
    }

    /// Splits a line off the buffer, or returns nil when more bytes are needed.
    private func takeLine(limit: Int) throws(ConnectionError) -> Line? {
        let view = buffer.readableBytesView
        guard let lf = view.firstIndex(of: UInt8(ascii: "\n")) else {
            // Without an LF the buffer may hold `limit` bytes plus a CR; anything longer can never become a valid line.
            let count = view.count
            if count > limit + 1 || (count == limit + 1 && view.last != UInt8(ascii: "\r")) {
                buffer.clear()
                discardingUntilLF = true
                throw .lineTooLong(limit: limit)
            }
            return nil
        }
        let hasCR = lf > view.startIndex && view[lf - 1] == UInt8(ascii: "\r")
        let length = (hasCR ? lf - 1 : lf) - view.startIndex
        let consumed = lf + 1 - view.startIndex
        if length > limit {
            buffer.moveReaderIndex(forwardBy: consumed)
            throw .lineTooLong(limit: limit)
        }
        let bytes = buffer.getSlice(at: buffer.readerIndex, length: length)!
        buffer.moveReaderIndex(forwardBy: consumed)
        compactBuffer()
        return Line(bytes: bytes, terminator: hasCR ? .crlf : .lf)
    }

    private func takeBytes(_ count: Int) -> ByteBuffer {
        let bytes = buffer.readSlice(length: count)!
        compactBuffer()
        return bytes
    }

    private func compactBuffer() {
        if buffer.readableBytes == 0 {
            buffer = ByteBuffer()
        } else if buffer.readerIndex > 64 * 1024 {
            buffer.discardReadBytes()
        }
    }

    enum Received {
        case data
        case wokenUp
        case shutdownRequested
    }

    /// Waits for the next stream element that matters and appends bytes to `buffer`.
    /// `wakeable`: whether a wake-up or shutdown ends the wait (otherwise it is remembered).
    private func receive(wakeable: Bool) async throws(ConnectionError) -> Received {
        if wakeable, let pending = takePendingWakeUp() { return pending }
        timerToken &+= 1
        let token = timerToken
        let timeout = TimeAmount.clamped(idleTimeout)
        let handler = self.handler
        handler.eventLoop.execute { handler.value.armIdleTimer(after: timeout, token: token) }
        while true {
            switch try await nextEvent() {
            case .bytes(let bytes):
                if append(bytes) { return .data }
            case .tlsStarted:
                continue  // only `startTLS` fires it, and consumes it itself
            case .wakeUp:
                signals.endWakeUp()
                wakeUpPending = true
                if wakeable, let pending = takePendingWakeUp() { return pending }
            case .idleTimeout(let expired):
                if expired == token { throw .idleTimeout }
            }
        }
    }

    private func takePendingWakeUp() -> Received? {
        if !shutdownReported && signals.shutdownRequested {
            shutdownReported = true
            wakeUpPending = false
            return .shutdownRequested
        }
        if wakeUpPending {
            wakeUpPending = false
            return .wokenUp
        }
        return nil
    }

    func nextEvent() async throws(ConnectionError) -> InboundEvent {
        let event: InboundEvent?
        do {
            event = try await inbound.next()
        } catch {
            throw .transport(error)
        }
        guard let event else { throw .endOfStream }
        return event
    }

    /// Appends received bytes, dropping the tail of an over-long line. True if anything was kept.
    private func append(_ bytes: ByteBuffer) -> Bool {
        var bytes = bytes
        if discardingUntilLF {
            guard let lf = bytes.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return false }
            bytes.moveReaderIndex(to: lf + 1)
            discardingUntilLF = false
        }
        guard bytes.readableBytes > 0 else { return false }
        if buffer.readableBytes == 0 {
            buffer = bytes
        } else {
            buffer.writeImmutableBuffer(bytes)
        }
        return true
    }

    /// Forgets buffered input; used by `startTLS` once it has counted it.
    func discardBufferedInput() -> Int {
        let count = buffer.readableBytes
        buffer = ByteBuffer()
        discardingUntilLF = false
        return count
    }

    // MARK: Writing

    /// Queues `bytes`; they are sent by `flush()` (or once `outputFlushThreshold` bytes are queued).
    public func write(_ bytes: ByteBuffer) async throws(ConnectionError) {
        pendingOutput.append(bytes)
        pendingOutputBytes += bytes.readableBytes
        if pendingOutputBytes >= Self.outputFlushThreshold { try await flush() }
    }

    /// Queues what `encode` writes, appending it to the last queued buffer while that one is small: a response of a
    /// few dozen bytes (FETCH 1:* sends one per message) then costs neither a buffer of its own nor a separate entry
    /// in the socket's write queue.
    public func write(encoding encode: (inout ByteBuffer) -> Void) async throws(ConnectionError) {
        var buffer = pendingOutput.last.map { $0.readableBytes < Self.coalescingLimit } == true
            ? pendingOutput.removeLast() : ByteBufferAllocator().buffer(capacity: 1024)
        let before = buffer.readableBytes
        encode(&buffer)
        pendingOutputBytes += buffer.readableBytes - before
        pendingOutput.append(buffer)
        if pendingOutputBytes >= Self.outputFlushThreshold { try await flush() }
    }

    /// Queued buffers smaller than this take further `write(encoding:)` output in place.
    static let coalescingLimit = 16 * 1024

    /// Queues several buffers, as `write(_:)`.
    public func write(contentsOf buffers: some Sequence<ByteBuffer>) async throws(ConnectionError) {
        for bytes in buffers { try await write(bytes) }
    }

    /// Queues `text` as UTF-8, as `write(_:)`.
    public func write(_ text: String) async throws(ConnectionError) {
        try await write(ByteBuffer(string: text))
    }

    /// Sends everything queued, waiting while the client does not read (back-pressure).
    public func flush() async throws(ConnectionError) {
        guard !pendingOutput.isEmpty else { return }
        let output = takePendingOutput()
        do {
            try await outbound.write(contentsOf: output)
        } catch {
            throw .transport(error)
        }
    }

    /// `write` then `flush`.
    public func send(_ text: String) async throws(ConnectionError) {
        try await write(text)
        try await flush()
    }

    func takePendingOutput() -> [ByteBuffer] {
        defer {
            pendingOutput = []
            pendingOutputBytes = 0
        }
        return pendingOutput
    }

    /// Flushes what is queued (best effort) and closes the connection. Reads then fail with `.endOfStream`.
    public func close() async {
        guard !closed else { return }
        closed = true
        await drainOutput()
        outbound.finish()
        try? await channel.close()
    }

    /// Flushes what is queued and waits until the channel wrote it (write promises complete in order, so an empty
    /// write completes after every earlier one), so that a last reply is not lost to the close that follows.
    /// Bounded by `drainTimeout` (a client that does not read, or never completes a TLS handshake, cannot hold the
    /// session open), and skipped when the connection is already unusable.
    func drainOutput() async {
        guard !outputAbandoned else { return }
        try? await flush()
        let channel = self.channel
        let deadline = channel.eventLoop.scheduleTask(in: .clamped(Self.drainTimeout)) { channel.close(promise: nil) }
        try? await channel.writeAndFlush(ByteBuffer()).get()
        deadline.cancel()
    }

    /// How long closing waits for queued output to reach the socket. 10 seconds.
    static let drainTimeout = Duration.seconds(10)
}
