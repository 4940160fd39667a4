import Delivery
import Directory
import Logging
import MailStore
import ServerCore

/// Everything a protocol server needs from the running process, handed to each `…Wiring` when the listeners are built.
struct ServerContext: Sendable {
    let configuration: LetterboxConfiguration
    let system: MailSystem
    let delivery: DeliveryAgent
    let certificates: TLSCertificateStore
    /// Opens once the process may serve (after the switch to `[server] user`); listeners and HTTP wait for it.
    let gate: ServingGate
    let logger: Logger

    /// The listener settings for a configured service, or nil when the service is disabled.
    func listenerConfiguration(_ service: LetterboxConfiguration.Service, tlsMode: TLSMode) -> ListenerConfiguration? {
        guard let address = configuration.listeners[service] else { return nil }
        return ListenerConfiguration(name: service.rawValue, host: address.host, port: address.port, tlsMode: tlsMode)
    }
}

/// One listening service: which configured service it is, its socket settings and the protocol that runs its sessions.
struct ServiceEndpoint: Sendable {
    let service: LetterboxConfiguration.Service
    let listener: ListenerConfiguration
    let handler: any ConnectionHandler
}
