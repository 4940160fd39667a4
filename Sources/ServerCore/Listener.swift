import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// Why a listener could not be made or started.
public enum ListenerError: Error, Sendable, CustomStringConvertible {
    /// `.startTLS` and `.implicit` need a `TLSCertificateStore`.
    case certificatesRequired(listener: String)
    /// `run()` was called twice.
    case alreadyRunning(listener: String)
    /// bind(2) failed (address in use, permission denied, unknown host, …).
    case bindFailed(listener: String, host: String, port: Int, reason: String)
    /// `run()` ended before the socket was bound.
    case notRunning(listener: String)

    public var description: String {
        switch self {
        case .certificatesRequired(let name): "listener \(name): TLS mode needs a certificate"
        case .alreadyRunning(let name): "listener \(name) is already running"
        case .bindFailed(let name, let host, let port, let reason): "listener \(name): cannot bind \(host):\(port): \(reason)"
        case .notRunning(let name): "listener \(name) is not running"
        }
    }
}

/// One listening socket serving one protocol: a ServiceLifecycle `Service`.
///
/// `run()` binds, accepts until a graceful shutdown (or cancellation), then: stops accepting, tells live sessions
/// (`Connection.isShutdownRequested`, `InputEvent.shutdownRequested`), waits up to `shutdownGracePeriod` for them, closes
/// the rest, and returns once every session task has ended. Cancellation closes everything at once.
public final class Listener: Service {
    public let configuration: ListenerConfiguration
    private let handler: any ConnectionHandler
    private let certificates: TLSCertificateStore?
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let metrics: ListenerMetrics
    private let gate: ServingGate
    private let state: Mutex<State>

    private enum Binding {
        case notStarted([CheckedContinuation<SocketAddress, any Error>])
        case bound(SocketAddress)
        case ended
    }

    private struct LiveConnection: Sendable {
        let channel: any Channel
        let waker: ConnectionWaker
    }

    private struct State: Sendable {
        var limiter: ConnectionLimiter
        var binding = Binding.notStarted([])
        var running = false
        var serverChannel: (any Channel)?
        var live: [ConnectionID: LiveConnection] = [:]
        var shuttingDown = false
        var forceClose: Scheduled<Void>?
    }

    /// - Parameters:
    ///   - certificates: required for `.startTLS` and `.implicit`; each new connection uses its current context.
    ///   - gate: the socket is bound at once, but no connection is taken from it until the gate opens (default: open).
    ///   - handler: the protocol: runs sessions and words refusals.
    public init(
        configuration: ListenerConfiguration,
        certificates: TLSCertificateStore? = nil,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        gate: ServingGate = ServingGate(open: true),
        logger: Logger,
        handler: any ConnectionHandler
    ) throws(ListenerError) {
        if configuration.tlsMode != .none && certificates == nil {
            throw .certificatesRequired(listener: configuration.name)
        }
        self.configuration = configuration
        self.handler = handler
        self.certificates = certificates
        self.eventLoopGroup = eventLoopGroup
        self.gate = gate
        var logger = logger
        logger[metadataKey: "listener"] = "\(configuration.name)"
        self.logger = logger
        self.metrics = ListenerMetrics(listener: configuration.name)
        self.state = Mutex(
            State(limiter: ConnectionLimiter(
                maxTotal: configuration.maxConnections,
                maxPerAddress: configuration.maxConnectionsPerAddress
            ))
        )
    }

