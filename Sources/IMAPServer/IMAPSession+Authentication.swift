import Directory
import IMAPProtocol
import MailStore
import SASL
import ServerCore
import Synchronization

/// LOGIN (RFC 9051 §6.2.3) and AUTHENTICATE (§6.2.2, RFC 4959 SASL-IR) through the shared `Authenticator`: this file
/// only turns lines into its calls and its steps into responses.
extension IMAPSession {
    var authenticationClient: Authenticator.Client {
        Authenticator.Client(service: "imap", address: connection.remoteAddress?.ipAddress)
    }

    func login(username: String, password: String) async throws -> Completion {
        try await finish(await authenticator.login(username: username, password: password, client: authenticationClient), method: "LOGIN")
    }

    func authenticate(mechanism name: String, initialResponse: SASLInitialResponse?) async throws -> Completion {
        guard let mechanism = SASLMechanismName(matching: name) else {
            throw CommandFailure.no("unsupported authentication mechanism", code: .cannot)
        }
        let initial: [UInt8]?
        switch initialResponse {
        case nil: initial = nil
        case .empty: initial = []
        case .base64(let text):
            guard let bytes = try? SASLBase64.decode(text) else { throw CommandFailure.bad("invalid base64 in initial response") }
            initial = bytes
        }
        var (exchange, step) = await authenticator.begin(mechanism, initialResponse: initial, client: authenticationClient)
        while case .challenge(let challenge) = step, var running = exchange {
            // RFC 9051 §6.2.2: data with success (SCRAM's v=) also goes in a challenge; the client answers empty.
            step = await authenticator.respond(to: &running, with: try await challengeResponse(challenge))
            exchange = running
        }
        return try await finish(step, method: mechanism.rawValue)
    }

    /// The one place where the authenticator's outcome becomes an IMAP response.
    private func finish(_ step: Authenticator.Step, method: String) async throws -> Completion {
        switch step {
        case .success(let found):
            return try await loggedIn(found, method: method)
        case .challenge:
            throw CommandFailure.no("authentication failed", code: .serverBug)
        case .failure(let failure):
            switch failure {
            case .malformed: throw CommandFailure.bad("malformed authentication exchange")
            case .cancelled: throw CommandFailure.bad("authentication cancelled")
            case .invalidCredentials: return try await authenticationFailed()
            case .lockedOut:
                logger.notice("authentication refused: address or account locked out after failures")
                throw CommandFailure.no("too many failed logins; try again later", code: .unavailable)
            case .temporary:
                logger.error("authentication failed: the store could not be read")
                throw CommandFailure.no("temporary server failure, try again later", code: .unavailable)
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
        logger.notice("authentication failed", metadata: ["failures": "\(authenticationFailures)"])
        if authenticationFailures >= configuration.maximumAuthenticationFailures {
            try await send(.status(.bye, text: "too many authentication failures"))
            closing = true
        }
        return Completion(status: .no, code: .authenticationFailed, text: "authentication failed")
    }

    private func loggedIn(_ found: AccountRecord, method: String) async throws -> Completion {
        guard userConnections.acquire(found.id, limit: configuration.maximumConnectionsPerUser) else {
            throw CommandFailure.no("too many connections for this account", code: .limit)
        }
        account = found
        state.authenticated()
        let waker = connection.waker, revoked = self.revoked
        registration = authenticator.sessions.register(account: found.id) {
            revoked.set()
            waker.requestShutdown()
        }
        logger[metadataKey: "user"] = "\(found.address)"
        connection.logger[metadataKey: "user"] = "\(found.address)"
        connection.idleTimeout = configuration.authenticatedTimeout
        logger.info("authenticated", metadata: ["method": "\(method)"])
        return .ok("authenticated", code: .capability(state.capabilities))
    }

    /// UNAUTHENTICATE (RFC 8437): forget the user — the selected mailbox, the connection slot, the session registration,
    /// ENABLEd extensions — and wait for a new login on the same (TLS) connection.
    func unauthenticate() async throws -> Completion {
        selected?.close()
        selected = nil
        if let account { userConnections.release(account.id) }
        if let registration { authenticator.sessions.unregister(registration) }
        registration = nil
        account = nil
        authenticationFailures = 0
        state.unauthenticated()
        parser.options.utf8Enabled = false
        logger[metadataKey: "user"] = nil
        connection.logger[metadataKey: "user"] = nil
        connection.idleTimeout = configuration.unauthenticatedTimeout
        logger.info("unauthenticated")
        return .ok("UNAUTHENTICATE completed")
    }

    /// The BYE text when the session is asked to end: its account was disabled, or the server is stopping.
    var shutdownReason: String {
        revoked.isSet ? "account disabled" : "server shutting down"
    }
}

/// Set (from the session registry's sweep) when the session's account was disabled or removed.
final class RevocationFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
