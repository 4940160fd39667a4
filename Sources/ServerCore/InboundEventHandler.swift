import Metrics
import NIOCore
import NIOSSL
import Synchronization

/// One element of the ordered stream a session task reads (invariant 3 of ServerCore.swift).
enum InboundEvent: Sendable {
    /// Bytes from the client (decrypted when TLS is on).
    case bytes(ByteBuffer)
    /// `NIOSSLServerHandler` was inserted at this point of the stream: everything before was plaintext.
    case tlsStarted
    /// Someone called `ConnectionWaker.wakeUp()` or the listener asked for shutdown.
    case wakeUp
    /// The idle timer armed for the read with this token expired.
    case idleTimeout(token: UInt64)
}

/// State shared between the event loop, the session task and wakers of one connection.
final class ConnectionSignals: Sendable {
    private struct State {
        var wakeUpInFlight = false
        var shutdownRequested = false
        var tlsVersion: TLSVersion?
    }

    private let state = Mutex(State())

    var shutdownRequested: Bool { state.withLock { $0.shutdownRequested } }
    var tlsVersion: TLSVersion? { state.withLock { $0.tlsVersion } }

    /// Marks a wake-up as in flight; false if one already is (wake-ups coalesce).
    func beginWakeUp(shutdown: Bool) -> Bool {
        state.withLock { state in
            if shutdown { state.shutdownRequested = true }
            if state.wakeUpInFlight { return false }
            state.wakeUpInFlight = true
            return true
        }
    }

    /// The session received the `.wakeUp` element: later wake-ups send a new one.
    func endWakeUp() { state.withLock { $0.wakeUpInFlight = false } }

    func recordHandshake(version: TLSVersion?) { state.withLock { $0.tlsVersion = version } }
}

/// Sits between TLS (if any) and the `NIOAsyncChannel` handler and turns the channel into `InboundEvent`s.
/// Event-loop confined; other threads reach it through `NIOLoopBound` and `eventLoop.execute`.
final class InboundEventHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = InboundEvent

    private var context: ChannelHandlerContext?
    private var idleTimer: Scheduled<Void>?
    private var handshakeSeen = false
    private let signals: ConnectionSignals
    private let metrics: ListenerMetrics

    init(signals: ConnectionSignals, metrics: ListenerMetrics) {
        self.signals = signals
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(wrapInboundOut(.bytes(unwrapInboundIn(data))))
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if !handshakeSeen, Self.isHandshakeCompleted(event) {
            handshakeSeen = true
            let version = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).tlsVersion
            signals.recordHandshake(version: version)
            metrics.tlsHandshakeCompleted(version: version)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let sslError = error as? NIOSSLError, case .handshakeFailed = sslError {
            metrics.tlsHandshakeFailed()
        }
        context.fireErrorCaught(error)
    }

    /// Puts `event` into the session's stream now, in order with the bytes read so far.
    func inject(_ event: InboundEvent) {
        guard let context else { return }
        context.fireChannelRead(wrapInboundOut(event))
        context.fireChannelReadComplete()  // NIOAsyncChannel hands reads to the stream on read-complete
    }

    /// Replaces the idle timer: after `timeout`, `.idleTimeout(token:)` enters the stream.
    func armIdleTimer(after timeout: TimeAmount, token: UInt64) {
        idleTimer?.cancel()
        guard let context else { return }
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            self.idleTimer = nil
            self.inject(.idleTimeout(token: token))
        }
    }

    /// NIOSSL reports a finished handshake as `NIOTLS.TLSUserEvent.handshakeCompleted`. NIOTLS is not a declared
    /// dependency of ServerCore, so the event is recognised by its type name.
    private static func isHandshakeCompleted(_ event: Any) -> Bool {
        guard String(reflecting: type(of: event)) == "NIOTLS.TLSUserEvent" else { return false }
        return String(describing: event).hasPrefix("handshakeCompleted")
    }
}

/// Wakes a session waiting in `Connection.readLineOrWakeUp`. Sendable: hand it to a mailbox-change observer or a timer.
/// Wake-ups coalesce: many calls while the session is busy produce one `.wokenUp`.
public struct ConnectionWaker: Sendable {
    let signals: ConnectionSignals
    let handler: NIOLoopBound<InboundEventHandler>

    /// Makes the session's next (or current) `readLineOrWakeUp` return `.wokenUp` unless a full line is already buffered.
    public func wakeUp() { send(shutdown: false) }

    /// Asks the session to end as at a graceful shutdown: `isShutdownRequested` turns true and a waiting
    /// `readLineOrWakeUp` returns `.shutdownRequested`. The listener uses it when it stops; a protocol uses it when the
    /// session's account was disabled. Safe from any thread.
    public func requestShutdown() { send(shutdown: true) }

    private func send(shutdown: Bool) {
        guard signals.beginWakeUp(shutdown: shutdown) else { return }
        let handler = self.handler
        handler.eventLoop.execute { handler.value.inject(.wakeUp) }
    }
}
