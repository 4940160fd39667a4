/// The HTTP routes, as a pure function of a request summary (no sockets): `HTTPService` feeds it from Hummingbird.
///
/// | route | answer |
/// |---|---|
/// | `GET /mail/config-v1.1.xml[?emailaddress=A]`, `GET /.well-known/autoconfig/mail/config-v1.1.xml` | Thunderbird autoconfig for the address's domain (else the Host's: `autoconfig.D` or `D`); unknown address domain → 404 |
/// | `POST /autodiscover/autodiscover.xml` (any letter case) | Outlook POX autodiscover; malformed → 400, too big → 413 |
/// | `GET /apple/mail.mobileconfig?emailaddress=A` | Apple profile; missing address → 400, unknown domain → 404 |
/// | `GET /.well-known/mta-sts.txt` | the MTA-STS policy, only for Host `mta-sts.<local domain>` (or any host when configured) |
/// | `GET /metrics` | Prometheus text, only for peers in `metricsAllowed` (else 403) |
public struct MailHTTPEndpoints: Sendable {
    public var configuration: HTTPServerConfiguration
    /// The live client settings (domains can be added while the server runs, ports are the bound ones).
    public let settings: @Sendable () async throws -> MailClientSettings
    /// The Prometheus exposition text, produced on each scrape.
    public let metrics: @Sendable () async -> String

    public init(configuration: HTTPServerConfiguration, settings: @escaping @Sendable () async throws -> MailClientSettings,
                metrics: @escaping @Sendable () async -> String) {
        self.configuration = configuration
        self.settings = settings
        self.metrics = metrics
    }

    public func respond(to request: HTTPRequestSummary) async -> HTTPReply {
        let path = request.path
        switch (request.method, path.lowercased()) {
        case (.get, "/mail/config-v1.1.xml"), (.get, "/.well-known/autoconfig/mail/config-v1.1.xml"):
            return await autoconfig(request)
        case (.post, "/autodiscover/autodiscover.xml"):
            return await autodiscover(request)
        case (.get, "/apple/mail.mobileconfig"):
            return await mobileconfig(request)
        case (.get, "/.well-known/mta-sts.txt"):
            return await mtaSTS(request)
        case (.get, "/metrics"):
            guard let peer = request.peer, configuration.metricsAllowed.contains(where: { $0.contains(peer) }) else {
                return .text(403, "forbidden: /metrics is only served to the addresses in http.metrics_allow\n")
            }
            return HTTPReply(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: Array(await metrics().utf8))
        default:
            return Self.knownPaths.contains(path.lowercased()) ? .text(405, "method not allowed\n") : .text(404, "not found\n")
        }
    }

    static let knownPaths: Set<String> = [
        "/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml", "/autodiscover/autodiscover.xml",
        "/apple/mail.mobileconfig", "/.well-known/mta-sts.txt", "/metrics",
    ]

    private func currentSettings() async -> MailClientSettings? { try? await settings() }

    private func autoconfig(_ request: HTTPRequestSummary) async -> HTTPReply {
        guard let settings = await currentSettings() else { return .text(503, "configuration unavailable\n") }
        var domain: String?
        if let address = request.query["emailaddress"] {
            guard let local = settings.localDomain(of: address) else { return .text(404, "no configuration for this address\n") }
            domain = local
        } else if let host = request.host {
            // autoconfig.DOMAIN/mail/config-v1.1.xml or DOMAIN/.well-known/autoconfig/… without an address.
            let name = Self.hostWithoutPort(host)
            domain = settings.localDomain(named: name.hasPrefix("autoconfig.") ? String(name.dropFirst("autoconfig.".count)) : name)
        }
        return .xml(ThunderbirdAutoconfig.document(settings, domain: domain))
    }

    private func autodiscover(_ request: HTTPRequestSummary) async -> HTTPReply {
        let address: String
        do throws(OutlookAutodiscover.RequestError) { address = try OutlookAutodiscover.emailAddress(inRequest: request.body) } catch {
            return .text(400, "bad request: \(error == .missingEmailAddress ? "no EMailAddress in the request" : "not well-formed XML")\n")
        }
        guard let settings = await currentSettings() else { return .text(503, "configuration unavailable\n") }
        guard settings.localDomain(of: address) != nil else { return .text(404, "no configuration for this address\n") }
        return .xml(OutlookAutodiscover.response(settings, emailAddress: address))
    }

