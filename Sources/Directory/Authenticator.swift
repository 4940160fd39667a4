import Foundation
import MailCore
import MailStore
import Metrics
import SASL
import Synchronization

/// The one authentication path of every protocol (SMTP AUTH, IMAP LOGIN and AUTHENTICATE, and whatever comes later).
/// A protocol only turns its lines into `begin`/`respond`/`login` calls and the resulting `Step`s into its replies.
///
/// Invariants:
/// - What a client can observe does not depend on whether an account exists: SCRAM announces a salt derived from the
///   store's shared secret and the name, with the configured iteration count, for unknown and disabled users alike; PLAIN
///   and LOGIN for an unknown user cost the same key derivation (`AccountDirectory.authenticate`); every failure gets the
///   same answer after the same growing delay.
/// - Failures count per client address and per account name across every protocol and connection
///   (`AuthenticationThrottle`); past the threshold both are locked out for the configured time, whatever the
///   credentials. A success clears them. With `sharedLockout` (several nodes on one PostgreSQL database) failures are
///   also counted in the store, so a lockout reached through one node holds on every node.
/// - PLAIN and LOGIN go through the directory's login cache, so a client that logs in again and again costs one hash.
/// - A disabled account never authenticates; its open sessions are ended by `SessionRegistry`.
/// - Metrics: `letterbox_auth_successes_total{protocol}`, `letterbox_auth_failures_total{protocol,mechanism,reason}`,
///   `letterbox_auth_lockouts_total{protocol}`.
/// - Time comes in through `sleep` and `now`, so tests need no real delays.
public final class Authenticator: Sendable {
    /// Who is asking: the protocol (a metrics label) and the client's IP address (the lockout key; nil when unknown).
    public struct Client: Sendable {
        public var service: String
        public var address: String?

        public init(service: String, address: String?) {
            self.service = service
            self.address = address
        }
    }

    /// Why an authentication did not succeed; each protocol maps these to its replies in one place.
    public enum Failure: Sendable, Hashable {
        /// Malformed client message (SMTP 501, IMAP BAD).
        case malformed
        /// The client cancelled with `*` (SMTP 501, IMAP BAD).
        case cancelled
        /// Wrong user name or password, unknown or disabled account (SMTP 535 5.7.8, IMAP NO [AUTHENTICATIONFAILED]).
        case invalidCredentials
        /// Too many recent failures from this address or for this account (SMTP 454 4.7.0, IMAP NO [UNAVAILABLE]).
        case lockedOut
        /// The store could not be read (SMTP 454 4.7.0, IMAP NO [UNAVAILABLE]).
        case temporary
    }

    /// What the protocol does next.
    public enum Step: Sendable {
        /// Send this challenge (`334 base64` / `+ base64`) and pass the client's answer to `respond`.
        case challenge([UInt8])
        /// Authenticated as this account.
        case success(AccountRecord)
        case failure(Failure)
    }

    /// An exchange in progress; the protocol keeps it between a challenge and the client's answer.
    public struct Exchange: Sendable {
        public let mechanism: SASLMechanismName
        let client: Client
        var sasl: SASLServerExchange
        var username: String?
        var candidate: AccountRecord?
        /// Failures the store held for this client and name when the exchange checked (shared lockout only).
        var sharedFailures = 0
        /// Authenticated, waiting for the client's empty answer to the server's final data (RFC 4954 §4, RFC 9051 §6.2.2).
        var verified: AccountRecord?
    }

    public let directory: AccountDirectory
    public let throttle: AuthenticationThrottle
    public let sessions: SessionRegistry
    /// Count failures in the store too, so every node shares the lockout (PostgreSQL with several nodes).
    public let sharedLockout: Bool
    private let sleep: @Sendable (Duration) async -> Void
    private let now: @Sendable () -> ContinuousClock.Instant
    private let wallClock: @Sendable () -> Int64
    /// Made on first use from the store's secret, so every node and every restart derives the same fake salts.
    private let saslConfiguration = Mutex<SASLServerConfiguration?>(nil)