    /// The address the socket is bound to (the real port when configured with port 0). Waits until `run()` has bound;
    /// throws if binding failed or the listener already stopped.
    public var boundAddress: SocketAddress {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                state.withLock { state in
                    switch state.binding {
                    case .notStarted(var waiters):
                        waiters.append(continuation)
                        state.binding = .notStarted(waiters)
                    case .bound(let address):
                        continuation.resume(returning: address)
                    case .ended:
                        continuation.resume(throwing: ListenerError.notRunning(listener: configuration.name))
                    }
                }
            }
        }
    }

    /// Number of sessions running now.
    public var activeConnectionCount: Int { state.withLock { $0.live.count } }

    public func run() async throws {
        try state.withLock { state throws(ListenerError) in
            if state.running { throw .alreadyRunning(listener: configuration.name) }
            state.running = true
        }
        defer { endBinding() }
        let server: NIOAsyncChannel<AcceptedChannel, Never>
        do {
            server = try await bind()
        } catch {
            throw ListenerError.bindFailed(
                listener: configuration.name, host: configuration.host, port: configuration.port, reason: "\(error)"
            )
        }
        publishBinding(server.channel)
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                // Until then, accepted connections wait unserved; a shutdown meanwhile closes them unserved.
                await cancelWhenGracefulShutdown { await self.gate.wait() }
                try await serve(server)
            } onGracefulShutdown: {
                self.beginGracefulShutdown()
            }
        } onCancel: {
            self.closeEverything()
        }
        state.withLock { $0.forceClose?.cancel() }
        logger.info("listener stopped")
    }

    /// Starts the same graceful shutdown a ServiceLifecycle shutdown does (for callers outside a ServiceGroup).
    public func shutdownGracefully() { beginGracefulShutdown() }

    // MARK: Accepting

    private func bind() async throws -> NIOAsyncChannel<AcceptedChannel, Never> {
        let configuration = self.configuration
        let certificates = self.certificates
        let metrics = self.metrics
        return try await ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)   // IPPROTO_TCP: at SOL_SOCKET level 1 is SO_DEBUG
            .bind(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try AcceptedChannel.configure(
                        channel,
                        implicitTLS: configuration.tlsMode == .implicit ? certificates?.context : nil,
                        metrics: metrics
                    )
                }
            }
    }

    private func serve(_ server: NIOAsyncChannel<AcceptedChannel, Never>) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await accepted in inbound {
                    let address = accepted.channel.remoteAddress?.ipAddress
                    let (admission, active) = state.withLock { state in
                        (state.limiter.admit(address: address), state.limiter.total)
                    }
                    switch admission {
                    case .admitted:
                        metrics.connectionAccepted(activeNow: active)
                        group.addTask { await self.runSession(accepted, address: address) }
                    case .refused(let reason):
                        metrics.connectionRefused(reason)
                        logger.notice(
                            "connection refused",
                            metadata: ["remote": "\(address ?? "unknown")", "reason": "\(reason)"]
                        )
                        group.addTask { await self.refuse(accepted, reason: reason) }
                    }
                }
            }
        }
    }

    private func runSession(_ accepted: AcceptedChannel, address: String?) async {
        let id = ConnectionID.random()
        let waker = ConnectionWaker(signals: accepted.signals, handler: accepted.handler)
        let shuttingDown = state.withLock { state in
            state.live[id] = LiveConnection(channel: accepted.channel, waker: waker)
            return state.shuttingDown
        }
        if shuttingDown { waker.requestShutdown() }
        defer {
            let active = state.withLock { state in
                state.live[id] = nil
                state.limiter.release(address: address)
                return state.limiter.total
            }
            metrics.connectionClosed(activeNow: active)
        }
        var sessionLogger = logger
        sessionLogger[metadataKey: "connection"] = "\(id)"
        sessionLogger[metadataKey: "remote"] = "\(accepted.channel.remoteAddress.map { "\($0)" } ?? "unknown")"
        accepted.claim()
        do {
            try await accepted.asyncChannel.executeThenClose { inbound, outbound in
                let connection = Connection(
                    id: id,
                    configuration: configuration,
                    channel: accepted.channel,
                    inbound: inbound,
                    outbound: outbound,
                    signals: accepted.signals,
                    handler: accepted.handler,
                    certificates: certificates,
                    logger: logger
                )
                connection.logger.info("connection accepted", metadata: ["tls": "\(connection.isTLS)"])
                do {
                    try await handler.handle(connection)
                    await connection.drainOutput()
                    connection.logger.info("connection closed")
                } catch {
                    connection.logger.info("session ended with error", metadata: ["error": "\(error)"])
                }
            }
        } catch {
            sessionLogger.debug("close failed", metadata: ["error": "\(error)"])
        }
    }

    private func refuse(_ accepted: AcceptedChannel, reason: RefusalReason) async {
        let channel = accepted.channel
        let deadline = channel.eventLoop.scheduleTask(in: .clamped(configuration.refusalTimeout)) {
            channel.close(promise: nil)
        }
        let message = ByteBuffer(string: handler.refusalMessage(for: reason))
        accepted.claim()
        try? await accepted.asyncChannel.executeThenClose { _, _ in
            // Waits until the text is written (after the handshake, on an implicit-TLS listener), then closes.
            try await channel.writeAndFlush(message).get()
        }
        deadline.cancel()
    }

    // MARK: Stopping

    private func publishBinding(_ channel: any Channel) {
        let address = channel.localAddress
        let stopAtOnce = state.withLock { state in
            state.serverChannel = channel
            if case .notStarted(let waiters) = state.binding, let address {
                state.binding = .bound(address)
                for waiter in waiters { waiter.resume(returning: address) }
            }
            return state.shuttingDown
        }
        if stopAtOnce { channel.close(promise: nil) }  // shutdown began while binding
        logger.info("listening", metadata: ["address": "\(address.map { "\($0)" } ?? "unknown")"])
    }

    private func endBinding() {
        state.withLock { state in
            if case .notStarted(let waiters) = state.binding {
                for waiter in waiters { waiter.resume(throwing: ListenerError.notRunning(listener: configuration.name)) }
            }
            state.binding = .ended
            state.serverChannel = nil
        }
    }

    private func beginGracefulShutdown() {
        let grace = TimeAmount.clamped(configuration.shutdownGracePeriod)
        let (server, live) = state.withLock { state -> ((any Channel)?, [LiveConnection]) in
            if state.shuttingDown { return (nil, []) }
            state.shuttingDown = true
            state.limiter.close()
            state.forceClose = eventLoopGroup.any().scheduleTask(in: grace) { self.closeLiveConnections() }
            return (state.serverChannel, Array(state.live.values))
        }
        guard server != nil || !live.isEmpty else { return }
        logger.info("graceful shutdown", metadata: ["sessions": "\(live.count)"])
        server?.close(promise: nil)
        for connection in live { connection.waker.requestShutdown() }
    }

    private func closeLiveConnections() {
        let live = state.withLock { Array($0.live.values) }
        if !live.isEmpty { logger.notice("grace period over, closing sessions", metadata: ["sessions": "\(live.count)"]) }
        for connection in live { connection.channel.close(promise: nil) }
    }

    private func closeEverything() {
        let server = state.withLock { state in
            state.shuttingDown = true
            state.limiter.close()
            return state.serverChannel
        }
        server?.close(promise: nil)
        closeLiveConnections()
    }
}