    private func mobileconfig(_ request: HTTPRequestSummary) async -> HTTPReply {
        guard let address = request.query["emailaddress"], !address.isEmpty else {
            return .text(400, "bad request: the emailaddress parameter is required\n")
        }
        guard let settings = await currentSettings() else { return .text(503, "configuration unavailable\n") }
        guard settings.localDomain(of: address) != nil else { return .text(404, "no configuration for this address\n") }
        guard let profile = AppleMobileConfig.profile(settings, emailAddress: address) else {
            return .text(404, "no IMAP or submission service with TLS is enabled\n")
        }
        let filename = address.filter { $0.isLetter || $0.isNumber || "@.-_".contains($0) }
        return HTTPReply(status: 200, contentType: AppleMobileConfig.contentType, body: profile,
                         contentDisposition: "attachment; filename=\"\(filename).mobileconfig\"")
    }

    private func mtaSTS(_ request: HTTPRequestSummary) async -> HTTPReply {
        guard let policy = configuration.mtaSTS else { return .text(404, "no MTA-STS policy is configured\n") }
        if !configuration.mtaSTSAnyHost {
            guard let settings = await currentSettings() else { return .text(503, "configuration unavailable\n") }
            let host = Self.hostWithoutPort(request.host ?? "").lowercased()
            guard host.hasPrefix("mta-sts."), settings.domains.contains(String(host.dropFirst("mta-sts.".count))) else {
                return .text(404, "MTA-STS policies are served for mta-sts.<local domain> only\n")
            }
        }
        return HTTPReply(status: 200, contentType: "text/plain; charset=utf-8", body: Array(policy.text.utf8))
    }

    /// `host:port`, `[v6]:port` or `host` → the host part.
    static func hostWithoutPort(_ authority: String) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close])
        }
        if let colon = authority.lastIndex(of: ":"), authority.firstIndex(of: ":") == colon {
            return String(authority[..<colon])
        }
        return authority
    }
}

/// What the routes need of an HTTP request.
public struct HTTPRequestSummary: Sendable, Equatable {
    public enum Method: Sendable, Equatable { case get, post, other }

    public var method: Method
    /// The path, without the query.
    public var path: String
    /// Decoded query parameters (the first of each name).
    public var query: [String: String]
    /// The Host header (or HTTP/2 :authority), with any port.
    public var host: String?
    /// The peer's IP address.
    public var peer: String?
    public var body: [UInt8]

    public init(method: Method, path: String, query: [String: String] = [:], host: String? = nil, peer: String? = nil,
                body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.host = host
        self.peer = peer
        self.body = body
    }
}

/// A complete answer.
public struct HTTPReply: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    /// `Content-Disposition` (the profile download's file name).
    public var contentDisposition: String?

    public init(status: Int, contentType: String, body: [UInt8], contentDisposition: String? = nil) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.contentDisposition = contentDisposition
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    static func text(_ status: Int, _ text: String) -> HTTPReply {
        HTTPReply(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }

    static func xml(_ document: String) -> HTTPReply {
        HTTPReply(status: 200, contentType: "application/xml; charset=utf-8", body: Array(document.utf8))
    }
}

/// The HTTP server's settings, with their defaults.
public struct HTTPServerConfiguration: Sendable, Equatable {
    /// Where to listen (`listen.http`).
    public var host: String
    public var port: Int
    /// `http.metrics_allow`: peers that may read `/metrics`. Default loopback only.
    public var metricsAllowed: [AddressRange] = AddressRange.loopback
    /// `[mta_sts]`: the policy served, or nil for none.
    public var mtaSTS: MTASTSPolicy?
    /// `mta_sts.any_host`: serve the policy whatever the Host header (when a proxy rewrites it). Default false.
    public var mtaSTSAnyHost = false
    /// Largest request body read (autodiscover requests are well under 1 KiB). Default 64 KiB; more gets 413.
    public var maximumBodySize = 65_536
    /// `http.request_head_timeout`: time to send a request's head, on a new connection and after each response.
    public var requestHeadTimeout = Self.defaultRequestHeadTimeout
    /// `http.request_body_timeout`: time to send the rest of a request once its head has arrived.
    public var requestBodyTimeout = Self.defaultRequestBodyTimeout
    /// `http.max_connections`: connections open at once; the next one is answered 503 and closed.
    public var maximumConnections = Self.defaultMaximumConnections

    public static let defaultRequestHeadTimeout: Duration = .seconds(10)
    public static let defaultRequestBodyTimeout: Duration = .seconds(30)
    public static let defaultMaximumConnections = 512

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}
