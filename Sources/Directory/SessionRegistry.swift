import MailStore
import Synchronization

/// The open authenticated sessions of this process, by account, so that a session whose account was disabled or
/// removed — by an admin command in another process, or on another node — ends within a second.
///
/// A session registers after login with a closure that ends it (it must be cheap and safe from any thread: typically a
/// wake-up of the connection), and unregisters when it ends. `sweep()` asks the store once which of the registered
/// accounts were revoked and ends their sessions; `serve` runs it every second (`SessionRegistry.sweepInterval`).
public final class SessionRegistry: Sendable {
    /// How often `serve` sweeps. One indexed query per sweep, and none while no session is open.
    public static let sweepInterval: Duration = .seconds(1)

    public struct Registration: Hashable, Sendable {
        let id: UInt64
        public let account: AccountID
    }

    private struct Entry {
        var account: AccountID
        var end: @Sendable () -> Void
    }

    private struct State {
        var next: UInt64 = 0
        var entries: [UInt64: Entry] = [:]
    }

    private let store: any DirectoryStore
    private let state = Mutex(State())

    public init(store: any DirectoryStore) {
        self.store = store
    }

    /// Registers a session of `account`; `end` is called (once, from the sweeping task) if the account is revoked.
    public func register(account: AccountID, end: @escaping @Sendable () -> Void) -> Registration {
        state.withLock { state in
            state.next += 1
            state.entries[state.next] = Entry(account: account, end: end)
            return Registration(id: state.next, account: account)
        }
    }

    public func unregister(_ registration: Registration) {
        _ = state.withLock { $0.entries.removeValue(forKey: registration.id) }
    }

    /// Sessions registered now.
    public var count: Int { state.withLock { $0.entries.count } }

    /// Ends the sessions of every registered account that is disabled or gone; returns how many were ended.
    @discardableResult
    public func sweep() async throws -> Int {
        let accounts = state.withLock { Array(Set($0.entries.values.map(\.account))) }
        guard !accounts.isEmpty else { return 0 }
        let revoked = try await store.revokedAccounts(among: accounts)
        guard !revoked.isEmpty else { return 0 }
        let ending: [Entry] = state.withLock { state in
            let found = state.entries.filter { revoked.contains($0.value.account) }
            for key in found.keys { state.entries[key] = nil }
            return Array(found.values)
        }
        for entry in ending { entry.end() }
        return ending.count
    }
}
