import MailCore
import ServerCore
import SMTPServer

/// Builds the SMTP listeners: MX on `listen.smtp` (STARTTLS), submission on `listen.submission` (STARTTLS) and
/// `listen.submissions` (implicit TLS, RFC 8314). All three share the process's `Authenticator` with IMAP.
enum SMTPWiring {
    static func endpoints(_ context: ServerContext, authentication: MessageAuthentication? = nil) throws(ConfigurationError) -> [ServiceEndpoint] {
        guard let hostname = DomainName(context.configuration.hostname) else {
            throw ConfigurationError(key: "hostname", value: context.configuration.hostname, problem: "not a valid host name")
        }
        let services: [(LetterboxConfiguration.Service, SMTPService.Role, TLSMode)] = [
            (.smtp, .mx, .startTLS), (.submission, .submission, .startTLS), (.submissions, .submission, .implicit),
        ]
        var endpoints: [ServiceEndpoint] = []
        for (service, role, tlsMode) in services {
            guard var listener = context.listenerConfiguration(service, tlsMode: tlsMode) else { continue }
            let settings = context.configuration.smtp
            listener.maxConnections = settings.maxConnections
            listener.maxConnectionsPerAddress = settings.maxConnectionsPerIP
            listener.idleTimeout = .seconds(settings.idleTimeoutSeconds)
            var configuration = SMTPService.Configuration(
                role: role, hostname: hostname, startTLSAvailable: tlsMode == .startTLS,
                allowCleartextAuthentication: context.configuration.allowCleartextAuthentication,
                maximumMessageSize: UInt64(settings.maxMessageSize), maximumRecipients: settings.maxRecipients,
                maximumErrors: settings.maxErrors, idleTimeout: .seconds(settings.idleTimeoutSeconds),
                postmaster: settings.postmaster.flatMap(EmailAddress.init))
            configuration.checkFrom = context.configuration.submission.checkFrom
            let handler = SMTPService(
                configuration: configuration, authenticator: context.system.authenticator, delivery: context.delivery,
                authentication: authentication)
            endpoints.append(ServiceEndpoint(service: service, listener: listener, handler: handler))
        }
        return endpoints
    }
}
