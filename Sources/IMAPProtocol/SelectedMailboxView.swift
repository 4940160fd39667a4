/// The client's view of its selected mailbox: which UID each message sequence number stands for, which flags the client
/// was last told, and the changes (from this or other sessions) it has not been told yet.
///
/// Invariants (RFC 9051 §7.5.1 / RFC 3501 §7.4.1):
/// - Sequence numbers change only when this session sends EXPUNGE. An expunged message stays in the view (a "ghost"
///   whose number still counts) until its EXPUNGE response is sent.
/// - EXPUNGE is never sent while answering FETCH, STORE or SEARCH (their UID forms may): those hold expunges back; the
///   next command that allows them (NOOP, IDLE, CHECK, EXPUNGE, UID FETCH, …) announces them.
/// - EXISTS never counts down: it is sent after new messages, counting the ghosts the client still sees.
/// - New messages arrive with ascending UIDs above every UID already in the view.
/// - Once CONDSTORE is enabled (`reportsModSeq`) unsolicited FETCH responses carry MODSEQ; once QRESYNC is enabled
///   (`reportsVanished`) expunges are announced as one VANISHED (UIDs) instead of EXPUNGEs (RFC 7162 §3.1.2, §3.2.10),
///   under the same timing rules as EXPUNGE.
/// - No FETCH FLAGS names a keyword the client was not told of first: a keyword new to the mailbox is announced with
///   FLAGS and OK [PERMANENTFLAGS] before the first FETCH that carries it (RFC 3501 §7.2.6, RFC 9051 §7.3.5), whether
///   another session or this one set it (`keywordAnnouncement(for:)`).
public struct SelectedMailboxView: Hashable, Sendable {
    /// One message as the session learns of it.
    public struct Message: Hashable, Sendable {
        public var uid: UInt32
        public var flags: Set<Flag>
        /// RFC 3501 \Recent: this session is the first to see the message. Ignored once IMAP4rev2 is enabled.
        public var isRecent: Bool

        public init(uid: UInt32, flags: Set<Flag> = [], isRecent: Bool = false) {
            self.uid = uid
            self.flags = flags
            self.isRecent = isRecent
        }
    }

    /// A change published by the store for this mailbox, from any session or from delivery.
    public enum Change: Hashable, Sendable {
        case appended(Message)
        /// `modSeq` is the message's new modseq (RFC 7162), reported once CONDSTORE is enabled.
        case flagsChanged(uid: UInt32, flags: Set<Flag>, modSeq: UInt64 = 0)
        case expunged(uid: UInt32)
    }

    public let uidValidity: UInt32
    /// Report \Recent and RECENT (IMAP4rev1). False once the client enabled IMAP4rev2.
    public var reportsRecent: Bool
    /// CONDSTORE is enabled: unsolicited FETCH responses include MODSEQ (RFC 7162 §3.1.2).
    public var reportsModSeq: Bool = false
    /// QRESYNC is enabled: expunges are announced with VANISHED (RFC 7162 §3.2.10.2).
    public var reportsVanished: Bool = false
    /// RFC 5182 `$`: the UIDs the last SEARCH … RETURN (SAVE) found.
    public var savedSearchResult: [UInt32] = []
    /// The keywords the client was told of in its last FLAGS (SELECT's or a later announcement).
    public private(set) var announcedKeywords: Set<Flag> = []
    /// EXAMINE: PERMANENTFLAGS is empty and new keywords cannot be created.
    public var isReadOnly: Bool = false

    /// UIDs in sequence-number order (index + 1 = sequence number), ghosts included.
    public private(set) var uids: [UInt32]
    /// The flags the client was last told, by UID.
    private var clientFlags: [UInt32: Set<Flag>]
    private var recent: Set<UInt32>
    private var pendingExpunges: Set<UInt32> = []
    private var pendingAppends: [Message] = []
    private var pendingFlags: [UInt32: Set<Flag>] = [:]
    private var pendingModSeqs: [UInt32: UInt64] = [:]

    /// What a view starts from, apart from \Recent: the mailbox's UIDs in ascending order and each message's flags.
    /// Built once per mailbox state and shared by every session that selects it (copy-on-write: a session copies the
    /// tables only when its client's knowledge first differs from the snapshot's).
    public struct Seed: Sendable {
        public private(set) var uids: [UInt32]
        public private(set) var flags: [UInt32: Set<Flag>]

