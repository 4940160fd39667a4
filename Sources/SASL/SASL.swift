/// SASL: the authentication mechanisms of SMTP AUTH (RFC 4954) and IMAP AUTHENTICATE (RFC 9051 §6.2.2), as pure,
/// synchronous state machines — server and client side of each:
///
/// - PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd` in one message.
/// - LOGIN (draft-murchison-sasl-login, de-facto): base64 challenges `Username:` and `Password:`.
/// - SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding: gs2 headers `n,,` and `y,,`; `p=` is refused
///   because the -PLUS variant is not offered.
/// - SASLprep (RFC 4013, a profile of stringprep RFC 3454) for user names and passwords.
///
/// Invariants:
/// - No I/O, no logging, no clock. The one source of randomness is the SCRAM nonce, which can be injected.
/// - A server mechanism never sees a password store: when it needs one it returns `.needCredentials(username:)`; the caller
///   looks the user up (asynchronously) and feeds the `SCRAMCredentials` back with `provide(credentials:)`.
/// - Base64 on the wire (SMTP `334`, IMAP `+`) belongs to the protocol; `SASLBase64` and `SASLWireResponse` help it.
/// - Every outcome is a value (`SASLServerStep`), never a thrown error; failures carry a `SASLError` whose `kind` says how
///   the protocol should answer (syntax, authentication, cancelled).

/// The mechanisms Letterbox implements, by their registered names (RFC 4422 §3.1: upper case).
public enum SASLMechanismName: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case plain = "PLAIN"
    case login = "LOGIN"
    case scramSHA256 = "SCRAM-SHA-256"

    /// Looks a mechanism up case-insensitively (`AUTH plain` is allowed by RFC 4954 §4).
    public init?(matching name: some StringProtocol) {
        guard let found = Self.allCases.first(where: { $0.rawValue == name.uppercased() }) else { return nil }
        self = found
    }

    public var description: String { rawValue }

    /// True for mechanisms that carry the password in clear (PLAIN, LOGIN): offer them only under TLS (RFC 8314 §5).
    public var sendsPasswordInClear: Bool {
        switch self {
        case .plain, .login: true
        case .scramSHA256: false
        }
    }
}

/// Who logged in: the authentication identity whose credentials were checked, and the authorization identity the session
/// acts as (equal to the authentication identity unless proxy authorization was requested and allowed).
public struct SASLIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The SASLprep'd authentication identity (authcid / SCRAM `n=` / LOGIN user name).
    public let authenticationID: String
    /// The authorization identity; `authenticationID` when the client gave none.
    public let authorizationID: String

    public init(authenticationID: String, authorizationID: String? = nil) {
        self.authenticationID = authenticationID
        self.authorizationID = authorizationID ?? authenticationID
    }

    /// True when the client asked to act as someone else (the caller must then check it is allowed to).
    public var isProxy: Bool { authenticationID != authorizationID }

    public var description: String {
        isProxy ? "\(authenticationID) as \(authorizationID)" : authenticationID
    }
}

/// What a server mechanism wants next.
public enum SASLServerStep: Sendable, Hashable {
    /// Send this challenge (the protocol base64-encodes it: `334 …` / `+ …`) and feed the reply to `step(response:)`.
    case challenge([UInt8])
    /// Look up the credentials of this (SASLprep'd) user and call `provide(credentials:)`, with nil when there is none.
    case needCredentials(username: String)
    /// Authenticated. `finalData` is additional data with success (SCRAM's `v=` server signature): send it with the
    /// success reply where the protocol allows (IMAP `OK [SASL …]` is not standard, so in practice send it as one more
    /// challenge, expect an empty response, then answer success — RFC 4954 §4 and RFC 9051 §6.2.2 both describe this).
    case success(SASLIdentity, finalData: [UInt8]?)
    /// The exchange failed; the protocol maps `error.kind` to its reply (RFC 4954 §6: 501 / 535 / 454).
    case failure(SASLError)
}

/// Settings shared by the server mechanisms. Defaults are the safe choice.
public struct SASLServerConfiguration: Sendable {
    /// Allow an authorization identity different from the authentication identity (PLAIN authzid, SCRAM `a=`).
    /// Default false: such requests fail with `.authorizationDenied`. When true, the caller must still decide whether the
    /// authenticated user may act as `SASLIdentity.authorizationID`.
    public var allowsProxyAuthorization: Bool = false

