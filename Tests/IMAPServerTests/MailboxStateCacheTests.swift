@testable import IMAPServer
import IMAPProtocol
import MailCore
import MailStore
import MailStoreSQLite
import MailTestSupport
import Testing

/// The server-wide cache SELECT reads from, against a real SQLite store changed behind its back.
@Suite struct MailboxStateCacheTests {
    struct Fixture {
        let directory = TemporaryDirectory()
        let store: SQLiteMailStore
        let account: AccountRecord

        init() async throws {
            let database = try SQLiteDatabase(path: directory.path + "/letterbox.sqlite")
            store = SQLiteMailStore(database: database, blobs: try FileBlobStore(directory: directory.path + "/blobs"))
            let directoryStore = SQLiteDirectoryStore(store: store)
            try await directoryStore.addDomain(DomainName("example.test")!)
            account = try await directoryStore.addAccount(
                address: EmailAddress("alice@example.test")!, credential: "x", mailboxes: [("INBOX", nil)])
        }

        func mailbox(_ name: String) async throws -> MailboxInfo {
            try #require(try await store.mailbox(of: account.id, named: name))
        }

        func append(_ count: Int, to mailbox: MailboxInfo) async throws {
            var messages: [NewMessage] = []
            for n in 0..<count {
                let bytes = Array("Subject: \(n)\r\n\r\nbody \(n)\r\n".utf8)
                messages.append(NewMessage(blob: try await store.blobs.put(bytes), size: bytes.count,
                                           internalDate: InternalDate(secondsSince1970: 1_700_000_000)))
            }
            _ = try await store.append(messages, to: mailbox.id)
        }
    }

    @Test("after appends, flag changes and expunges elsewhere it gives exactly what the store holds")
    func followsTheStore() async throws {
        let fixture = try await Fixture()
        let inbox = try await fixture.mailbox("INBOX")
        try await fixture.append(10, to: inbox)
        let cache = MailboxStateCache(store: fixture.store, capacity: 1_000)
        #expect(try await cache.states(of: inbox).states.count == 10)

        // Another session (or node) changes the mailbox: new messages, flags, an expunge.
        try await fixture.append(3, to: inbox)
        _ = try await fixture.store.setFlags(MessageFlags(system: [.seen]), operation: .add, uids: [2, 12], in: inbox.id, unchangedSince: nil)
        _ = try await fixture.store.setFlags(MessageFlags(system: [.deleted]), operation: .add, uids: [3, 5], in: inbox.id, unchangedSince: nil)
        _ = try await fixture.store.expunge(in: inbox.id, uids: nil)
        _ = try await fixture.store.setFlags(MessageFlags(names: ["$Important"]), operation: .add, uids: [1], in: inbox.id, unchangedSince: nil)

        let cached = try await cache.states(of: inbox)
        let fresh = try await fixture.store.messageStates(in: inbox.id)
        #expect(cached.states == fresh.states)
        #expect(cached.highestModSeq == fresh.highestModSeq)
        #expect(cached.states.map(\.uid) == [1, 2, 4, 6, 7, 8, 9, 10, 11, 12, 13])
        #expect(await cache.count == 11)
    }

