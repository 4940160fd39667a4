import IMAPServer
import ServerCore

/// Builds the IMAP listeners (`listen.imap` with STARTTLS, `listen.imaps` with implicit TLS). Both share one per-account
/// connection limit.
enum IMAPWiring {
    static func endpoints(_ context: ServerContext) throws(ConfigurationError) -> [ServiceEndpoint] {
        var configuration = IMAPServerConfiguration()
        configuration.allowCleartextAuthentication = context.configuration.allowCleartextAuthentication
        configuration.startTLSAvailable = true
        let settings = context.configuration.imap
        configuration.appendLimit = Int(settings.appendLimit)
        configuration.maximumLiteralSizeBeforeAuthentication = Int(settings.maxLiteralBeforeAuth)
        configuration.maximumConnectionsPerUser = settings.maxConnectionsPerUser
        configuration.unauthenticatedTimeout = .seconds(settings.loginTimeoutSeconds)
        configuration.authenticatedTimeout = .seconds(settings.idleTimeoutSeconds)
        configuration.idleTimeout = .seconds(settings.idleTimeoutSeconds)
        configuration.stateCacheMessages = settings.stateCacheMessages
        configuration.defaultQuota = context.configuration.defaultQuota
        func limited(_ listener: ListenerConfiguration?) -> ListenerConfiguration? {
            guard var listener else { return nil }
            listener.maxConnections = settings.maxConnections
            listener.maxConnectionsPerAddress = settings.maxConnectionsPerIP
            return listener
        }
        let imap = IMAPConnectionHandler(store: context.system.mailStore, authenticator: context.system.authenticator, configuration: configuration)
        var endpoints: [ServiceEndpoint] = []
        if let listener = limited(context.listenerConfiguration(.imap, tlsMode: .startTLS)) {
            endpoints.append(ServiceEndpoint(service: .imap, listener: listener, handler: imap))
        }
        var implicit = configuration
        implicit.startTLSAvailable = false
        if let listener = limited(context.listenerConfiguration(.imaps, tlsMode: .implicit)) {
            endpoints.append(ServiceEndpoint(service: .imaps, listener: listener, handler: imap.sharingLimits(configuration: implicit)))
        }
        return endpoints
    }
}
