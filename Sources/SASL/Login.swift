/// The LOGIN mechanism (draft-murchison-sasl-login-00, never an RFC but offered by every MTA and used by older clients):
/// the server asks `Username:` then `Password:`; the client answers each with the plain value.

/// Server side of LOGIN.
///
/// ```
/// S: "Username:"        (skipped when the client sent the user name as initial response)
/// C: user name
/// S: "Password:"
/// C: password
/// S: .needCredentials(user) → caller provides SCRAMCredentials → success / failure
/// ```
public struct LoginServer: SASLServerMechanism {
    public static let name = SASLMechanismName.login
    public static let usernameChallenge = Array("Username:".utf8)
    public static let passwordChallenge = Array("Password:".utf8)
    /// Longest user name or password accepted, in octets (as for PLAIN).
    public static let maximumFieldLength = 255

    enum State: Sendable {
        case initial
        case awaitingUsername
        case awaitingPassword(username: String)
        case awaitingCredentials(username: String, password: String)
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
            state = .awaitingUsername
            return .challenge(Self.usernameChallenge)
        }
        return receiveUsername(initialResponse)
    }

    public mutating func step(response: [UInt8]) -> SASLServerStep {
        switch state {
        case .awaitingUsername:
            return receiveUsername(response)
        case .awaitingPassword(let username):
            do throws(SASLError) {
                let password = try SASLText.prepared(try Self.field(response, "password"))
                state = .awaitingCredentials(username: username, password: password)
                return .needCredentials(username: username)
            } catch {
                return fail(error)
            }
        case .initial, .awaitingCredentials, .finished:
            return fail(.unexpectedMessage)
        }
    }

    /// The prepared username and password while the exchange waits for credentials (see `PlainServer.passwordToVerify`).
    public var passwordToVerify: (username: String, password: String)? {
        guard case .awaitingCredentials(let username, let password) = state else { return nil }
        return (username, password)
    }

    /// Completes the exchange with the caller's verdict on `passwordToVerify`.
    public mutating func provide(passwordVerified: Bool) -> SASLServerStep {
        guard case .awaitingCredentials(let username, _) = state else { return fail(.unexpectedMessage) }
        state = .finished
        return passwordVerified
            ? .success(SASLIdentity(authenticationID: username), finalData: nil)
            : .failure(.authenticationFailed(reason: .wrongPassword))
    }

    public mutating func provide(credentials: SCRAMCredentials?) -> SASLServerStep {
        guard case .awaitingCredentials(let username, let password) = state else { return fail(.unexpectedMessage) }
        state = .finished
        guard let credentials else { return .failure(.authenticationFailed(reason: .unknownUser)) }
        guard credentials.verify(password: password) else { return .failure(.authenticationFailed(reason: .wrongPassword)) }
        return .success(SASLIdentity(authenticationID: username), finalData: nil)
    }

    private mutating func receiveUsername(_ response: [UInt8]) -> SASLServerStep {
        do throws(SASLError) {
            let username = try SASLText.prepared(try Self.field(response, "user name"))
            state = .awaitingPassword(username: username)
            return .challenge(Self.passwordChallenge)
        } catch {
            return fail(error)
        }
    }

    /// A LOGIN answer: 1 to 255 octets of UTF-8 without NUL.
    static func field(_ bytes: [UInt8], _ what: String) throws(SASLError) -> String {
        guard !bytes.isEmpty else { throw .malformedMessage("LOGIN \(what) is empty") }
        guard bytes.count <= maximumFieldLength else { throw .malformedMessage("LOGIN \(what) longer than 255 octets") }
        guard !bytes.contains(0) else { throw .malformedMessage("LOGIN \(what) contains NUL") }
        return try SASLText.utf8(bytes)
    }

    private mutating func fail(_ error: SASLError) -> SASLServerStep {
        state = .finished
        return .failure(error)
    }
}

/// Client side of LOGIN. It has no initial response; it answers challenges by their text (`Username:` / `Password:`,
/// case-insensitively, as servers vary: `User Name`, `username:`), and otherwise by their order.
public struct LoginClient: SASLClientMechanism {
    public static let name = SASLMechanismName.login

    let username: [UInt8]
    let password: [UInt8]
    var answered = 0

    public init(username: String, password: String) {
        self.username = Array(((try? SASLprep.prepare(username)) ?? username).utf8)
        self.password = Array(((try? SASLprep.prepare(password)) ?? password).utf8)
    }

    public mutating func start() -> [UInt8]? { nil }

    public mutating func respond(to challenge: [UInt8]) -> SASLClientStep {
        let prompt = String(decoding: challenge, as: UTF8.self).lowercased()
        defer { answered += 1 }
        if prompt.hasPrefix("user") { return .response(username) }
        if prompt.hasPrefix("pass") { return .response(password) }
        switch answered {
        case 0: return .response(username)
        case 1: return .response(password)
        default: return .failure(.unexpectedMessage)
        }
    }

    public mutating func finish(finalData: [UInt8]?) -> Result<Void, SASLError> {
        finalData.map { $0.isEmpty } ?? true ? .success(()) : .failure(.unexpectedMessage)
    }
}
