/// Slow and surplus HTTP connections, dealt with before Hummingbird sees a byte (issue 15).
///
/// Invariants:
/// 1. A client gets `requestHeadTimeout` to send a request's head, on a new connection and after each response; then
///    `requestBodyTimeout` more for the rest (its body). Slower connections are closed: trickling a byte every few seconds
///    (slowloris) holds a connection for at most the sum, never indefinitely.
/// 2. At most `maximumConnections` connections are open; the next one is answered `503` and closed at once, its bytes
///    never parsed.
/// 3. Only raw bytes are looked at (the end of a head is an empty line): `HTTPRequestDeadline` is pure, the handler
///    below only carries out its actions.
import NIOCore
import Synchronization

/// When a connection must have delivered its request: a state machine fed with the bytes that arrive and the moments
/// the server starts and finishes answering.
struct HTTPRequestDeadline: Sendable, Equatable {
    enum Phase: Equatable {
        /// Waiting for (the rest of) a request head.
        case awaitingHead
        /// The head has arrived; the body, if any, must follow by the body deadline.
        case readingBody
        /// The server is answering: no deadline for the client.
        case responding
    }

    enum Action: Equatable {
        case none
        /// Close the connection when this much time has passed, replacing any earlier deadline.
        case armTimer(TimeAmount)
        case cancelTimer
    }

    let headTimeout: TimeAmount
    let bodyTimeout: TimeAmount
    private(set) var phase = Phase.awaitingHead
    /// Octets of the current header line so far, a CR not counted.
    private var lineLength = 0
    /// Whether a non-empty line of the current head has ended (empty lines before a request line are ignored,
    /// RFC 9112 §2.2).
    private var sawHeaderLine = false

    init(headTimeout: TimeAmount, bodyTimeout: TimeAmount) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
    }

    /// The connection opened: the first head is due.
    func opened() -> Action { .armTimer(headTimeout) }

    /// Bytes arrived from the client.
    mutating func received(_ bytes: ByteBufferView) -> Action {
        guard phase == .awaitingHead else { return .none }
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\n"):
                if lineLength == 0, sawHeaderLine {
                    phase = .readingBody
                    return .armTimer(bodyTimeout)
                }
                sawHeaderLine = sawHeaderLine || lineLength > 0
                lineLength = 0
            case UInt8(ascii: "\r"):
                break
            default:
                lineLength += 1
            }
        }
        return .none
    }

    /// The server writes (part of) a response.
    mutating func responseWritten() -> Action {
        guard phase != .responding else { return .none }
        phase = .responding
        return .cancelTimer
    }

    /// The server flushed what it wrote: the response is out, the next head is due.
    mutating func responseFlushed() -> Action {
        guard phase == .responding else { return .none }
        phase = .awaitingHead
        lineLength = 0
        sawHeaderLine = false
        return .armTimer(headTimeout)
    }
}

/// Open HTTP connections, shared by every connection of one server.
final class HTTPConnectionCount: Sendable {
    let maximum: Int
    private let open = Mutex(0)

    init(maximum: Int) { self.maximum = maximum }

    /// Takes a slot; false when all `maximum` are taken.
    func admit() -> Bool {
        open.withLock { open in
            guard open < maximum else { return false }
            open += 1
            return true
        }
    }

    func release() { open.withLock { $0 -= 1 } }

    var current: Int { open.withLock { $0 } }
}

/// The first handler of every HTTP connection's pipeline (raw bytes, before the HTTP decoder): admission against
/// `HTTPConnectionCount` and the deadlines of `HTTPRequestDeadline`.
final class HTTPConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    static let refusal = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n\r\ntoo many connections\n"

    private let connections: HTTPConnectionCount
    private var deadline: HTTPRequestDeadline
    private var timer: Scheduled<Void>?
    private var admitted = false
    private var refused = false
    private var started = false

    init(connections: HTTPConnectionCount, headTimeout: TimeAmount, bodyTimeout: TimeAmount) {
        self.connections = connections
        self.deadline = HTTPRequestDeadline(headTimeout: headTimeout, bodyTimeout: bodyTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        guard connections.admit() else {
            refused = true
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: Self.refusal)), promise: nil)
            context.close(promise: nil)
            return
        }
        admitted = true
        perform(deadline.opened(), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    private func stop() {
        timer?.cancel()
        timer = nil
        if admitted {
            admitted = false
            connections.release()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }  // never parsed: the 503 is already on its way
        perform(deadline.received(unwrapInboundIn(data).readableBytesView), context: context)
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        perform(deadline.responseWritten(), context: context)
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        perform(deadline.responseFlushed(), context: context)
        context.flush()
    }

    private func perform(_ action: HTTPRequestDeadline.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .cancelTimer:
            timer?.cancel()
            timer = nil
        case .armTimer(let delay):
            timer?.cancel()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: delay) { loopBound.value.close(promise: nil) }
        }
    }
}

/// Puts an `HTTPConnectionGuard` at the front of the pipeline. Hummingbird adds its extra handlers behind the HTTP
/// decoder, where no raw byte passes, so this one (in that place, passing everything on) adds the guard in front.
final class HTTPConnectionGuardInstaller: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Never

    private let connections: HTTPConnectionCount
    private let headTimeout: TimeAmount
    private let bodyTimeout: TimeAmount

    init(connections: HTTPConnectionCount, headTimeout: TimeAmount, bodyTimeout: TimeAmount) {
        self.connections = connections
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let guardHandler = HTTPConnectionGuard(connections: connections, headTimeout: headTimeout, bodyTimeout: bodyTimeout)
        do {
            try context.pipeline.syncOperations.addHandler(guardHandler, position: .first)
        } catch {
            context.close(promise: nil)
        }
    }
}
