import Logging
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
import SMTPProtocol

/// Why an outbound connection could not be used at all (before any transaction reply).
public struct OutboundConnectionError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// One outbound SMTP connection: NIO client channel, reply framing with `SMTPReplyParser`, STARTTLS (NIOSSL client
/// handler inserted below everything else once the server said 220), and an `SMTPClientSession` that decides what to
/// send. Several messages may go over one connection (`keepsConnectionOpen`).
struct OutboundConnection {
    let host: String
    let address: SocketAddress
    let port: Int
    let tls: OutboundTLS
    let configuration: OutboundConfiguration
    let logger: Logger

    /// Delivers `messages` in order over one connection. `onResult(index, result)` runs as soon as each transaction's
    /// outcome is known and before the next message starts, so the caller can commit it at once (the window in which a
    /// crash makes a message go twice is that commit). Returns how many messages got a result (fewer when the connection
    /// broke; the rest were not attempted). Throws when the connection could not be made or gave no result at all.
    @discardableResult
    func deliver(
        _ messages: [SMTPOutboundMessage], credentials: SMTPClientCredentials?, onResult: (Int, SMTPClientResult) async -> Void
    ) async throws(OutboundConnectionError) -> Int {
        guard let first = messages.first else { return 0 }
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.nanoseconds(Int64(configuration.connectTimeout.components.seconds) * 1_000_000_000))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)   // IPPROTO_TCP: at SOL_SOCKET level 1 is SO_DEBUG
            if let source = configuration.sourceAddress {
                bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: source, port: 0))
            }
            let implicitContext = tls == .implicit ? try makeTLSContext(verify: true) : nil
            let serverName = host
            channel = try await bootstrap.connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let implicitContext {
                        let handler = try NIOSSLClientHandler(context: implicitContext, serverHostname: serverName.isIPAddress ? nil : serverName)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHandler(ReadTimeoutHandler(timeout: configuration.replyTimeout))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        } catch {
            throw OutboundConnectionError(description: "cannot connect to \(host)[\(address.ipAddress ?? "?")]:\(port): \(error)")
        }
        var sessionConfiguration = SMTPClientSession.Configuration(
            hostname: configuration.hostname, tlsPolicy: tls.clientPolicy, credentials: credentials, keepsConnectionOpen: true)
        if tls == .implicit { sessionConfiguration.tlsPolicy = .none }
        var session = SMTPClientSession(configuration: sessionConfiguration, message: first)
        var results = 0
        var remaining = messages.dropFirst()
        do {
            try await channel.executeThenClose { inbound, outbound in
                var iterator = inbound.makeAsyncIterator()
                var parser = SMTPReplyParser()
                var buffer = ByteBuffer()
                var actions: [SMTPClientAction] = []
                var closed = false
                while !closed {
                    if actions.isEmpty {
                        // Next reply from the server.
                        let reply: SMTPReply?
                        do { reply = try parser.next(from: &buffer) } catch { actions = session.receiveInvalidReply(); continue }
                        if let reply {
                            actions = session.receive(reply)
                            if actions.isEmpty, session.isIdle { actions = nextStep(&session, &remaining, results: results) }
                            continue
                        }
                        guard var chunk = try await iterator.next() else { break }
                        buffer.writeBuffer(&chunk)
                        continue
                    }
                    let action = actions.removeFirst()
                    switch action {
                    case .send(let bytes):
                        try await outbound.write(bytes)
                    case .startTLS:
                        // RFC 3207 §4.2: anything the server sent after its 220 is an attack; never read it as TLS.
                        guard buffer.readableBytes == 0 else { actions = session.tlsFailed(); continue }
                        do {
                            try await startTLS(on: channel.channel)
                            actions = session.tlsEstablished()
                        } catch {
                            logger.notice("STARTTLS handshake failed", metadata: ["host": "\(host)", "error": "\(error)"])
                            actions = session.tlsFailed()
                        }
                    case .finished(let result):
                        await onResult(results, result)
                        results += 1
                        if result.tlsActive || tls == .implicit {
                            logger.debug("TLS used", metadata: ["host": "\(host)", "certificate": "\(tls == .verify || tls == .implicit ? "verified" : "not verified (opportunistic)")"])
                        }
                        if actions.isEmpty, session.isIdle { actions = nextStep(&session, &remaining, results: results) }
                    case .close:
                        closed = true
                    }
                }
            }
        } catch {
            if results == 0 {
                throw OutboundConnectionError(description: "\(host)[\(address.ipAddress ?? "?")]: connection failed: \(error)")
            }
            logger.notice("connection ended early", metadata: ["host": "\(host)", "error": "\(error)"])
        }
        if results == 0 {
            throw OutboundConnectionError(description: "\(host)[\(address.ipAddress ?? "?")]: connection closed without a reply")
        }
        return results
    }

    /// After a finished transaction on a kept-open session: the next message, or QUIT.
    private func nextStep(_ session: inout SMTPClientSession, _ remaining: inout ArraySlice<SMTPOutboundMessage>, results: Int) -> [SMTPClientAction] {
        if let next = remaining.first, results < configuration.maxMessagesPerConnection {
            remaining = remaining.dropFirst()
            return session.send(next)
        }
        return session.quit()
    }

    private func startTLS(on channel: any Channel) async throws {
        let context = try makeTLSContext(verify: tls == .verify)
        let serverName = host.isIPAddress ? nil : host
        let handshake = channel.eventLoop.makePromise(of: Void.self)
        try await channel.eventLoop.submit {
            let ssl = try NIOSSLClientHandler(context: context, serverHostname: serverName)
            try channel.pipeline.syncOperations.addHandler(ssl, position: .first)
            try channel.pipeline.syncOperations.addHandler(TLSHandshakeWaiter(promise: handshake), position: .after(ssl))
        }.get()
        try await handshake.futureResult.get()
    }

    private func makeTLSContext(verify: Bool) throws -> NIOSSLContext {
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        tlsConfiguration.minimumTLSVersion = .tlsv12
        if verify {
            tlsConfiguration.certificateVerification = .fullVerification
            if let file = configuration.trustRootsFile {
                tlsConfiguration.trustRoots = .file(file)
            }
        } else {
            // Opportunistic TLS (RFC 7435): encryption against passive eavesdropping, whatever the certificate.
            tlsConfiguration.certificateVerification = .none
        }
        return try NIOSSLContext(configuration: tlsConfiguration)
    }
}