    @Test("what SELECT derives (view seed, first unseen, keywords) follows the mailbox's changes")
    func selectSnapshot() async throws {
        let fixture = try await Fixture()
        let inbox = try await fixture.mailbox("INBOX")
        try await fixture.append(5, to: inbox)
        let cache = MailboxStateCache(store: fixture.store, capacity: 1_000)
        let before = try await cache.selectSnapshot(of: inbox)
        #expect(before.seed.uids == [1, 2, 3, 4, 5] && before.firstUnseen == 1 && before.keywords.isEmpty)
        #expect(try await cache.selectSnapshot(of: inbox).states.highestModSeq == before.states.highestModSeq)

        _ = try await fixture.store.setFlags(MessageFlags(system: [.seen]), operation: .add, uids: [1, 2], in: inbox.id, unchangedSince: nil)
        _ = try await fixture.store.setFlags(MessageFlags(names: ["Work", "$Forwarded"]), operation: .add, uids: [4], in: inbox.id, unchangedSince: nil)
        let after = try await cache.selectSnapshot(of: inbox)
        #expect(after.firstUnseen == 3)
        #expect(after.keywords.map(\.rawValue) == ["$Forwarded", "Work"])
        #expect(after.seed.flags[1] == [.seen] && after.seed.flags[3] == [])
        #expect(after.seed.flags[4] == [Flag("Work"), Flag("$Forwarded")])
        #expect(after.states.states == (try await fixture.store.messageStates(in: inbox.id)).states)

        // Brought forward by appends, expunges and flag changes, it equals a snapshot derived afresh.
        try await fixture.append(3, to: inbox)
        _ = try await fixture.store.setFlags(MessageFlags(system: [.deleted, .seen]), operation: .add, uids: [3, 6], in: inbox.id, unchangedSince: nil)
        _ = try await fixture.store.expunge(in: inbox.id, uids: nil)
        _ = try await fixture.store.setFlags(MessageFlags(system: [.seen]), operation: .add, uids: [4, 5], in: inbox.id, unchangedSince: nil)
        let updated = try await cache.selectSnapshot(of: inbox)
        let fresh = SelectSnapshot(try await fixture.store.messageStates(in: inbox.id))
        #expect(updated.states.states == fresh.states.states && updated.states.highestModSeq == fresh.states.highestModSeq)
        #expect(updated.seed.uids == [1, 2, 4, 5, 7, 8] && updated.seed.uids == fresh.seed.uids)
        #expect(updated.seed.flags == fresh.seed.flags)
        #expect(updated.firstUnseen == 5 && updated.firstUnseen == fresh.firstUnseen)
        #expect(updated.keywords == fresh.keywords)
    }

    @Test("a mailbox deleted and created again is read afresh, never served the old one's states")
    func recreatedMailbox() async throws {
        let fixture = try await Fixture()
        let first = try await fixture.store.createMailbox(of: fixture.account.id, named: "Shared", specialUse: nil)
        try await fixture.append(4, to: first)
        let cache = MailboxStateCache(store: fixture.store, capacity: 1_000)
        #expect(try await cache.states(of: first).states.count == 4)
        try await fixture.store.deleteMailbox(of: fixture.account.id, named: "Shared")
        let second = try await fixture.store.createMailbox(of: fixture.account.id, named: "Shared", specialUse: nil)
        #expect(second.uidValidity != first.uidValidity)
        try await fixture.append(1, to: second)
        #expect(try await cache.states(of: second).states.count == 1)
    }

    @Test("at most `capacity` states are kept; the least recently used mailbox goes first; a too-big one is not kept")
    func capacity() async throws {
        let fixture = try await Fixture()
        var boxes: [MailboxInfo] = []
        for name in ["A", "B", "C"] {
            let box = try await fixture.store.createMailbox(of: fixture.account.id, named: name, specialUse: nil)
            try await fixture.append(4, to: box)
            boxes.append(box)
        }
        let big = try await fixture.store.createMailbox(of: fixture.account.id, named: "Big", specialUse: nil)
        try await fixture.append(12, to: big)
        let cache = MailboxStateCache(store: fixture.store, capacity: 10)
        _ = try await cache.states(of: boxes[0])
        _ = try await cache.states(of: boxes[1])
        #expect(await cache.count == 8)
        _ = try await cache.states(of: boxes[0])  // A is now more recent than B
        _ = try await cache.states(of: boxes[2])  // 12 > 10: B goes
        #expect(await cache.count == 8)
        #expect(try await cache.states(of: big).states.count == 12, "read, answered, not kept")
        #expect(await cache.count == 8)
        let uncached = MailboxStateCache(store: fixture.store, capacity: 0)
        #expect(try await uncached.states(of: boxes[0]).states.count == 4)
        #expect(await uncached.count == 0)
    }
}
