import DNS
import Delivery
import Foundation
import Logging
import SMTPProtocol
import ServiceLifecycle

/// Builds the outbound side: the DNS resolver, the route and TLS settings from `[delivery]`, and the queue runner that
/// runs as one service next to the listeners.
enum DeliveryWiring {
    static func resolver(_ configuration: LetterboxConfiguration) throws(ConfigurationError) -> DNSResolver {
        var dns = DNSResolverConfiguration()
        dns.servers = configuration.dnsServers
        do { return try DNSResolver(configuration: dns) } catch {
            throw ConfigurationError(key: "dns.servers", value: configuration.dnsServers.joined(separator: ", "), problem: "\(error)")
        }
    }

    static func outbound(_ configuration: LetterboxConfiguration) throws(ConfigurationError) -> OutboundConfiguration {
        let settings = configuration.delivery
        var outbound = OutboundConfiguration(hostname: configuration.hostname)
        if let source = settings.sourceAddress {
            outbound.sourceAddress = source
        } else if let mx = configuration.listeners[.smtp], !["0.0.0.0", "::", "*"].contains(mx.host) {
            outbound.sourceAddress = mx.host
        }
        outbound.mxPort = settings.mxPort
        outbound.defaultTLS = OutboundTLS(rawValue: settings.tls) ?? .opportunistic
        outbound.trustRootsFile = settings.trustRoots
        if let smarthost = settings.smarthost, let address = ListenAddress(smarthost) {
            var credentials: SMTPClientCredentials?
            if let user = settings.smarthostUser, let file = settings.smarthostPasswordFile {
                guard let password = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw ConfigurationError(key: "delivery.smarthost_password_file", value: file, problem: "cannot read the file")
                }
                credentials = SMTPClientCredentials(username: user, password: password.trimmingCharacters(in: .newlines))
            }
            outbound.smarthost = OutboundRoute(
                host: address.host, port: address.port, tls: OutboundTLS(rawValue: settings.smarthostTLS) ?? .verify, credentials: credentials)
        }
        for (domain, target) in settings.routes {
            guard let address = ListenAddress(target) else { continue }
            outbound.routes[domain] = OutboundRoute(host: address.host, port: address.port, tls: outbound.tls(for: domain))
        }
        for (domain, mode) in settings.tlsPolicy { outbound.tlsPolicies[domain] = OutboundTLS(rawValue: mode) }
        outbound.retry.firstRetry = .seconds(settings.firstRetrySeconds)
        outbound.retry.maximumInterval = .seconds(settings.maxRetryIntervalSeconds)
        outbound.retry.expireAfter = .seconds(settings.expireSeconds)
        outbound.retry.delayWarningAfter = .seconds(settings.delayWarningSeconds)
        outbound.maxConcurrentDeliveries = settings.maxConcurrent
        outbound.maxConnectionsPerDomain = settings.maxPerDomain
        return outbound
    }
}

/// The queue runner as a service: stops when graceful shutdown begins (an attempt in progress is abandoned at its next
/// await; its messages stay queued and go again after the restart).
struct QueueRunnerService: Service {
    let runner: QueueRunner

    func run() async throws {
        await cancelWhenGracefulShutdown { await runner.run() }
    }
}
