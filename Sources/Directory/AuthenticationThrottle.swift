import Synchronization

/// Slows down password guessing: after each failed AUTH the session waits a growing delay before answering, and after
/// `lockoutThreshold` recent failures an IP address or an account is locked out for `lockoutDuration` (AUTH then answers
/// 454 4.7.0 whatever the credentials). In memory and bounded (`maximumEntries` per kind); a success clears the account's
/// and the address's record.
///
/// Time is passed in (`now`) so the policy is testable without sleeping.
public final class AuthenticationThrottle: Sendable {
    public struct Configuration: Sendable {
        /// Delay after the first failure; doubles with each further one. Default 250 ms.
        public var baseDelay: Duration
        /// Longest delay. Default 8 s.
        public var maximumDelay: Duration
        /// Failures (per address or per account) that lock it out. Default 10.
        public var lockoutThreshold: Int
        /// How long a lockout lasts; also how long a failure is remembered. Default 15 minutes.
        public var lockoutDuration: Duration
        /// Addresses and accounts remembered, each; the oldest are forgotten first. Default 10,000.
        public var maximumEntries: Int

        public init(
            baseDelay: Duration = .milliseconds(250), maximumDelay: Duration = .seconds(8), lockoutThreshold: Int = 10,
            lockoutDuration: Duration = .seconds(900), maximumEntries: Int = 10_000
        ) {
            self.baseDelay = baseDelay
            self.maximumDelay = maximumDelay
            self.lockoutThreshold = lockoutThreshold
            self.lockoutDuration = lockoutDuration
            self.maximumEntries = maximumEntries
        }
    }

    /// What the throttle knows about one key.
    struct Entry: Sendable {
        var failures: Int
        var lastFailure: ContinuousClock.Instant
    }

    /// One bounded table (addresses or accounts).
    struct Table: Sendable {
        var entries: [String: Entry] = [:]

        func failures(_ key: String, now: ContinuousClock.Instant, memory: Duration) -> Int {
            guard let entry = entries[key], now - entry.lastFailure < memory else { return 0 }
            return entry.failures
        }

        mutating func recordFailure(_ key: String, now: ContinuousClock.Instant, memory: Duration, limit: Int) -> Int {
            let count = failures(key, now: now, memory: memory) + 1
            entries[key] = Entry(failures: count, lastFailure: now)
            if entries.count > limit {
                entries = entries.filter { now - $0.value.lastFailure < memory }
                while entries.count > limit, let oldest = entries.min(by: { $0.value.lastFailure < $1.value.lastFailure }) {
                    entries[oldest.key] = nil
                }
            }
            return count
        }
    }

    struct State: Sendable {
        var addresses = Table()
        var accounts = Table()
    }

    public let configuration: Configuration
    private let state = Mutex(State())

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// True when `address` or `account` (if known) has too many recent failures to try now.
    public func isLockedOut(address: String?, account: String?, now: ContinuousClock.Instant = .now) -> Bool {
        let memory = configuration.lockoutDuration, threshold = configuration.lockoutThreshold
        return state.withLock { state in
            if let address, state.addresses.failures(address, now: now, memory: memory) >= threshold { return true }
            if let account, state.accounts.failures(account.lowercased(), now: now, memory: memory) >= threshold { return true }
            return false
        }
    }

    /// Records a failure and returns how long to wait before answering it.
    public func recordFailure(address: String?, account: String?, now: ContinuousClock.Instant = .now) -> Duration {
        let memory = configuration.lockoutDuration, limit = configuration.maximumEntries
        let count = state.withLock { state in
            var count = 0
            if let address { count = state.addresses.recordFailure(address, now: now, memory: memory, limit: limit) }
            if let account {
                count = max(count, state.accounts.recordFailure(account.lowercased(), now: now, memory: memory, limit: limit))
            }
            return count
        }
        return delay(afterFailures: count)
    }

    /// Forgets the failures of `address` and `account` after a successful login.
    public func recordSuccess(address: String?, account: String) {
        state.withLock { state in
            if let address { state.addresses.entries[address] = nil }
            state.accounts.entries[account.lowercased()] = nil
        }
    }

    /// `baseDelay × 2^(failures − 1)`, at most `maximumDelay`.
    public func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        var delay = configuration.baseDelay
        for _ in 1..<min(failures, 32) {
            delay *= 2
            if delay >= configuration.maximumDelay { return configuration.maximumDelay }
        }
        return min(delay, configuration.maximumDelay)
    }

    /// Entries remembered (addresses, accounts); for tests.
    var entryCounts: (addresses: Int, accounts: Int) {
        state.withLock { ($0.addresses.entries.count, $0.accounts.entries.count) }
    }
}