        public init(messages: [Message]) {
            // SELECT passes the store's messages in UID order: one pass, no sort, unless they are not.
            let isAscending = zip(messages, messages.dropFirst()).allSatisfy { $0.uid < $1.uid }
            let sorted = isAscending ? messages : messages.sorted { $0.uid < $1.uid }
            var uids: [UInt32] = []
            uids.reserveCapacity(sorted.count)
            var flags: [UInt32: Set<Flag>] = [:]
            flags.reserveCapacity(sorted.count)
            for message in sorted where flags[message.uid] == nil {
                uids.append(message.uid)
                flags[message.uid] = message.flags
            }
            self.uids = uids
            self.flags = flags
        }

        /// Brings the seed forward: `expunged` UIDs leave, `changed` messages get their flags (a UID above every UID
        /// of the seed is a new message). Work in the number of changes, plus one copy of the tables when sessions
        /// still share them.
        public mutating func update(changed: [Message], expunged: [UInt32]) {
            if !expunged.isEmpty {
                let gone = Set(expunged.filter { flags[$0] != nil })
                if !gone.isEmpty {
                    uids.removeAll { gone.contains($0) }
                    for uid in gone { flags[uid] = nil }
                }
            }
            for message in changed.sorted(by: { $0.uid < $1.uid }) {
                if flags[message.uid] == nil {
                    if let last = uids.last, message.uid < last {  // not expected (new UIDs ascend); kept in order
                        uids.insert(message.uid, at: uids.firstIndex { $0 > message.uid } ?? uids.count)
                    } else {
                        uids.append(message.uid)
                    }
                }
                flags[message.uid] = message.flags
            }
        }
    }

    public init(uidValidity: UInt32, messages: [Message], reportsRecent: Bool = true) {
        self.init(uidValidity: uidValidity, seed: Seed(messages: messages),
                  recent: Set(messages.filter(\.isRecent).map(\.uid)), reportsRecent: reportsRecent)
    }

    /// A view of `seed`'s messages, `recent` of them \Recent for this session.
    public init(uidValidity: UInt32, seed: Seed, recent: Set<UInt32>, reportsRecent: Bool = true) {
        self.uidValidity = uidValidity
        self.reportsRecent = reportsRecent
        self.uids = seed.uids
        self.clientFlags = seed.flags
        self.recent = recent.filter { seed.flags[$0] != nil }
    }

    /// The number of messages the client believes exist (its last EXISTS, less the EXPUNGEs since).
    public var count: Int { uids.count }
    public var recentCount: Int { reportsRecent ? recent.count : 0 }
    public var largestUID: UInt32 { max(pendingAppends.last?.uid ?? 0, uids.last ?? 0) }
    public var hasPendingChanges: Bool { !pendingExpunges.isEmpty || !pendingAppends.isEmpty || !pendingFlags.isEmpty }
    /// Expunges learnt but not announced yet (held back during FETCH, STORE and SEARCH).
    public var hasPendingExpunges: Bool { !pendingExpunges.isEmpty }

    /// The responses that describe the mailbox right after SELECT/EXAMINE: EXISTS and (rev1) RECENT.
    public var selectResponses: [UntaggedResponse] {
        reportsRecent ? [.exists(count), .recent(recentCount)] : [.exists(count)]
    }

    public func uid(forSequenceNumber number: Int) -> UInt32? {
        number >= 1 && number <= uids.count ? uids[number - 1] : nil
    }

    /// Binary search: UIDs in the view are strictly ascending.
    public func sequenceNumber(forUID uid: UInt32) -> Int? {
        var low = 0, high = uids.count - 1
        while low <= high {
            let middle = (low + high) / 2
            if uids[middle] == uid { return middle + 1 }
            if uids[middle] < uid { low = middle + 1 } else { high = middle - 1 }
        }
        return nil
    }

    /// The message is still numbered in the client's view but already expunged (RFC 9051 §7.5.1 EXPUNGEISSUED).
    public func isExpungePending(uid: UInt32) -> Bool { pendingExpunges.contains(uid) }