/// Completes a promise when a client-side TLS handshake finishes (or fails), then removes itself. Put it right after
/// the NIOSSL handler (outbound delivery, `doctor`).
public final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    let promise: EventLoopPromise<Void>

    public init(promise: EventLoopPromise<Void>) { self.promise = promise }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tlsEvent = event as? TLSUserEvent, case .handshakeCompleted = tlsEvent {
            promise.succeed(())
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        promise.fail(OutboundConnectionError(description: "connection closed during the TLS handshake"))
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        promise.fail(OutboundConnectionError(description: "handshake waiter removed"))
    }
}

/// Closes the connection when the server stays silent longer than `timeout` while we wait for a reply.
private final class ReadTimeoutHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    let timeout: Duration
    private var scheduled: Scheduled<Void>?

    init(timeout: Duration) { self.timeout = timeout }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        arm(context)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        arm(context)
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        scheduled?.cancel()
        context.fireChannelInactive()
    }

    private func arm(_ context: ChannelHandlerContext) {
        scheduled?.cancel()
        let nanoseconds = Int64(timeout.components.seconds) * 1_000_000_000
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        scheduled = context.eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) {
            loopBound.value.close(promise: nil)
        }
    }
}

extension String {
    var isIPAddress: Bool { (try? SocketAddress(ipAddress: self, port: 0)) != nil }
}