    /// Largest client message accepted by any mechanism, in octets. PLAIN needs at most 3 × 255 + 2; SCRAM messages are
    /// small. Default 4096.
    public var maximumResponseLength: Int = 4096

    /// Iteration count announced for users that do not exist, so that SCRAM does not reveal which accounts exist.
    /// Default `SCRAMCredentials.defaultIterations`, the count new accounts get.
    public var unknownUserIterations: Int = SCRAMCredentials.defaultIterations

    /// Key for deriving a stable fake salt for unknown users (HMAC of the user name), so that asking twice for the same
    /// missing user gives the same salt. Default: 32 random bytes chosen when the configuration is made.
    public var unknownUserSaltKey: [UInt8] = SCRAMNonce.randomBytes(count: 32)

    public init() {}
}

/// A server-side mechanism: a struct state machine, driven by the protocol session.
///
/// The protocol calls `start(initialResponse:)` once (with the SASL-IR / `AUTH mech ir` data, or nil), then
/// `step(response:)` for each client reply to a `.challenge`, and `provide(credentials:)` after `.needCredentials`.
/// Calling a method out of order yields `.failure(.unexpectedMessage)`.
public protocol SASLServerMechanism: Sendable {
    static var name: SASLMechanismName { get }
    mutating func start(initialResponse: [UInt8]?) -> SASLServerStep
    mutating func step(response: [UInt8]) -> SASLServerStep
    mutating func provide(credentials: SCRAMCredentials?) -> SASLServerStep
}

/// A server exchange for any of the mechanisms, as a closed enum (no existentials in session state).
public enum SASLServerExchange: Sendable {
    case plain(PlainServer)
    case login(LoginServer)
    case scramSHA256(SCRAMSHA256Server)

    public init(mechanism: SASLMechanismName, configuration: SASLServerConfiguration = SASLServerConfiguration()) {
        switch mechanism {
        case .plain: self = .plain(PlainServer(configuration: configuration))
        case .login: self = .login(LoginServer(configuration: configuration))
        case .scramSHA256: self = .scramSHA256(SCRAMSHA256Server(configuration: configuration))
        }
    }

    public var mechanism: SASLMechanismName {
        switch self {
        case .plain: .plain
        case .login: .login
        case .scramSHA256: .scramSHA256
        }
    }

    public mutating func start(initialResponse: [UInt8]?) -> SASLServerStep {
        switch self {
        case .plain(var m): defer { self = .plain(m) }; return m.start(initialResponse: initialResponse)
        case .login(var m): defer { self = .login(m) }; return m.start(initialResponse: initialResponse)
        case .scramSHA256(var m): defer { self = .scramSHA256(m) }; return m.start(initialResponse: initialResponse)
        }
    }

    public mutating func step(response: [UInt8]) -> SASLServerStep {
        switch self {
        case .plain(var m): defer { self = .plain(m) }; return m.step(response: response)
        case .login(var m): defer { self = .login(m) }; return m.step(response: response)
        case .scramSHA256(var m): defer { self = .scramSHA256(m) }; return m.step(response: response)
        }
    }

    /// For PLAIN and LOGIN while credentials are awaited: the prepared username and password, so the caller can verify
    /// them through its login cache and answer with `provide(passwordVerified:)`. Nil for SCRAM (no password is sent).
    public var passwordToVerify: (username: String, password: String)? {
        switch self {
        case .plain(let m): m.passwordToVerify
        case .login(let m): m.passwordToVerify
        case .scramSHA256: nil
        }
    }

    /// Completes a PLAIN or LOGIN exchange with the caller's verdict on `passwordToVerify`.
    public mutating func provide(passwordVerified: Bool) -> SASLServerStep {
        switch self {
        case .plain(var m): defer { self = .plain(m) }; return m.provide(passwordVerified: passwordVerified)
        case .login(var m): defer { self = .login(m) }; return m.provide(passwordVerified: passwordVerified)
        case .scramSHA256: return .failure(.unexpectedMessage)
        }
    }

    public mutating func provide(credentials: SCRAMCredentials?) -> SASLServerStep {
        switch self {
        case .plain(var m): defer { self = .plain(m) }; return m.provide(credentials: credentials)
        case .login(var m): defer { self = .login(m) }; return m.provide(credentials: credentials)
        case .scramSHA256(var m): defer { self = .scramSHA256(m) }; return m.provide(credentials: credentials)
        }
    }
}