    public init(
        directory: AccountDirectory, throttle: AuthenticationThrottle = AuthenticationThrottle(), sharedLockout: Bool = false,
        sleep: @escaping @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) },
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        wallClock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.directory = directory
        self.throttle = throttle
        self.sharedLockout = sharedLockout
        self.sessions = SessionRegistry(store: directory.store)
        self.sleep = sleep
        self.now = now
        self.wallClock = wallClock
    }

    // MARK: SASL

    /// Starts an exchange (`AUTH mechanism [initial-response]`, `AUTHENTICATE mechanism [initial-response]`).
    public func begin(_ mechanism: SASLMechanismName, initialResponse: [UInt8]?, client: Client) async -> (Exchange?, Step) {
        if await lockedOut(client, username: nil).locked {
            return (nil, await locked(client, mechanism: mechanism))
        }
        guard let configuration = await sasl() else { return (nil, .failure(.temporary)) }
        var exchange = Exchange(mechanism: mechanism, client: client, sasl: SASLServerExchange(mechanism: mechanism, configuration: configuration))
        let step = exchange.sasl.start(initialResponse: initialResponse)
        let next = await advance(&exchange, step)
        return (next.isFinished ? nil : exchange, next)
    }

    /// The client's answer to the last challenge. After a `.success` or `.failure` the exchange is over.
    public func respond(to exchange: inout Exchange, with response: [UInt8]) async -> Step {
        if let account = exchange.verified {
            // The client acknowledged the server's final data with an empty answer.
            guard response.isEmpty else { return .failure(.malformed) }
            return await succeed(account, exchange.client, clearing: exchange.sharedFailures)
        }
        let step = exchange.sasl.step(response: response)
        return await advance(&exchange, step)
    }

    /// IMAP LOGIN (and HTTP Basic later): a user name and password in one go.
    public func login(username: String, password: String, client: Client) async -> Step {
        let check = await lockedOut(client, username: username)
        if check.locked { return await locked(client, mechanism: nil) }
        guard let account = await directory.authenticate(username: username, password: password) else {
            return await fail(client, username: username, mechanism: nil)
        }
        return await succeed(account, client, clearing: check.sharedFailures)
    }

    private func advance(_ exchange: inout Exchange, _ step: SASLServerStep) async -> Step {
        switch step {
        case .challenge(let bytes):
            return .challenge(bytes)
        case .needCredentials(let username):
            exchange.username = username
            let check = await lockedOut(exchange.client, username: username)
            exchange.sharedFailures = check.sharedFailures
            if check.locked { return await locked(exchange.client, mechanism: exchange.mechanism) }
            let next: SASLServerStep
            if let clear = exchange.sasl.passwordToVerify {
                // PLAIN and LOGIN: through the directory, whose login cache spares a key derivation per repeated login.
                exchange.candidate = await directory.authenticate(username: clear.username, password: clear.password)
                next = exchange.sasl.provide(passwordVerified: exchange.candidate != nil)
            } else {
                // SCRAM: the stored record, or nil for an unknown or disabled user (the mechanism then announces the
                // stable fake salt and fails at the proof).
                let found = await directory.scramCredentials(username: username)
                exchange.candidate = found?.0
                next = exchange.sasl.provide(credentials: found?.1)
            }
            return await advance(&exchange, next)
        case .success(_, let finalData):
            guard let account = exchange.candidate else {
                return await fail(exchange.client, username: exchange.username, mechanism: exchange.mechanism)
            }
            if let finalData {
                exchange.verified = account
                return .challenge(finalData)
            }
            return await succeed(account, exchange.client, clearing: exchange.sharedFailures)
        case .failure(let error):
            switch error.kind {
            case .syntax: return .failure(.malformed)
            case .cancelled: return .failure(.cancelled)
            case .internalError: return .failure(.temporary)
            case .authentication: return await fail(exchange.client, username: exchange.username, mechanism: exchange.mechanism)
            }
        }
    }

    private func succeed(_ account: AccountRecord, _ client: Client, clearing sharedFailures: Int) async -> Step {
        throttle.recordSuccess(address: client.address, account: account.address.normalized)
        if sharedLockout, sharedFailures > 0 {
            try? await directory.store.clearAuthenticationFailures(keys: Self.keys(client.address, account.address.normalized))
        }
        Counter(label: "letterbox_auth_successes_total", dimensions: [("protocol", client.service)]).increment()
        return .success(account)
    }

    private func fail(_ client: Client, username: String?, mechanism: SASLMechanismName?) async -> Step {
        let key = username.flatMap(EmailAddress.init)?.normalized ?? username
        var delay = throttle.recordFailure(address: client.address, account: key, now: now())
        if sharedLockout, let count = try? await directory.store.recordAuthenticationFailure(
            keys: Self.keys(client.address, key), now: wallClock(), window: lockoutWindow) {
            delay = max(delay, throttle.delay(afterFailures: count))
        }
        Counter(label: "letterbox_auth_failures_total", dimensions: [
            ("protocol", client.service), ("mechanism", mechanism?.rawValue ?? "LOGIN-COMMAND"), ("reason", "credentials"),
        ]).increment()
        await sleep(delay)
        return .failure(.invalidCredentials)
    }

    private func locked(_ client: Client, mechanism: SASLMechanismName?) async -> Step {
        Counter(label: "letterbox_auth_lockouts_total", dimensions: [("protocol", client.service)]).increment()
        Counter(label: "letterbox_auth_failures_total", dimensions: [
            ("protocol", client.service), ("mechanism", mechanism?.rawValue ?? "LOGIN-COMMAND"), ("reason", "lockout"),
        ]).increment()
        await sleep(throttle.delay(afterFailures: throttle.configuration.lockoutThreshold))
        return .failure(.lockedOut)
    }

    /// Whether the client's address or the account name is locked out: this node's counts, and with `sharedLockout`
    /// the store's (every node's); also how many shared failures there were, so a success clears them only if needed.
    private func lockedOut(_ client: Client, username: String?) async -> (locked: Bool, sharedFailures: Int) {
        let key = username.flatMap(EmailAddress.init)?.normalized ?? username
        if throttle.isLockedOut(address: client.address, account: key, now: now()) { return (true, 0) }
        guard sharedLockout else { return (false, 0) }
        let count = (try? await directory.store.authenticationFailures(
            keys: Self.keys(client.address, key), now: wallClock(), window: lockoutWindow)) ?? 0
        return (count >= throttle.configuration.lockoutThreshold, count)
    }

    private var lockoutWindow: Int64 { Int64(throttle.configuration.lockoutDuration.components.seconds) }

    /// Store keys: `ip:ADDRESS` and `user:NAME`.
    static func keys(_ address: String?, _ account: String?) -> [String] {
        [address.map { "ip:" + $0 }, account.map { "user:" + $0.lowercased() }].compactMap { $0 }
    }

    /// The SASL settings: fake salts keyed by the store's secret, the configured iteration count for unknown users.
    private func sasl() async -> SASLServerConfiguration? {
        if let ready = saslConfiguration.withLock({ $0 }) { return ready }
        guard let secret = try? await directory.store.authenticationSecret() else { return nil }
        var configuration = SASLServerConfiguration()
        configuration.unknownUserSaltKey = secret
        configuration.unknownUserIterations = directory.configuration.credentialIterations
        saslConfiguration.withLock { $0 = configuration }
        return configuration
    }
}

extension Authenticator.Step {
    var isFinished: Bool {
        if case .challenge = self { false } else { true }
    }
}
