/// The PLAIN mechanism (RFC 4616): one client message, `[authzid] UTF8NUL authcid UTF8NUL passwd`.

/// Server side of PLAIN.
///
/// ```
/// S: (empty challenge, unless the client sent an initial response)
/// C: [authzid] NUL authcid NUL passwd
/// S: .needCredentials(authcid)  → caller provides SCRAMCredentials → success / failure
/// ```
public struct PlainServer: SASLServerMechanism {
    public static let name = SASLMechanismName.plain

    /// RFC 4616 §2: servers MUST accept up to 255 octets in each field; we accept no more, which bounds the work.
    public static let maximumFieldLength = 255

    enum State: Sendable {
        case initial
        case awaitingMessage
        case awaitingCredentials(SASLIdentity, password: String)
        case finished
    }

    let configuration: SASLServerConfiguration
    var state: State = .initial

    public init(configuration: SASLServerConfiguration = SASLServerConfiguration()) {
        self.configuration = configuration
    }

    public mutating func start(initialResponse: [UInt8]?) -> SASLServerStep {
        guard case .initial = state else { return fail(.unexpectedMessage) }
        guard let initialResponse else {
            state = .awaitingMessage
            return .challenge([])
        }
        return receive(initialResponse)
    }

    public mutating func step(response: [UInt8]) -> SASLServerStep {
        guard case .awaitingMessage = state else { return fail(.unexpectedMessage) }
        return receive(response)
    }

    public mutating func provide(credentials: SCRAMCredentials?) -> SASLServerStep {
        guard case .awaitingCredentials(let identity, let password) = state else { return fail(.unexpectedMessage) }
        state = .finished
        guard let credentials else { return .failure(.authenticationFailed(reason: .unknownUser)) }
        guard credentials.verify(password: password) else { return .failure(.authenticationFailed(reason: .wrongPassword)) }
        return .success(identity, finalData: nil)
    }

    /// The prepared username and password while the exchange waits for credentials; lets a caller verify them through a
    /// cache of recent logins and answer with `provide(passwordVerified:)` instead of a full key derivation.
    public var passwordToVerify: (username: String, password: String)? {
        guard case .awaitingCredentials(let identity, let password) = state else { return nil }
        return (identity.authenticationID, password)
    }

    /// Completes the exchange with the caller's verdict on `passwordToVerify`.
    public mutating func provide(passwordVerified: Bool) -> SASLServerStep {
        guard case .awaitingCredentials(let identity, _) = state else { return fail(.unexpectedMessage) }
        state = .finished
        return passwordVerified ? .success(identity, finalData: nil) : .failure(.authenticationFailed(reason: .wrongPassword))
    }

    private mutating func receive(_ message: [UInt8]) -> SASLServerStep {
        guard message.count <= configuration.maximumResponseLength else { return fail(.messageTooLong) }
        do throws(SASLError) {
            let parsed = try Self.parseMessage(message)
            let authcid = try SASLText.prepared(parsed.authcid)
            let password = try SASLText.prepared(parsed.password)
            let authzid = try SASLText.authorization(parsed.authzid, authenticationID: authcid, configuration: configuration)
            state = .awaitingCredentials(SASLIdentity(authenticationID: authcid, authorizationID: authzid), password: password)
            return .needCredentials(username: authcid)
        } catch {
            return fail(error)
        }
    }

    private mutating func fail(_ error: SASLError) -> SASLServerStep {
        state = .finished
        return .failure(error)
    }

    /// The fields of a PLAIN message, unprepared.
    struct Message: Sendable, Hashable {
        var authzid: String?
        var authcid: String
        var password: String
    }

    // RFC 4616 §2:
    //   message   = [authzid] UTF8NUL authcid UTF8NUL passwd
    //   authcid   = 1*SAFE ; MUST accept up to 255 octets
    //   authzid   = 1*SAFE ; MUST accept up to 255 octets
    //   passwd    = 1*SAFE ; MUST accept up to 255 octets
    //   SAFE      = any UTF-8 encoded Unicode character except NUL
    static func parseMessage(_ bytes: [UInt8]) throws(SASLError) -> Message {
        let fields = bytes.split(separator: 0, omittingEmptySubsequences: false)
        guard fields.count == 3 else {
            throw .malformedMessage("PLAIN message needs exactly two NUL separators, found \(fields.count - 1)")
        }
        let (authzid, authcid, password) = (fields[0], fields[1], fields[2])
        guard !authcid.isEmpty else { throw .malformedMessage("PLAIN authcid is empty") }
        guard !password.isEmpty else { throw .malformedMessage("PLAIN passwd is empty") }
        guard [authzid, authcid, password].allSatisfy({ $0.count <= maximumFieldLength }) else {
            throw .malformedMessage("PLAIN field longer than \(maximumFieldLength) octets")
        }
        var requested: String?
        if !authzid.isEmpty { requested = try SASLText.utf8(authzid) }
        return Message(authzid: requested, authcid: try SASLText.utf8(authcid), password: try SASLText.utf8(password))
    }
}

/// Client side of PLAIN: the whole message is the initial response; an empty server challenge is answered with it too.
public struct PlainClient: SASLClientMechanism {
    public static let name = SASLMechanismName.plain

    let message: [UInt8]
    var sent = false

    /// `username` and `password` are SASLprep'd here when possible (RFC 4616 §2), else sent as given.
    public init(username: String, password: String, authorizationID: String? = nil) {
        let user = (try? SASLprep.prepare(username)) ?? username
        let pass = (try? SASLprep.prepare(password)) ?? password
        message = Array((authorizationID ?? "").utf8) + [0] + Array(user.utf8) + [0] + Array(pass.utf8)
    }

    /// The initial response. Protocols without one (no SASL-IR) skip this and answer the empty challenge instead.
    public mutating func start() -> [UInt8]? {
        message
    }

    public mutating func respond(to challenge: [UInt8]) -> SASLClientStep {
        // Without an initial response the server sends one empty challenge; anything else is out of protocol.
        guard challenge.isEmpty, !sent else { return .failure(.unexpectedMessage) }
        sent = true
        return .response(message)
    }

    public mutating func finish(finalData: [UInt8]?) -> Result<Void, SASLError> {
        finalData.map { $0.isEmpty } ?? true ? .success(()) : .failure(.unexpectedMessage)
    }
}
