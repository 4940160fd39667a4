import MailStore

/// The message states of recently selected mailboxes, shared by every session of the server, so that SELECT of a big
/// mailbox copies an array instead of reading every row: a customer-service team's shared mailbox, open on many agents'
/// machines at once, is read from the store once and then kept current from the change log.
///
/// Invariants:
/// - An entry holds exactly what the store held at its `modSeq` (`MailboxStates`): it is filled by `messageStates(in:)`
///   and only ever brought forward with `changes(in:since: modSeq)`, which upserts changed messages (never going back to
///   an older modseq) and removes expunged ones — the same steps a session's `MessageCache` takes.
/// - An entry belongs to one incarnation of a mailbox: it is keyed by id and checked against UIDVALIDITY, so a mailbox
///   deleted and re-created (possibly under the same id) is never served another's states.
/// - At most `capacity` message states are kept in all; the least recently used mailboxes go first, and a mailbox larger
///   than the whole capacity is read each time and not kept.
/// - Reentrancy: while one refresh awaits the store, another may finish first; the newer snapshot (higher modseq) wins.
actor MailboxStateCache {
    private struct Entry {
        var uidValidity: UInt32
        var states: MailboxStates
        var lastUse: UInt64
    }

    private let store: any MailStore
    private let capacity: Int
    private var entries: [MailboxID: Entry] = [:]
    private var cachedStates = 0
    private var useCounter: UInt64 = 0

    init(store: any MailStore, capacity: Int) {
        self.store = store
        self.capacity = capacity
    }

    /// The mailbox's message states, current as of the returned `highestModSeq` (the store's, a moment ago).
    func states(of mailbox: MailboxInfo) async throws -> MailboxStates {
        guard capacity > 0 else { return try await store.messageStates(in: mailbox.id) }
        if let entry = entries[mailbox.id], entry.uidValidity == mailbox.uidValidity {
            let changes = try await store.changes(in: mailbox.id, since: entry.states.highestModSeq)
            guard var current = entries[mailbox.id], current.uidValidity == mailbox.uidValidity else {
                return try await load(mailbox)  // evicted or replaced while we waited
            }
            if changes.highestModSeq > current.states.highestModSeq {
                Self.apply(changes, to: &current.states)
            }
            return keep(current.states, for: mailbox)
        }
        return try await load(mailbox)
    }

    /// How many message states are cached (for tests and metrics).
    var count: Int { cachedStates }

    private func load(_ mailbox: MailboxInfo) async throws -> MailboxStates {
        let states = try await store.messageStates(in: mailbox.id)
        if let newer = entries[mailbox.id], newer.uidValidity == mailbox.uidValidity,
           newer.states.highestModSeq > states.highestModSeq {
            return keep(newer.states, for: mailbox)
        }
        return keep(states, for: mailbox)
    }

    private func keep(_ states: MailboxStates, for mailbox: MailboxInfo) -> MailboxStates {
        if let old = entries.removeValue(forKey: mailbox.id) { cachedStates -= old.states.states.count }
        guard states.states.count <= capacity else { return states }
        useCounter += 1
        entries[mailbox.id] = Entry(uidValidity: mailbox.uidValidity, states: states, lastUse: useCounter)
        cachedStates += states.states.count
        while cachedStates > capacity, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            entries[oldest.key] = nil
            cachedStates -= oldest.value.states.states.count
        }
        return states
    }

    /// Brings `states` forward by `changes` (changed messages upserted unless older, expunged UIDs removed).
    static func apply(_ changes: MailboxChanges, to states: inout MailboxStates) {
        var cache = MessageCache(states.states)
        cache.apply(changed: changes.changed, expunged: changes.expunged)
        states.states = cache.messages
        states.highestModSeq = max(states.highestModSeq, changes.highestModSeq)
    }
}
