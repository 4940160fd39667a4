import IMAPServer
import ServerCore

/// Builds the IMAP listeners (`listen.imap` with STARTTLS, `listen.imaps` with implicit TLS). Both share one per-account
/// connection limit.
enum IMAPWiring {
    static func endpoints(_ context: ServerContext) throws(ConfigurationError) -> [ServiceEndpoint] {
        var configuration = IMAPServerConfiguration()
        configuration.allowCleartextAuthentication = context.configuration.allowCleartextAuthentication
        configuration.startTLSAvailable = true
        let imap = IMAPConnectionHandler(store: context.system.mailStore, directory: context.system.directory, configuration: configuration)
        var endpoints: [ServiceEndpoint] = []
        if let listener = context.listenerConfiguration(.imap, tlsMode: .startTLS) {
            endpoints.append(ServiceEndpoint(service: .imap, listener: listener, handler: imap))
        }
        var implicit = configuration
        implicit.startTLSAvailable = false
        if let listener = context.listenerConfiguration(.imaps, tlsMode: .implicit) {
            endpoints.append(ServiceEndpoint(service: .imaps, listener: listener, handler: imap.sharingLimits(configuration: implicit)))
        }
        return endpoints
    }
}