    /// The flags as the client knows them (with \Recent when reported), or nil for a UID not in the view.
    public func flags(uid: UInt32) -> Set<Flag>? {
        guard var flags = clientFlags[uid] else { return nil }
        if reportsRecent, recent.contains(uid) { flags.insert(.recent) }
        return flags
    }

    // MARK: Keywords

    /// Records the keywords SELECT's FLAGS response listed.
    public mutating func noteKeywordsAnnounced(_ keywords: some Sequence<Flag>) {
        announcedKeywords.formUnion(keywords.lazy.filter { !Flag.systemFlags.contains($0.rawValue) })
    }

    /// The FLAGS and OK [PERMANENTFLAGS] responses to send before a FETCH that carries `flags`, if any of them is a keyword
    /// the client has not been told of (RFC 3501 §7.2.6, RFC 9051 §7.3.5); none otherwise. The lists name every keyword
    /// announced so far, so a client that replaces its list loses none.
    public mutating func keywordAnnouncement(for flags: Set<Flag>) -> [UntaggedResponse] {
        let new = flags.filter { !announcedKeywords.contains($0) && !Flag.systemFlags.contains($0.rawValue) }
        guard !new.isEmpty else { return [] }
        announcedKeywords.formUnion(new)
        let keywords = announcedKeywords.sorted { $0.rawValue.lowercased() < $1.rawValue.lowercased() }
        let listed = Self.announcedSystemFlags + keywords
        return [
            .flags(listed),
            .status(.ok, code: .permanentFlags(isReadOnly ? [] : listed, allowsNewKeywords: !isReadOnly),
                    text: isReadOnly ? "no permanent flags permitted" : "flags permitted"),
        ]
    }

    /// The system flags FLAGS lists (RFC 9051 §7.3.5; \Recent is not one a client may set).
    public static let announcedSystemFlags: [Flag] = [.answered, .flagged, .deleted, .seen, .draft]

    // MARK: Changes

    public mutating func apply(_ change: Change) {
        switch change {
        case .appended(let message):
            guard message.uid > largestUID else { return }  // already known: the feed may repeat itself
            pendingAppends.append(message)
        case .flagsChanged(let uid, let flags, let modSeq):
            if let index = pendingAppends.firstIndex(where: { $0.uid == uid }) {
                pendingAppends[index].flags = flags
            } else if clientFlags[uid] != nil, !pendingExpunges.contains(uid) {
                pendingFlags[uid] = flags
                pendingModSeqs[uid] = max(modSeq, pendingModSeqs[uid] ?? 0)
            }
        case .expunged(let uid):
            if let index = pendingAppends.firstIndex(where: { $0.uid == uid }) {
                pendingAppends.remove(at: index)  // the client never saw it
            } else if clientFlags[uid] != nil {
                pendingExpunges.insert(uid)
                pendingFlags[uid] = nil
                pendingModSeqs[uid] = nil
            }
        }
    }

    /// Records flags the session itself reported (a STORE's or FETCH's FLAGS), so they are not announced again.
    public mutating func noteFlagsSent(uid: UInt32, flags: Set<Flag>) {
        guard let known = clientFlags[uid] else { return }
        let sent = flags.contains(.recent) ? flags.subtracting([.recent]) : flags
        if known != sent { clientFlags[uid] = sent }  // FETCH 1:* FLAGS mostly repeats what the client knows: no write
        if pendingFlags[uid].map({ $0 == clientFlags[uid] }) == true {
            pendingFlags[uid] = nil
            pendingModSeqs[uid] = nil
        }
    }

    /// May EXPUNGE responses be sent while this command runs? Not during FETCH, STORE or SEARCH (RFC 9051 §7.5.1);
    /// their UID forms allow them.
    public static func expungesAllowed(during command: IMAPCommand) -> Bool {
        switch command {
        case .fetch(_, _, _, let uid), .store(_, _, let uid): uid
        case .search(_, let uid): uid
        default: true
        }
    }

