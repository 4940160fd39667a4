import Foundation
import HTTPServer
import IMAPProtocol
import Logging
import MailCore
import Metrics
import ServerCore
import ServiceLifecycle
import Synchronization
import SMTPProtocol

/// Builds the HTTP server on `listen.http`: client autoconfiguration generated from the live configuration (enabled
/// services, their bound ports, the SASL mechanisms the servers really offer, the directory's domains), the MTA-STS
/// policy from `[mta_sts]`, and `/metrics` from the process-wide Prometheus registry (`LetterboxMetrics.registry`,
/// which must be touched before any listener is built so that every instrument is a real one).
enum HTTPWiring {
    /// The HTTP service and the address it bound, for `listeners.json`. A failure to bind ends the service group with
    /// `ListenerError.bindFailed` naming `listen.http` and the address, like the mail listeners.
    struct Endpoint: Service {
        let service: HTTPService
        let bound: AsyncStream<String>
        let address: ListenAddress
        let isBound: BoundFlag

        func run() async throws {
            do {
                try await service.run()
            } catch where !isBound.value.withLock({ $0 }) {
                throw ListenerError.bindFailed(listener: "http", host: address.host, port: address.port, reason: "\(error)")
            }
        }

        /// The bound `host:port`, or nil when the server stopped (or the caller was cancelled) before binding.
        func boundAddress() async -> String? {
            for await address in bound { return address }
            return nil
        }
    }

    final class BoundFlag: Sendable {
        let value = Mutex(false)
    }

    static func endpoint(_ context: ServerContext, listeners: [(LetterboxConfiguration.Service, Listener)]) throws(ConfigurationError) -> Endpoint? {
        guard let configuration = try serverConfiguration(context.configuration) else { return nil }
        guard let address = context.configuration.listeners[.http] else { return nil }
        let (bound, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let configured = context.configuration
        let system = context.system
        let endpoints = MailHTTPEndpoints(
            configuration: configuration,
            settings: { try await clientSettings(configured, listeners: listeners, domains: { try await system.directoryStore.domains().map(\.description) }) },
            metrics: {
                await updateQueueGauges(system)
                return LetterboxMetrics.exposition()
            })
        let isBound = BoundFlag()
        let gate = context.gate
        let service = HTTPService(endpoints: endpoints, logger: context.logger, admit: { await gate.wait() }) { boundAddress in
            isBound.value.withLock { $0 = true }
            continuation.yield(boundAddress)
            continuation.finish()
        }
        return Endpoint(service: service, bound: bound, address: address, isBound: isBound)
    }

    /// `listen.http`, `[http]` and `[mta_sts]` as the HTTP module's configuration; nil when `listen.http` is disabled.
    static func serverConfiguration(_ configuration: LetterboxConfiguration) throws(ConfigurationError) -> HTTPServerConfiguration? {
        guard let address = configuration.listeners[.http] else { return nil }
        var result = HTTPServerConfiguration(host: address.host, port: address.port)
        var allowed: [AddressRange] = []
        for entry in configuration.http.metricsAllow {
            guard let range = AddressRange(entry) else {
                throw ConfigurationError(key: "http.metrics_allow", value: entry, problem: "expected an IP address or CIDR block, e.g. 127.0.0.0/8 or ::1")
            }
            allowed.append(range)
        }
        result.metricsAllowed = allowed
        result.requestHeadTimeout = .seconds(configuration.http.requestHeadTimeoutSeconds)
        result.requestBodyTimeout = .seconds(configuration.http.requestBodyTimeoutSeconds)
        result.maximumConnections = configuration.http.maxConnections
        let mode = MTASTSPolicy.Mode(rawValue: configuration.http.mtaSTSMode) ?? .testing
        let mx = configuration.http.mtaSTSMX.isEmpty ? [configuration.hostname.lowercased()] : configuration.http.mtaSTSMX
        result.mtaSTS = MTASTSPolicy(mode: mode, mx: mx, maxAge: configuration.http.mtaSTSMaxAge)
        result.mtaSTSAnyHost = configuration.http.mtaSTSAnyHost
        return result
    }

    /// What clients are told: each enabled client service with the port it is really bound to (the configured one when
    /// it is not 0) and the mechanisms its protocol configuration advertises.
    static func clientSettings(_ configuration: LetterboxConfiguration, listeners: [(LetterboxConfiguration.Service, Listener)],
                               domains: @Sendable () async throws -> [String]) async throws -> MailClientSettings {
        let imapMechanisms = IMAPSessionState.Configuration().authenticationMechanisms
        let smtpMechanisms = SMTPServerSession.Configuration(role: .submission, hostname: DomainName("localhost")!).authenticationMechanisms
        let table: [(LetterboxConfiguration.Service, MailClientService.Kind, MailClientService.Security, [String])] = [
            (.imaps, .imaps, .implicitTLS, imapMechanisms), (.imap, .imap, .startTLS, imapMechanisms),
            (.submissions, .submissions, .implicitTLS, smtpMechanisms), (.submission, .submission, .startTLS, smtpMechanisms),
        ]
        var services: [MailClientService.Kind: MailClientService] = [:]
        for (service, kind, security, mechanisms) in table {
            guard let address = configuration.listeners[service] else { continue }
            var port = address.port
            if let listener = listeners.first(where: { $0.0 == service })?.1, let bound = try? await listener.boundAddress.port {
                port = bound
            }
            services[kind] = MailClientService(kind: kind, port: port, security: security, authMechanisms: mechanisms)
        }
        return MailClientSettings(hostname: configuration.hostname, domains: try await domains(), services: services)
    }

    /// Queue size and the oldest message's age, refreshed at each scrape.
    static func updateQueueGauges(_ system: MailSystem) async {
        guard let entries = try? await system.queueStore.queueEntries() else { return }
        let now = Int64(Date().timeIntervalSince1970)
        Gauge(label: LetterboxMetrics.queueSize).record(entries.count)
        Gauge(label: LetterboxMetrics.queueOldestAge).record(entries.map { now - $0.createdAt }.max() ?? 0)
    }
}
