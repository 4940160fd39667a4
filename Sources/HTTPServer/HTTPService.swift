import Hummingbird
import Logging
import Metrics
import NIOCore

/// The Hummingbird application serving `MailHTTPEndpoints`; `run()` until graceful shutdown of the enclosing
/// ServiceGroup (the wiring wraps it in a ServiceLifecycle service).
///
/// Invariants: a request body is read only for POST and never past `maximumBodySize` (more → 413 before parsing);
/// every answer comes from `MailHTTPEndpoints.respond(to:)`, so a bad request is a 4xx reply, never a crash; every
/// connection passes `HTTPConnectionGuard` first (request deadlines, the connection cap).
public struct HTTPService: Sendable {
    private let application: Application<MailHTTPResponder>

    /// `onBound` is called with the bound address (`ip:port` as in listeners.json, the real port when the configuration
    /// said 0). Every request first awaits `admit`: the server binds at once but answers only once it may (e.g. after
    /// giving up root).
    public init(endpoints: MailHTTPEndpoints, logger: Logger, admit: @escaping @Sendable () async -> Void = {},
                onBound: @escaping @Sendable (String) async -> Void = { _ in }) {
        let configuration = endpoints.configuration
        let connections = HTTPConnectionCount(maximum: configuration.maximumConnections)
        let headTimeout = TimeAmount(configuration.requestHeadTimeout), bodyTimeout = TimeAmount(configuration.requestBodyTimeout)
        application = Application(
            responder: MailHTTPResponder(endpoints: endpoints, admit: admit),
            server: .http1(configuration: .init(additionalChannelHandlers: [
                HTTPConnectionGuardInstaller(connections: connections, headTimeout: headTimeout, bodyTimeout: bodyTimeout),
            ])),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "Letterbox"),
            onServerRunning: { channel in
                let address = channel.localAddress
                let host = address?.ipAddress ?? configuration.host
                let port = address?.port ?? configuration.port
                await onBound("\(host):\(port)")
            },
            logger: logger)
    }

    public func run() async throws {
        try await application.run()
    }
}

/// The request context: Hummingbird's core storage plus the peer address (for the `/metrics` allow list).
public struct MailHTTPRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// Turns a Hummingbird request into an `HTTPRequestSummary` and the `HTTPReply` back into a response.
public struct MailHTTPResponder: HTTPResponder {
    public typealias Context = MailHTTPRequestContext
    let endpoints: MailHTTPEndpoints
    let admit: @Sendable () async -> Void

    public func respond(to request: Request, context: Context) async throws -> Response {
        await admit()
        let method: HTTPRequestSummary.Method = switch request.method {
        case .get: .get
        case .post: .post
        default: .other
        }
        var body: [UInt8] = []
        if method == .post {
            do {
                let buffer = try await request.body.collect(upTo: endpoints.configuration.maximumBodySize)
                body = Array(buffer.readableBytesView)
            } catch is NIOTooManyBytesError {
                return Self.response(.text(413, "request body too large\n"))
            }
        }
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters where query[String(key)] == nil {
            query[String(key)] = String(value)
        }
        let summary = HTTPRequestSummary(
            method: method, path: request.uri.path, query: query,
            host: request.head.authority, peer: context.remoteAddress?.ipAddress, body: body)
        let reply = await endpoints.respond(to: summary)
        let route = MailHTTPEndpoints.knownPaths.contains(summary.path.lowercased()) ? summary.path.lowercased() : "other"
        Counter(label: LetterboxMetrics.httpRequests, dimensions: [("route", route), ("status", String(reply.status))]).increment()
        return Self.response(reply)
    }

    static func response(_ reply: HTTPReply) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = reply.contentType
        if let disposition = reply.contentDisposition { headers[.contentDisposition] = disposition }
        headers[.cacheControl] = "no-store"
        return Response(status: .init(code: reply.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
    }
}
