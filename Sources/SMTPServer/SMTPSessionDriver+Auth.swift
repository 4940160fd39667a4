import Directory
import Logging
import Metrics
import MailStore
import SASL
import SMTPProtocol

/// AUTH (RFC 4954) with the SASL module's server mechanisms, credentials from `AccountDirectory.scramCredentials`, and the
/// `AuthenticationThrottle`. Nothing here logs a password, a SASL response or an AUTH line.
extension SMTPSessionDriver {
    func startAuthentication(_ mechanism: String, _ initialResponse: [UInt8]?) async -> [SMTPServerAction] {
        guard let name = SASLMechanismName(matching: mechanism) else { return session.authenticationFailed(.malformedResponse) }
        if service.throttle.isLockedOut(address: clientAddress, account: nil) {
            connection.logger.notice("AUTH refused: address locked out after failures")
            return session.authenticationFailed(.temporary)
        }
        var sasl = SASLServerExchange(mechanism: name, configuration: service.saslConfiguration)
        let step = sasl.start(initialResponse: initialResponse)
        exchange = sasl
        candidate = nil
        candidateName = nil
        return await advance(step)
    }

    func continueAuthentication(_ response: [UInt8]) async -> [SMTPServerAction] {
        if let account = pendingSuccess {
            pendingSuccess = nil
            // RFC 4954 §4: after additional data with success sent as a challenge, the client answers with an empty line.
            guard response.isEmpty else { return session.authenticationFailed(.malformedResponse) }
            return succeed(account)
        }
        guard var sasl = exchange else { return session.authenticationFailed(.temporary) }
        let step = sasl.step(response: response)
        exchange = sasl
        return await advance(step)
    }

    private func advance(_ step: SASLServerStep) async -> [SMTPServerAction] {
        switch step {
        case .challenge(let challenge):
            return session.authenticationChallenge(challenge)
        case .needCredentials(let username):
            candidateName = username
            if service.throttle.isLockedOut(address: clientAddress, account: username) {
                exchange = nil
                connection.logger.notice("AUTH refused: account or address locked out after failures")
                return session.authenticationFailed(.temporary)
            }
            guard var sasl = exchange else { return session.authenticationFailed(.temporary) }
            let next: SASLServerStep
            if let clear = sasl.passwordToVerify {
                // PLAIN and LOGIN: through the directory, whose login cache spares a key derivation per repeated login.
                candidate = await service.directory.authenticate(username: clear.username, password: clear.password)
                next = sasl.provide(passwordVerified: candidate != nil)
            } else {
                let found = await service.directory.scramCredentials(username: username)
                candidate = found?.0
                next = sasl.provide(credentials: found?.1)
            }
            exchange = sasl
            return await advance(next)
        case .success(_, let finalData):
            exchange = nil
            guard let account = candidate else { return session.authenticationFailed(.temporary) }
            if let finalData {
                pendingSuccess = account
                return session.authenticationChallenge(finalData)
            }
            return succeed(account)
        case .failure(let error):
            exchange = nil
            switch error.kind {
            case .syntax, .cancelled:
                return session.authenticationFailed(.malformedResponse)
            case .internalError:
                connection.logger.error("SASL sequencing error", metadata: ["error": "\(error)"])
                return session.authenticationFailed(.temporary)
            case .authentication:
                Counter(label: "letterbox_auth_failures_total", dimensions: [("protocol", "smtp")]).increment()
                let delay = service.throttle.recordFailure(address: clientAddress, account: candidateName)
                connection.logger.notice("AUTH failed", metadata: ["user": "\(candidateName ?? "?")", "delay": "\(delay)"])
                try? await Task.sleep(for: delay)
                return session.authenticationFailed(.invalidCredentials)
            }
        }
    }

    private func succeed(_ account: AccountRecord) -> [SMTPServerAction] {
        self.account = account
        candidate = nil
        service.throttle.recordSuccess(address: clientAddress, account: account.address.normalized)
        connection.logger[metadataKey: "user"] = "\(account.address)"
        connection.logger.info("authenticated")
        return session.authenticationSucceeded(user: account.address.description)
    }
}