/// What the child channel initializer hands to the accept loop.
///
/// A class so that an accepted channel which never reaches a session (the accept loop was cancelled with connections
/// still queued, or NIO dropped it while the server channel closed) is still closed properly: NIOAsyncChannel's writer
/// must be finished, which only `executeThenClose` may do, so `deinit` hands the channel to a task that does it.
final class AcceptedChannel: Sendable {
    let asyncChannel: NIOAsyncChannel<InboundEvent, ByteBuffer>
    let handler: NIOLoopBound<InboundEventHandler>
    let signals: ConnectionSignals
    private let claimed = Mutex(false)

    init(asyncChannel: NIOAsyncChannel<InboundEvent, ByteBuffer>, handler: NIOLoopBound<InboundEventHandler>,
         signals: ConnectionSignals) {
        self.asyncChannel = asyncChannel
        self.handler = handler
        self.signals = signals
    }

    var channel: any Channel { asyncChannel.channel }

    /// Called by whoever runs `executeThenClose` on `asyncChannel`.
    func claim() { claimed.withLock { $0 = true } }

    deinit {
        guard !claimed.withLock({ $0 }) else { return }
        let orphan = asyncChannel
        Task { try? await orphan.executeThenClose { _, _ in } }
    }

    /// Builds the child pipeline: [TLS (implicit only)] → InboundEventHandler → NIOAsyncChannel. On the child's loop.
    static func configure(
        _ channel: any Channel,
        implicitTLS: NIOSSLContext?,
        metrics: ListenerMetrics
    ) throws -> AcceptedChannel {
        let signals = ConnectionSignals()
        let events = InboundEventHandler(signals: signals, metrics: metrics)
        let pipeline = channel.pipeline.syncOperations
        if let implicitTLS {
            try pipeline.addHandler(NIOSSLServerHandler(context: implicitTLS))
        }
        try pipeline.addHandler(events)
        let asyncChannel = try NIOAsyncChannel<InboundEvent, ByteBuffer>(wrappingChannelSynchronously: channel)
        return AcceptedChannel(
            asyncChannel: asyncChannel,
            handler: NIOLoopBound(events, eventLoop: channel.eventLoop),
            signals: signals
        )
    }
}
