import Directory
import IMAPProtocol
import MailStore
import SASL
import ServerCore
import Metrics

/// LOGIN (RFC 9051 §6.2.3) and AUTHENTICATE (§6.2.2, RFC 4959 SASL-IR) through the SASL state machines.
extension IMAPSession {
    func login(username: String, password: String) async throws -> Completion {
        guard let found = await directory.authenticate(username: username, password: password) else {
            return try await authenticationFailed()
        }
        return try await loggedIn(found)
    }

    func authenticate(mechanism name: String, initialResponse: SASLInitialResponse?) async throws -> Completion {
        guard let mechanism = SASLMechanismName(matching: name) else {
            throw CommandFailure.no("unsupported authentication mechanism", code: .cannot)
        }
        var exchange = SASLServerExchange(mechanism: mechanism)
        var found: AccountRecord?
        let initial: [UInt8]?
        switch initialResponse {
        case nil: initial = nil
        case .empty: initial = []
        case .base64(let text):
            guard let bytes = try? SASLBase64.decode(text) else { throw CommandFailure.bad("invalid base64 in initial response") }
            initial = bytes
        }
        var step = exchange.start(initialResponse: initial)
        while true {
            switch step {
            case .challenge(let challenge):
                step = exchange.step(response: try await challengeResponse(challenge))
            case .needCredentials(let username):
                let lookup = await directory.scramCredentials(username: username)
                found = lookup?.0
                step = exchange.provide(credentials: lookup?.1)
            case .success(_, let finalData):
                if let finalData {
                    // RFC 9051 §6.2.2: additional data with success goes in a last challenge; the client answers empty.
                    _ = try await challengeResponse(finalData)
                }
                guard let found else { return try await authenticationFailed() }
                return try await loggedIn(found)
            case .failure(let error):
                switch error.kind {
                case .syntax: throw CommandFailure.bad("malformed authentication exchange: \(error)")
                case .cancelled: throw CommandFailure.bad("authentication cancelled")
                case .authentication: return try await authenticationFailed()
                case .internalError:
                    logger.error("SASL exchange out of order", metadata: ["error": "\(error)"])
                    throw CommandFailure.no("authentication failed", code: .serverBug)
                }
            }
        }
    }

    /// Sends `+ base64` and reads the client's line; "*" cancels (RFC 9051 §6.2.2).
    private func challengeResponse(_ challenge: [UInt8]) async throws -> [UInt8] {
        try await send(.continuation(SASLBase64.encode(challenge)))
        try await connection.flush()
        let line = try await connection.readLine()
        let text = line.text
        if text == "*" { throw CommandFailure.bad("authentication cancelled") }
        guard let bytes = try? SASLBase64.decode(text) else { throw CommandFailure.bad("invalid base64 in authentication response") }
        return bytes
    }

    private func authenticationFailed() async throws -> Completion {
        authenticationFailures += 1
        Counter(label: "letterbox_auth_failures_total", dimensions: [("protocol", "imap")]).increment()
        logger.notice("authentication failed", metadata: ["failures": "\(authenticationFailures)"])
        try await connection.flush()
        try? await Task.sleep(for: configuration.authenticationFailureDelay)
        if authenticationFailures >= configuration.maximumAuthenticationFailures {
            try await send(.status(.bye, text: "too many authentication failures"))
            closing = true
        }
        return Completion(status: .no, code: .authenticationFailed, text: "authentication failed")
    }

    private func loggedIn(_ found: AccountRecord) async throws -> Completion {
        guard userConnections.acquire(found.id, limit: configuration.maximumConnectionsPerUser) else {
            throw CommandFailure.no("too many connections for this account", code: .limit)
        }
        account = found
        state.authenticated()
        logger[metadataKey: "user"] = "\(found.address)"
        connection.logger[metadataKey: "user"] = "\(found.address)"
        connection.idleTimeout = configuration.authenticatedTimeout
        logger.info("authenticated")
        return .ok("authenticated", code: .capability(state.capabilities))
    }
}
