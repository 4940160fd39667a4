import Directory
import Foundation
import MailCore
import MailStore
import MailStoreSQLite
import SASL
import Synchronization
import Testing

/// The one authentication path, without sockets: an injected clock and a recorded sleep, so lockouts and delays are
/// tested without waiting.
@Suite struct AuthenticatorTests {
    /// A clock the test moves, and the delays the authenticator asked to sleep.
    final class Time: Sendable {
        let base = ContinuousClock.now
        let offset = Mutex<Duration>(.zero)
        let slept = Mutex<[Duration]>([])
        var now: ContinuousClock.Instant { base + offset.withLock { $0 } }
        func advance(_ duration: Duration) { offset.withLock { $0 += duration } }
    }

    let temporary: String
    let store: SQLiteMailStore
    let directory: AccountDirectory
    let time = Time()
    let authenticator: Authenticator
    let client = Authenticator.Client(service: "imap", address: "192.0.2.7")

    init() async throws {
        temporary = NSTemporaryDirectory() + "letterbox-authenticator-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        store = SQLiteMailStore(database: try SQLiteDatabase(path: temporary + "/db.sqlite"), blobs: try FileBlobStore(directory: temporary + "/blobs"))
        var configuration = DirectoryConfiguration()
        configuration.credentialIterations = 4096  // fast tests
        directory = AccountDirectory(store: SQLiteDirectoryStore(store: store), configuration: configuration)
        let throttle = AuthenticationThrottle(configuration: .init(
            baseDelay: .milliseconds(250), maximumDelay: .seconds(8), lockoutThreshold: 5, lockoutDuration: .seconds(900)))
        let time = self.time
        authenticator = Authenticator(
            directory: directory, throttle: throttle, sleep: { delay in time.slept.withLock { $0.append(delay) } }, now: { time.now })
        _ = try await directory.addDomain("example.test")
        try await directory.addUser("alice@example.test", password: "correct horse battery")
    }

    /// PLAIN's single message.
    func plain(_ user: String, _ password: String) -> [UInt8] { [0] + Array(user.utf8) + [0] + Array(password.utf8) }

    func isSuccess(_ step: Authenticator.Step) -> Bool { if case .success = step { true } else { false } }
    func failure(_ step: Authenticator.Step) -> Authenticator.Failure? { if case .failure(let f) = step { f } else { nil } }

    /// The server-first-message SCRAM sends `user`: `r=…,s=SALT,i=N` with the nonce removed.
    func scramParameters(_ user: String) async throws -> String {
        var client = SCRAMSHA256Client(username: user, password: "whatever it is")
        let (_, step) = await authenticator.begin(.scramSHA256, initialResponse: client.start(), client: self.client)
        guard case .challenge(let bytes) = step else { Issue.record("no challenge for \(user)"); return "" }
        return String(decoding: bytes, as: UTF8.self).split(separator: ",").filter { !$0.hasPrefix("r=") }.joined(separator: ",")
    }

    @Test func plainLogsInAndWrongPasswordFailsAfterADelay() async throws {
        let (_, good) = await authenticator.begin(.plain, initialResponse: plain("alice@example.test", "correct horse battery"), client: client)
        #expect(isSuccess(good))
        let (_, bad) = await authenticator.begin(.plain, initialResponse: plain("alice@example.test", "wrong"), client: client)
        #expect(failure(bad) == .invalidCredentials)
        #expect(time.slept.withLock { $0 } == [.milliseconds(250)])
    }

    @Test func scramForAnUnknownUserLooksLikeAKnownOne() async throws {
        let unknown1 = try await scramParameters("nobody@example.test")
        let unknown2 = try await scramParameters("nobody@example.test")
        let known = try await scramParameters("alice@example.test")
        #expect(unknown1 == unknown2, "the fake salt is stable")
        #expect(unknown1.hasSuffix(",i=4096") && known.hasSuffix(",i=4096"), "\(unknown1) / \(known)")
        #expect(try await scramParameters("other@example.test") != unknown1, "each name its own salt")
        // A second authenticator on the same store (another node, or after a restart) announces the same salt.
        let other = Authenticator(directory: directory, sleep: { _ in })
        var client = SCRAMSHA256Client(username: "nobody@example.test", password: "x")
        let (_, step) = await other.begin(.scramSHA256, initialResponse: client.start(), client: self.client)
        guard case .challenge(let bytes) = step else { Issue.record("no challenge"); return }
        let again = String(decoding: bytes, as: UTF8.self).split(separator: ",").filter { !$0.hasPrefix("r=") }.joined(separator: ",")
        #expect(again == unknown1)
    }