    /// Announces what may be announced now, updating the view: EXPUNGEs (if allowed), then EXISTS and (rev1) RECENT for
    /// new messages, then FETCH (UID FLAGS) for flags that changed since the client last saw them.
    public mutating func pendingResponses(expungesAllowed: Bool) -> [UntaggedResponse] {
        var responses: [UntaggedResponse] = []
        if expungesAllowed, !pendingExpunges.isEmpty {
            responses += announceExpunges()
        }
        // New keywords first, on new messages as on changed ones: a later FETCH FLAGS may carry them.
        var flagsToCome = Set<Flag>()
        for message in pendingAppends { flagsToCome.formUnion(message.flags) }
        for (uid, flags) in pendingFlags where clientFlags[uid] != flags { flagsToCome.formUnion(flags) }
        responses += keywordAnnouncement(for: flagsToCome)
        if !pendingAppends.isEmpty {
            for message in pendingAppends {
                uids.append(message.uid)
                clientFlags[message.uid] = message.flags
                if message.isRecent { recent.insert(message.uid) }
            }
            pendingAppends.removeAll()
            responses.append(.exists(count))
            if reportsRecent { responses.append(.recent(recentCount)) }
        }
        for (uid, flags) in pendingFlags.sorted(by: { $0.key < $1.key }) {
            guard let number = sequenceNumber(forUID: uid), clientFlags[uid] != flags else { continue }
            clientFlags[uid] = flags
            var items: [FetchResponseItem] = [.uid(uid), .flags(self.flags(uid: uid).map(Self.ordered) ?? [])]
            if reportsModSeq, let modSeq = pendingModSeqs[uid], modSeq > 0 { items.append(.modSeq(modSeq)) }
            responses.append(.fetch(number, items))
        }
        pendingFlags.removeAll()
        pendingModSeqs.removeAll()
        return responses
    }

    /// EXPUNGE responses in ascending order, each number as it is after the previous ones were removed; or one VANISHED
    /// with their UIDs once QRESYNC is enabled.
    private mutating func announceExpunges() -> [UntaggedResponse] {
        var responses: [UntaggedResponse] = []
        let vanished = reportsVanished ? [UntaggedResponse.vanished(earlier: false, SequenceSet(pendingExpunges.sorted()))] : []
        var removed = 0
        var kept: [UInt32] = []
        kept.reserveCapacity(uids.count)
        for (offset, uid) in uids.enumerated() {
            if pendingExpunges.contains(uid) {
                responses.append(.expunge(offset + 1 - removed))
                removed += 1
                clientFlags[uid] = nil
                recent.remove(uid)
            } else {
                kept.append(uid)
            }
        }
        uids = kept
        pendingExpunges.removeAll()
        savedSearchResult.removeAll { clientFlags[$0] == nil }
        return reportsVanished ? vanished : responses
    }

    /// System flags first in a fixed order, then keywords alphabetically: stable output for clients and tests.
    static func ordered(_ flags: Set<Flag>) -> [Flag] {
        flags.sorted { lhs, rhs in
            let l = Flag.systemFlags.firstIndex(of: lhs.rawValue) ?? Int.max
            let r = Flag.systemFlags.firstIndex(of: rhs.rawValue) ?? Int.max
            return l != r ? l < r : lhs.rawValue.lowercased() < rhs.rawValue.lowercased()
        }
    }

    // MARK: Sequence sets

    public enum SetError: Error, Hashable, Sendable {
        /// A message sequence number beyond the client's count (RFC 9051: tagged BAD).
        case invalidSequenceNumber
    }

    /// The UIDs a sequence set names, ascending and including ghosts (check `isExpungePending`). With `isUID`, UIDs not
    /// in the view are skipped; `*` is the largest UID. Without it, every number must be within the client's count.
    /// `$` is the saved search result.
    public func resolve(_ set: SequenceSet, isUID: Bool) throws(SetError) -> [UInt32] {
        if set == .lastCommand { return savedSearchResult.filter { sequenceNumber(forUID: $0) != nil }.sorted() }
        if isUID {
            let ranges = set.resolved(largest: uids.last ?? 0)
            return uids.filter { uid in ranges.contains { $0.contains(uid) } }
        }
        let ranges = set.resolved(largest: UInt32(uids.count))
        guard let last = ranges.last, last.upperBound <= uids.count, ranges.first!.lowerBound >= 1 else {
            throw .invalidSequenceNumber
        }
        return ranges.flatMap { range in range.map { uids[Int($0) - 1] } }
    }
}
