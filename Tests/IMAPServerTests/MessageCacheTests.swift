@testable import IMAPServer
import MailStore
import Testing

/// `MessageCache`: the selected mailbox's records a session keeps between commands, kept current from
/// `changes(in:since:)` and the session's own STOREs.
@Suite struct MessageCacheTests {
    static func record(_ uid: UID, modSeq: ModSeq = 1, flags: MessageFlags = MessageFlags()) -> MessageRecord {
        MessageRecord(uid: uid, modSeq: modSeq, flags: flags, internalDate: InternalDate(secondsSince1970: 0), size: 10,
                      blob: BlobID(hex: String(repeating: "b", count: 64))!)
    }

    static let seen = MessageFlags(system: .seen)

    /// (start UIDs, changed (uid, modseq, seen), expunged, expected UIDs, expected seen UIDs)
    static let changes: [([UID], [(UID, ModSeq, Bool)], [UID], [UID], [UID])] = [
        ([1, 2, 3], [], [], [1, 2, 3], []),
        ([1, 2, 3], [(4, 2, false), (5, 2, true)], [], [1, 2, 3, 4, 5], [5]),  // appended
        ([1, 2, 3], [(2, 2, true)], [], [1, 2, 3], [2]),  // another session's STORE
        ([1, 2, 3], [], [2], [1, 3], []),  // another session's EXPUNGE
        ([1, 2, 3], [(3, 2, true), (4, 2, false)], [1, 2], [3, 4], [3]),
        ([1, 2, 3], [], [7], [1, 2, 3], []),  // an expunge of a message never seen
        (Array(1...20), [], Array(2...19), [1, 20], []),  // many expunges at once
        ([], [(1, 2, false)], [], [1], []),
        ([1, 3], [(2, 2, true)], [], [1, 2, 3], [2]),  // a record below the largest UID that was missing
    ]

    @Test(arguments: changes)
    func appliesChanges(start: [UID], changed: [(UID, ModSeq, Bool)], expunged: [UID], uids: [UID], seen: [UID]) {
        var cache = MessageCache(start.map { MessageState(Self.record($0)) })
        cache.apply(changed: changed.map { Self.record($0.0, modSeq: $0.1, flags: $0.2 ? Self.seen : MessageFlags()) }, expunged: expunged)
        #expect(cache.messages.map(\.uid) == uids)
        #expect(cache.messages.filter { $0.flags.system.contains(.seen) }.map(\.uid) == seen)
        #expect(cache.largestUID == uids.last)
    }

    @Test func anOlderRecordNeverReplacesANewerOne() {
        var cache = MessageCache([MessageState(Self.record(1))])
        cache.update([Self.record(1, modSeq: 5, flags: Self.seen)])  // this session's STORE, committed at modseq 5
        cache.apply(changed: [Self.record(1, modSeq: 3)], expunged: [])  // a repeat of an older change
        #expect(cache[uid: 1]?.modSeq == 5)
        #expect(cache[uid: 1]?.flags == Self.seen)
    }

    @Test(arguments: [
        ([UID](1...10), [UID]([2, 4, 99]), [UID]([2, 4])),
        ([UID](1...10), [UID]([4, 2, 2]), [UID]([2, 4])),  // unsorted, repeated
        ([UID](1...100), [UID]([50]), [UID]([50])),  // few of many: binary search
        ([UID](1...100), [UID](0...200), [UID](1...100)),  // walk
        ([UID](), [UID]([1]), [UID]()),
    ])
    func looksUpUIDs(cached: [UID], wanted: [UID], found: [UID]) {
        let cache = MessageCache(cached.map { MessageState(Self.record($0)) })
        #expect(cache.messages(for: wanted).map(\.uid) == found)
    }

    @Test func sortsRecordsGivenOutOfOrder() {
        let cache = MessageCache([Self.record(3), Self.record(1), Self.record(2)].map(MessageState.init))
        #expect(cache.messages.map(\.uid) == [1, 2, 3])
        #expect(cache.index(of: 2) == 1 && cache.index(of: 4) == nil)
    }
}
