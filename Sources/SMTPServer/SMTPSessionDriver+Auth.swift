import Directory
import Logging
import MailStore
import SASL
import SMTPProtocol

/// AUTH (RFC 4954): the lines of the exchange go to the shared `Authenticator` and its steps come back as replies. Nothing
/// here logs a password, a SASL response or an AUTH line.
extension SMTPSessionDriver {
    var authenticationClient: Authenticator.Client { Authenticator.Client(service: "smtp", address: clientAddress) }

    func startAuthentication(_ mechanism: String, _ initialResponse: [UInt8]?) async -> [SMTPServerAction] {
        guard let name = SASLMechanismName(matching: mechanism) else { return session.authenticationFailed(.malformedResponse) }
        let (started, step) = await service.authenticator.begin(name, initialResponse: initialResponse, client: authenticationClient)
        exchange = started
        return reply(to: step, mechanism: name)
    }

    func continueAuthentication(_ response: [UInt8]) async -> [SMTPServerAction] {
        guard var running = exchange else { return session.authenticationFailed(.temporary) }
        let step = await service.authenticator.respond(to: &running, with: response)
        exchange = running
        return reply(to: step, mechanism: running.mechanism)
    }

    /// The one place where the authenticator's steps become SMTP replies (RFC 4954 §6).
    private func reply(to step: Authenticator.Step, mechanism: SASLMechanismName) -> [SMTPServerAction] {
        switch step {
        case .challenge(let bytes):
            return session.authenticationChallenge(bytes)
        case .success(let found):
            account = found
            registerSession(found)
            connection.logger[metadataKey: "user"] = "\(found.address)"
            connection.logger.info("authenticated", metadata: ["method": "\(exchange?.mechanism.rawValue ?? "?")"])
            return session.authenticationSucceeded(user: found.address.description)
        case .failure(let failure):
            exchange = nil
            switch failure {
            case .malformed, .cancelled:
                return session.authenticationFailed(.malformedResponse)
            case .invalidCredentials:
                connection.logger.notice("AUTH failed")
                return session.authenticationFailed(.invalidCredentials)
            case .lockedOut:
                connection.logger.notice("AUTH refused: address or account locked out after failures")
                return session.authenticationFailed(.temporary)
            case .temporary:
                connection.logger.error("AUTH failed: the store could not be read")
                return session.authenticationFailed(.temporary)
            }
        }
    }

    /// A disabled account's connection ends within a second (`SessionRegistry`): the shutdown request makes the session
    /// answer 421 at its next command, or at once when it is waiting for one.
    private func registerSession(_ found: AccountRecord) {
        if let registration { service.authenticator.sessions.unregister(registration) }
        let waker = connection.waker
        registration = service.authenticator.sessions.register(account: found.id) { waker.requestShutdown() }
    }
}
