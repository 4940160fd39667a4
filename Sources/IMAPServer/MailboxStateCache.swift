import IMAPProtocol
import MailStore

/// What SELECT needs of a mailbox beyond its states, derived from them once and shared: the view's seed (UIDs and
/// flags), the first unseen message and the keywords in use.
struct SelectSnapshot: Sendable {
    private(set) var states: MailboxStates
    private(set) var seed: SelectedMailboxView.Seed
    /// Sequence number of the first message without \Seen, before any session's EXPUNGE.
    private(set) var firstUnseen: Int?
    /// Keywords in use, each once, sorted case-insensitively. Brought forward by union, as Dovecot's keyword list is:
    /// a keyword no message carries any more may stay listed (FLAGS may name flags no message has).
    private(set) var keywords: [Flag]

    init(_ states: MailboxStates) {
        var messages: [SelectedMailboxView.Message] = []
        messages.reserveCapacity(states.states.count)
        var firstUnseen: Int?
        var seen = Set<Flag>()
        var keywords: [Flag] = []
        for (index, state) in states.states.enumerated() {
            messages.append(SelectedMailboxView.Message(uid: state.uid, flags: Conversions.flags(state.flags)))
            if firstUnseen == nil, !state.flags.system.contains(.seen) { firstUnseen = index + 1 }
            for name in state.flags.keywords {
                let keyword = Flag(name)
                if seen.insert(keyword).inserted { keywords.append(keyword) }
            }
        }
        self.states = states
        self.seed = SelectedMailboxView.Seed(messages: messages)
        self.firstUnseen = firstUnseen
        self.keywords = keywords.sorted { $0.rawValue.lowercased() < $1.rawValue.lowercased() }
    }

    /// This snapshot brought forward to `states`, which are these states with `changes` applied: the seed and the
    /// keywords are updated by the changes alone; the first unseen is found again with a scan of the flags only.
    func updated(by changes: MailboxChanges, to states: MailboxStates) -> SelectSnapshot {
        var next = self
        next.states = states
        next.seed.update(
            changed: changes.changed.map { SelectedMailboxView.Message(uid: $0.uid, flags: Conversions.flags($0.flags)) },
            expunged: changes.expunged)
        next.firstUnseen = states.states.firstIndex { !$0.flags.system.contains(.seen) }.map { $0 + 1 }
        var known = Set(keywords)
        var added = false
        for record in changes.changed {
            for name in record.flags.keywords where known.insert(Flag(name)).inserted {
                next.keywords.append(Flag(name))
                added = true
            }
        }
        if added { next.keywords.sort { $0.rawValue.lowercased() < $1.rawValue.lowercased() } }
        return next
    }
}

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
/// - An entry's `SelectSnapshot`, once derived, matches its states: when the states move forward by some changes it is
///   brought forward by the same changes, otherwise dropped and derived again when SELECT next asks.
actor MailboxStateCache {
    private struct Entry {
        var uidValidity: UInt32
        var states: MailboxStates
        var lastUse: UInt64
        var select: SelectSnapshot?
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
                let base = current.states
                Self.apply(changes, to: &current.states)
                // What SELECT derives follows by the changes alone, when it was derived from the states just updated.
                let select = current.select.flatMap { $0.states.highestModSeq == base.highestModSeq ? $0.updated(by: changes, to: current.states) : nil }
                return keep(current.states, for: mailbox, select: select)
            }
            return keep(current.states, for: mailbox)
        }
        return try await load(mailbox)
    }

    /// The mailbox's states with what SELECT derives from them, derived once per state of the mailbox, so that the
    /// SELECT of a big mailbox nobody changed costs no work per message.
    func selectSnapshot(of mailbox: MailboxInfo) async throws -> SelectSnapshot {
        let states = try await states(of: mailbox)
        if let select = entries[mailbox.id]?.select, select.states.highestModSeq == states.highestModSeq,
           entries[mailbox.id]?.uidValidity == mailbox.uidValidity {
            return select
        }
        let snapshot = SelectSnapshot(states)
        if entries[mailbox.id]?.uidValidity == mailbox.uidValidity, entries[mailbox.id]?.states.highestModSeq == states.highestModSeq {
            entries[mailbox.id]?.select = snapshot
        }
        return snapshot
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

    private func keep(_ states: MailboxStates, for mailbox: MailboxInfo, select updated: SelectSnapshot? = nil) -> MailboxStates {
        var select = updated
        if let old = entries.removeValue(forKey: mailbox.id) {
            cachedStates -= old.states.states.count
            if select == nil, old.uidValidity == mailbox.uidValidity, old.states.highestModSeq == states.highestModSeq { select = old.select }
        }
        guard states.states.count <= capacity else { return states }
        useCounter += 1
        entries[mailbox.id] = Entry(uidValidity: mailbox.uidValidity, states: states, lastUse: useCounter, select: select)
        cachedStates += states.states.count
        while cachedStates > capacity, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            entries[oldest.key] = nil
            cachedStates -= oldest.value.states.states.count
        }
        return states
    }

    /// Brings `states` forward by `changes` (changed messages upserted unless older, expunged UIDs removed).
    static func apply(_ changes: MailboxChanges, to states: inout MailboxStates) {
        var cache = MessageCache(ascending: states.states)
        cache.apply(changed: changes.changed, expunged: changes.expunged)
        states.states = cache.messages
        states.highestModSeq = max(states.highestModSeq, changes.highestModSeq)
    }
}