    @Test func scramLogsInWithTheFinalDataAcknowledged() async throws {
        var client = SCRAMSHA256Client(username: "alice@example.test", password: "correct horse battery")
        let (exchange, started) = await authenticator.begin(.scramSHA256, initialResponse: client.start(), client: self.client)
        var step = started
        guard case .challenge(let first) = step, var running = exchange else { Issue.record("no server-first"); return }
        guard case .response(let final) = client.respond(to: first) else { Issue.record("client refused"); return }
        step = await authenticator.respond(to: &running, with: final)
        guard case .challenge(let verifier) = step else { Issue.record("no server-final"); return }
        #expect(String(decoding: verifier, as: UTF8.self).hasPrefix("v="))
        step = await authenticator.respond(to: &running, with: [])
        #expect(isSuccess(step))
    }

    @Test func lockoutCountsAcrossConnectionsThenExpires() async throws {
        for _ in 0..<5 {
            let step = await authenticator.login(username: "alice@example.test", password: "guess", client: client)
            #expect(failure(step) == .invalidCredentials)
        }
        // The right password from the same address, even on a new connection and another protocol, is refused now.
        #expect(failure(await authenticator.login(username: "alice@example.test", password: "correct horse battery", client: client)) == .lockedOut)
        let smtp = Authenticator.Client(service: "smtp", address: "192.0.2.7")
        #expect(failure(await authenticator.begin(.plain, initialResponse: plain("alice@example.test", "correct horse battery"), client: smtp).1) == .lockedOut)
        // The account is locked from another address too.
        let elsewhere = Authenticator.Client(service: "imap", address: "198.51.100.1")
        #expect(failure(await authenticator.login(username: "alice@example.test", password: "correct horse battery", client: elsewhere)) == .lockedOut)
        time.advance(.seconds(901))
        #expect(isSuccess(await authenticator.login(username: "alice@example.test", password: "correct horse battery", client: client)))
        let delays = time.slept.withLock { $0 }
        #expect(Array(delays.prefix(5)) == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(4)])
    }

