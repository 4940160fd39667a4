import Crypto
import Synchronization

/// Recently verified logins, keyed by HMAC-SHA-256(process-random key, user ‖ 0 ‖ password) — never the password — and
/// remembering the StoredKey they were verified against, so a changed credential misses the cache. Bounded: the oldest
/// entries are dropped first.
final class LoginCache: Sendable {
    private struct State {
        var entries: [SHA256Digest: [UInt8]] = [:]
        var order: [SHA256Digest] = []
        var head = 0
    }

    private let capacity: Int
    private let secret = SymmetricKey(size: .bits256)
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    func key(user: String, password: String) -> SHA256Digest {
        var hasher = HMAC<SHA256>(key: secret)
        hasher.update(data: Array(user.utf8))
        hasher.update(data: [0])
        hasher.update(data: Array(password.utf8))
        return SHA256.hash(data: Array(hasher.finalize()))
    }

    func contains(_ key: SHA256Digest, storedKey: [UInt8]) -> Bool {
        guard capacity > 0 else { return false }
        return state.withLock { $0.entries[key] == storedKey }
    }

    func insert(_ key: SHA256Digest, storedKey: [UInt8]) {
        guard capacity > 0 else { return }
        state.withLock { state in
            if state.entries.updateValue(storedKey, forKey: key) != nil { return }
            if state.order.count < capacity {
                state.order.append(key)
            } else {
                state.entries.removeValue(forKey: state.order[state.head])
                state.order[state.head] = key
                state.head = (state.head + 1) % capacity
            }
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
