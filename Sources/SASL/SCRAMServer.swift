/// Server side of SCRAM-SHA-256 (RFC 5802 §5, RFC 7677) without channel binding.
///
/// ```
/// C: n,,n=user,r=<c-nonce>                       (initial response, or after an empty challenge)
/// S: .needCredentials("user") → caller provides SCRAMCredentials (or nil)
/// S: r=<c-nonce><s-nonce>,s=<salt>,i=<iterations>
/// C: c=biws,r=<c-nonce><s-nonce>,p=<ClientProof>
/// S: .success(identity, finalData: "v=<ServerSignature>")
/// ```
///
/// Invariants:
/// - An unknown user gets a server-first-message like any other (stable fake salt, configured iteration count) and fails
///   only at the proof, so the exchange does not reveal which accounts exist.
/// - The proof is checked by comparing `H(ClientProof XOR ClientSignature)` with StoredKey in constant time.
public struct SCRAMSHA256Server: SASLServerMechanism {
    public static let name = SASLMechanismName.scramSHA256

    enum State: Sendable {
        case initial
        case awaitingClientFirst
        case awaitingCredentials(ClientFirstMessage, SASLIdentity)
        case awaitingClientFinal(Exchange)
        case finished
    }

    /// What the server remembers between its first message and the client's final one.
    struct Exchange: Sendable {
        var clientFirst: ClientFirstMessage
        var serverFirst: ServerFirstMessage
        var identity: SASLIdentity
        var storedKey: [UInt8]
        var serverKey: [UInt8]
        var userExists: Bool
    }

    let configuration: SASLServerConfiguration
    let serverNonce: String
    var state: State = .initial

    /// - Parameter nonce: the server's part of the nonce (`s-nonce`); random by default, fixed only in tests.
    public init(configuration: SASLServerConfiguration = SASLServerConfiguration(), nonce: String = SCRAMNonce.random()) {
        precondition(SCRAMNonce.isValid(nonce), "SCRAM nonce must be printable ASCII without commas")
        self.configuration = configuration
        self.serverNonce = nonce
    }

    public mutating func start(initialResponse: [UInt8]?) -> SASLServerStep {
        guard case .initial = state else { return fail(.unexpectedMessage) }
        guard let initialResponse else {
            state = .awaitingClientFirst
            return .challenge([])
        }
        return receiveClientFirst(initialResponse)
    }

    public mutating func step(response: [UInt8]) -> SASLServerStep {
        switch state {
        case .awaitingClientFirst: return receiveClientFirst(response)
        case .awaitingClientFinal(let exchange): return receiveClientFinal(response, exchange)
        case .initial, .awaitingCredentials, .finished: return fail(.unexpectedMessage)
        }
    }

    public mutating func provide(credentials: SCRAMCredentials?) -> SASLServerStep {
        guard case .awaitingCredentials(let clientFirst, let identity) = state else { return fail(.unexpectedMessage) }
        let known = credentials ?? unknownUserCredentials(identity.authenticationID)
        let serverFirst = ServerFirstMessage(
            nonce: clientFirst.clientNonce + serverNonce, salt: known.salt, iterations: known.iterations)
        state = .awaitingClientFinal(Exchange(
            clientFirst: clientFirst, serverFirst: serverFirst, identity: identity,
            storedKey: known.storedKey, serverKey: known.serverKey, userExists: credentials != nil))
        return .challenge(Array(serverFirst.text.utf8))
    }

    private mutating func receiveClientFirst(_ response: [UInt8]) -> SASLServerStep {
        guard response.count <= configuration.maximumResponseLength else { return fail(.messageTooLong) }
        do throws(SASLError) {
            let message = try ClientFirstMessage.parse(try SASLText.utf8(response))
            let username = try SASLText.prepared(message.username)
            let authzid = try SASLText.authorization(
                message.header.authorizationID, authenticationID: username, configuration: configuration)
            state = .awaitingCredentials(message, SASLIdentity(authenticationID: username, authorizationID: authzid))
            return .needCredentials(username: username)
        } catch {
            return fail(error)
        }
    }

    private mutating func receiveClientFinal(_ response: [UInt8], _ exchange: Exchange) -> SASLServerStep {
        guard response.count <= configuration.maximumResponseLength else { return fail(.messageTooLong) }
        do throws(SASLError) {
            let message = try ClientFinalMessage.parse(try SASLText.utf8(response))
            // RFC 5802 §5.1 c=: base64 of the gs2 header (no cbind-data without channel binding).
            guard message.channelBinding == Array(exchange.clientFirst.header.text.utf8) else {
                throw SASLError.channelBindingMismatch
            }
            guard message.nonce == exchange.serverFirst.nonce else { throw SASLError.nonceMismatch }
            let authMessage = SCRAMSHA256.authMessage(
                clientFirstBare: exchange.clientFirst.bare, serverFirst: exchange.serverFirst.text,
                clientFinalWithoutProof: message.withoutProof)
            // ClientSignature := HMAC(StoredKey, AuthMessage); ClientKey := ClientProof XOR ClientSignature;
            // the proof is valid when H(ClientKey) == StoredKey (RFC 5802 §3).
            let clientSignature = SCRAMSHA256.hmac(exchange.storedKey, authMessage)
            let clientKey = SCRAMSHA256.xor(message.proof, clientSignature)
            let proofValid = message.proof.count == clientSignature.count
                && constantTimeEqual(SCRAMSHA256.hash(clientKey), exchange.storedKey)
            state = .finished
            guard exchange.userExists else { return .failure(.authenticationFailed(reason: .unknownUser)) }
            guard proofValid else { return .failure(.authenticationFailed(reason: .invalidProof)) }
            let serverSignature = SCRAMSHA256.hmac(exchange.serverKey, authMessage)
            let final = ServerFinalMessage.verifier(serverSignature)
            return .success(exchange.identity, finalData: Array(final.text.utf8))
        } catch {
            return fail(error)
        }
    }

    /// Credentials for a user that does not exist: a salt that is stable per name (HMAC with a per-configuration key),
    /// and keys no proof can match.
    private func unknownUserCredentials(_ username: String) -> SCRAMCredentials {
        let salt = Array(SCRAMSHA256.hmac(configuration.unknownUserSaltKey, "salt:" + username).prefix(16))
        let key = SCRAMSHA256.hmac(configuration.unknownUserSaltKey, "key:" + username)
        return SCRAMCredentials(
            iterations: configuration.unknownUserIterations, salt: salt, storedKey: key, serverKey: key)
    }

    private mutating func fail(_ error: SASLError) -> SASLServerStep {
        state = .finished
        return .failure(error)
    }
}