    @Test func aSharedLockoutHoldsOnEveryNode() async throws {
        // Two authenticators on one store stand for two nodes on one PostgreSQL database; failures on one lock out the other.
        let wall = Mutex<Int64>(1_800_000_000)
        func node() -> Authenticator {
            Authenticator(
                directory: directory, throttle: AuthenticationThrottle(configuration: .init(lockoutThreshold: 3, lockoutDuration: .seconds(60))),
                sharedLockout: true, sleep: { _ in }, wallClock: { wall.withLock { $0 } })
        }
        let first = node(), second = node()
        for _ in 0..<3 { _ = await first.login(username: "alice@example.test", password: "guess", client: client) }
        #expect(failure(await second.login(username: "alice@example.test", password: "correct horse battery", client: client)) == .lockedOut)
        let elsewhere = Authenticator.Client(service: "smtp", address: "198.51.100.9")
        #expect(failure(await second.begin(.plain, initialResponse: plain("alice@example.test", "correct horse battery"), client: elsewhere).1) == .lockedOut,
                "the account is locked on the other node too")
        wall.withLock { $0 += 61 }
        #expect(isSuccess(await second.login(username: "alice@example.test", password: "correct horse battery", client: client)))
        #expect(try await directory.store.authenticationFailures(keys: ["ip:192.0.2.7", "user:alice@example.test"], now: 1_800_000_061, window: 60) == 0)
    }

    @Test func unknownUsersCountTowardsTheAddressLockout() async throws {
        for index in 0..<5 {
            _ = await authenticator.login(username: "user\(index)@example.test", password: "guess", client: client)
        }
        #expect(failure(await authenticator.login(username: "alice@example.test", password: "correct horse battery", client: client)) == .lockedOut)
    }

    @Test func disabledAccountCannotLogInAndItsSessionsEnd() async throws {
        let step = await authenticator.login(username: "alice@example.test", password: "correct horse battery", client: client)
        guard case .success(let account) = step else { Issue.record("no login"); return }
        let ended = Atomic<Int>(0)
        _ = authenticator.sessions.register(account: account.id) { ended.add(1, ordering: .relaxed) }
        #expect(try await authenticator.sessions.sweep() == 0)
        try await directory.setDisabled("alice@example.test", true)
        #expect(failure(await authenticator.login(username: "alice@example.test", password: "correct horse battery", client: client)) == .invalidCredentials)
        #expect(try await authenticator.sessions.sweep() == 1)
        #expect(ended.load(ordering: .relaxed) == 1)
        #expect(authenticator.sessions.count == 0)
        try await directory.setDisabled("alice@example.test", false)
        time.advance(.seconds(901))
        #expect(isSuccess(await authenticator.login(username: "alice@example.test", password: "correct horse battery", client: client)))
    }

    @Test func aCredentialIsReDerivedAtTheConfiguredCount() async throws {
        // Stored with 8192 (as if made under an older default); the directory is configured for 4096.
        let old = try SCRAMCredentials.derive(password: "legacy password 7", iterations: 8192)
        _ = try await SQLiteDirectoryStore(store: store).addAccount(
            address: EmailAddress("old@example.test")!, credential: old.encoded, mailboxes: [("INBOX", nil)])
        #expect(isSuccess(await authenticator.login(username: "old@example.test", password: "legacy password 7", client: client)))
        let stored = try #require(try await directory.store.account(address: EmailAddress("old@example.test")!))
        #expect(SCRAMCredentials(encoded: stored.credential)?.iterations == 4096)
        #expect(isSuccess(await authenticator.login(username: "old@example.test", password: "legacy password 7", client: client)))
        #expect(try await scramParameters("old@example.test").hasSuffix("i=4096"))
    }

    @Test func sendAsGrantsAndTrustedRelays() async throws {
        try await directory.addUser("bob@example.test", password: "battery staple horse")
        try await directory.addUser("support@example.test", password: "helpdesk queue 4711")
        let bob = try #require(try await directory.store.account(address: EmailAddress("bob@example.test")!))
        #expect(try await !directory.may(bob, sendAs: EmailAddress("support@example.test")!))
        #expect(try await directory.may(bob, sendAs: EmailAddress("bob+tag@example.test")!))
        try await directory.addSendAsGrant("bob@example.test", "Support@Example.test")
        #expect(try await directory.sendAsGrants("bob@example.test") == ["support@example.test"])
        #expect(try await directory.may(bob, sendAs: EmailAddress("support@example.test")!))
        #expect(try await !directory.may(bob, sendAs: EmailAddress("alice@example.test")!))
        try await directory.addSendAsGrant("bob@example.test", "@example.test")
        #expect(try await directory.may(bob, sendAs: EmailAddress("alice@example.test")!))
        try await directory.removeSendAsGrant("bob@example.test", "@example.test")
        try await directory.removeSendAsGrant("bob@example.test", "support@example.test")
        await #expect(throws: DirectoryError.self) { try await directory.removeSendAsGrant("bob@example.test", "support@example.test") }
        await #expect(throws: DirectoryError.unknownDomain("x@elsewhere.test")) { try await directory.addSendAsGrant("bob@example.test", "x@elsewhere.test") }
        #expect(try await !directory.may(bob, sendAs: EmailAddress("ceo@example.test")!))
        try await directory.setTrustedRelay("bob@example.test", true)
        let relay = try #require(try await directory.store.account(address: EmailAddress("bob@example.test")!))
        #expect(relay.trustedRelay)
        #expect(try await directory.may(relay, sendAs: EmailAddress("ceo@example.test")!))
    }
}
