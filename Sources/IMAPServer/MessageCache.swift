import MailStore

/// The selected mailbox's messages as the store had them when the session last synchronised (`SelectedMailbox.modSeq`),
/// so FETCH, STORE and SEARCH answer flags, modseqs, sizes and dates without reading the store (the per-command reads
/// of every record were the biggest cost of FETCH 1:* and SEARCH after the text matching).
///
/// Invariants:
/// - `messages` is in strictly ascending UID order and holds the messages the store held at the last synchronisation:
///   SELECT loads it from the same states as the view, every `MailboxChanges` the session fetches is applied to it
///   (changed records upserted unless older, expunged UIDs removed), and the session's own STORE applies the records
///   `setFlags` returned. IDLE drops it (idle connections hold no copy of their mailbox); the next command that needs
///   it reads the records afresh, which may put it ahead of the view's modseq — harmless, as applying a change twice
///   changes nothing.
/// - It may be behind the store only by changes whose feed event the session has not taken yet; a command synchronises
///   first when the event has arrived, as Dovecot does from its index.
/// - Messages the client has not been told about yet (a pending EXISTS) are in the cache but have no sequence number in
///   the view; expunged messages (ghosts in the view until announced) are not in the cache.
struct MessageCache: Sendable {
    private(set) var messages: [MessageState]

    /// States the store returned (`MailboxStates` are in ascending UID order): kept as they are, shared, not checked.
    init(ascending states: [MessageState]) {
        messages = states
    }

    init(_ states: [MessageState]) {
        var messages = states
        if !Self.isAscending(messages) { messages.sort { $0.uid < $1.uid } }
        self.messages = messages
    }

    var count: Int { messages.count }
    var largestUID: UID? { messages.last?.uid }

    /// Binary search by UID.
    func index(of uid: UID) -> Int? {
        var low = 0, high = messages.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let found = messages[middle].uid
            if found == uid { return middle }
            if found < uid { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }

    subscript(uid uid: UID) -> MessageState? { index(of: uid).map { messages[$0] } }

    /// The cached messages among `uids`, in ascending UID order; UIDs not in the mailbox any more are left out.
    func messages(for uids: [UID]) -> [MessageState] {
        let wanted = Self.isAscending(uids) ? uids : uids.sorted()
        var result: [MessageState] = []
        result.reserveCapacity(min(wanted.count, messages.count))
        // Walk both ascending lists; jump by binary search when only a few are wanted from a large mailbox.
        if wanted.count * 8 < messages.count {
            var previous: UID?
            for uid in wanted where uid != previous {
                previous = uid
                if let index = index(of: uid) { result.append(messages[index]) }
            }
            return result
        }
        var position = 0
        for uid in wanted {
            while position < messages.count, messages[position].uid < uid { position += 1 }
            guard position < messages.count else { break }
            if messages[position].uid == uid {
                result.append(messages[position])
                position += 1
            }
        }
        return result
    }

    /// Applies what the store reported since the last synchronisation: `changed` (new messages and new flags, any order)
    /// upserted, `expunged` removed.
    mutating func apply(changed: [MessageRecord], expunged: [UID]) {
        for record in changed { upsert(MessageState(record)) }
        guard !expunged.isEmpty else { return }
        if expunged.count < 8 {
            for uid in expunged { if let index = index(of: uid) { messages.remove(at: index) } }
        } else {
            let gone = Set(expunged)
            messages.removeAll { gone.contains($0.uid) }
        }
    }

    /// Records the session's own changes (a STORE's or FETCH's `setFlags` result) at once.
    mutating func update(_ records: [MessageRecord]) {
        for record in records { upsert(MessageState(record)) }
    }

    private mutating func upsert(_ message: MessageState) {
        if let last = messages.last, last.uid >= message.uid {
            if let index = index(of: message.uid) {
                // The feed may repeat itself: never go back to an older modseq.
                if messages[index].modSeq <= message.modSeq { messages[index] = message }
            } else {
                let position = messages.firstIndex { $0.uid > message.uid } ?? messages.count
                messages.insert(message, at: position)
            }
        } else {
            messages.append(message)
        }
    }

    private static func isAscending(_ messages: [MessageState]) -> Bool {
        zip(messages, messages.dropFirst()).allSatisfy { $0.uid < $1.uid }
    }

    private static func isAscending(_ uids: [UID]) -> Bool {
        zip(uids, uids.dropFirst()).allSatisfy { $0 < $1 }
    }
}
