/// Client side of SCRAM-SHA-256 (RFC 5802 §5, RFC 7677), gs2 header `n,,` (no channel binding). Used by the outbound SMTP
/// client for smarthost AUTH and by tests.
///
/// ```
/// start()                 → n,,n=user,r=<c-nonce>
/// respond(server-first)   → c=biws,r=<nonce>,p=<ClientProof>
/// respond(server-final)   → empty response, once `v=` verified   (when the protocol sends it as a challenge)
/// finish(finalData:)      → success only if the server's signature was verified
/// ```
public struct SCRAMSHA256Client: SASLClientMechanism {
    public static let name = SASLMechanismName.scramSHA256

    /// Iteration counts the client agrees to compute. Below 4096 is weaker than RFC 7677 §4 asks; a huge count would let
    /// a hostile server burn our CPU.
    public static let defaultAcceptedIterations = 4096...10_000_000

    enum State: Sendable {
        case initial
        case sentClientFirst(ClientFirstMessage)
        case sentClientFinal(expectedServerSignature: [UInt8])
        case verified
        case failed
    }

    let username: String
    let password: String
    let authorizationID: String?
    let clientNonce: String
    let acceptedIterations: ClosedRange<Int>
    var state: State = .initial

    /// - Parameter nonce: the client nonce; random by default, fixed only in tests.
    public init(
        username: String, password: String, authorizationID: String? = nil, nonce: String = SCRAMNonce.random(),
        acceptedIterations: ClosedRange<Int> = SCRAMSHA256Client.defaultAcceptedIterations
    ) {
        precondition(SCRAMNonce.isValid(nonce), "SCRAM nonce must be printable ASCII without commas")
        self.username = (try? SASLprep.prepare(username)) ?? username
        self.password = (try? SASLprep.prepare(password)) ?? password
        self.authorizationID = authorizationID
        self.clientNonce = nonce
        self.acceptedIterations = acceptedIterations
    }

    /// The client-first-message (SCRAM always has an initial response; send it after an empty challenge if the protocol
    /// has no initial-response syntax).
    public mutating func start() -> [UInt8]? {
        let message = ClientFirstMessage(
            header: GS2Header(authorizationID: authorizationID), username: username, clientNonce: clientNonce)
        state = .sentClientFirst(message)
        return Array(message.text.utf8)
    }

    public mutating func respond(to challenge: [UInt8]) -> SASLClientStep {
        switch state {
        case .initial:
            guard challenge.isEmpty, let first = start() else { return fail(.unexpectedMessage) }
            return .response(first)
        case .sentClientFirst(let clientFirst):
            return receiveServerFirst(challenge, clientFirst)
        case .sentClientFinal(let expected):
            switch verify(serverFinal: challenge, expected: expected) {
            case .success: state = .verified; return .response([])
            case .failure(let error): return fail(error)
            }
        case .verified, .failed:
            return fail(.unexpectedMessage)
        }
    }

    public mutating func finish(finalData: [UInt8]?) -> Result<Void, SASLError> {
        switch state {
        case .verified:
            return finalData.map { $0.isEmpty } ?? true ? .success(()) : .failure(.unexpectedMessage)
        case .sentClientFinal(let expected):
            guard let finalData else { state = .failed; return .failure(.invalidServerSignature) }
            let result = verify(serverFinal: finalData, expected: expected)
            state = result.isSuccess ? .verified : .failed
            return result
        case .initial, .sentClientFirst, .failed:
            state = .failed
            return .failure(.unexpectedMessage)
        }
    }

    private mutating func receiveServerFirst(_ challenge: [UInt8], _ clientFirst: ClientFirstMessage) -> SASLClientStep {
        do throws(SASLError) {
            let serverFirst = try ServerFirstMessage.parse(try SASLText.utf8(challenge))
            guard serverFirst.nonce.hasPrefix(clientNonce), serverFirst.nonce.count > clientNonce.count else {
                throw SASLError.nonceMismatch
            }
            guard acceptedIterations.contains(serverFirst.iterations) else {
                throw SASLError.iterationCountRejected(serverFirst.iterations)
            }
            let salted: [UInt8]
            do {
                let key = try SCRAMCredentials.saltedPassword(
                    password, salt: serverFirst.salt, iterations: serverFirst.iterations)
                salted = key.withUnsafeBytes { Array($0) }
            } catch {
                throw SASLError.iterationCountRejected(serverFirst.iterations)
            }
            let clientKey = SCRAMSHA256.hmac(salted, "Client Key")
            let storedKey = SCRAMSHA256.hash(clientKey)
            let serverKey = SCRAMSHA256.hmac(salted, "Server Key")
            let withoutProof = "c=" + SASLBase64.encode(Array(clientFirst.header.text.utf8)) + ",r=" + serverFirst.nonce
            let authMessage = SCRAMSHA256.authMessage(
                clientFirstBare: clientFirst.bare, serverFirst: String(decoding: challenge, as: UTF8.self),
                clientFinalWithoutProof: withoutProof)
            let proof = SCRAMSHA256.xor(clientKey, SCRAMSHA256.hmac(storedKey, authMessage))
            state = .sentClientFinal(expectedServerSignature: SCRAMSHA256.hmac(serverKey, authMessage))
            return .response(Array((withoutProof + ",p=" + SASLBase64.encode(proof)).utf8))
        } catch {
            return fail(error)
        }
    }

    private func verify(serverFinal: [UInt8], expected: [UInt8]) -> Result<Void, SASLError> {
        do throws(SASLError) {
            switch try ServerFinalMessage.parse(try SASLText.utf8(serverFinal)) {
            case .error(let value): return .failure(.serverError(value))
            case .verifier(let signature):
                return constantTimeEqual(signature, expected) ? .success(()) : .failure(.invalidServerSignature)
            }
        } catch {
            return .failure(error)
        }
    }

    private mutating func fail(_ error: SASLError) -> SASLClientStep {
        state = .failed
        return .failure(error)
    }
}

extension Result {
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
