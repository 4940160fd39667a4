import Foundation
import GRDB
import MailCore
import MailStore
@testable import MailStoreSQLite
import MailTestSupport
import Testing

/// Group commit (`GroupCommitter`): concurrent message writes share transactions, each caller still returns only after
/// the commit that holds its write, and one write's failure does not touch the others.
@Suite struct GroupCommitTests {
    struct Fixture {
        let directory = TemporaryDirectory()
        let mail: SQLiteMailStore
        let inboxes: [MailboxID]

        init(accounts: Int = 2) async throws {
            let database = try SQLiteDatabase(path: directory.path + "/letterbox.sqlite")
            mail = SQLiteMailStore(database: database, blobs: try FileBlobStore(directory: directory.path + "/blobs"))
            let directoryStore = SQLiteDirectoryStore(store: mail)
            try await directoryStore.addDomain(DomainName("example.test")!)
            var inboxes: [MailboxID] = []
            for index in 0..<accounts {
                let account = try await directoryStore.addAccount(
                    address: EmailAddress("user\(index)@example.test")!, credential: "x", mailboxes: defaultMailboxes)
                inboxes.append(try #require(try await mail.mailbox(of: account.id, named: "INBOX")).id)
            }
            self.inboxes = inboxes
        }

        func message(_ text: String) async throws -> NewMessage {
            let bytes = Array("Subject: \(text)\r\n\r\n\(text)\r\n".utf8)
            return NewMessage(blob: try await mail.blobs.put(bytes), size: bytes.count, internalDate: InternalDate(secondsSince1970: 0))
        }
    }

    @Test func concurrentDeliveriesShareTransactionsAndKeepUIDsAscending() async throws {
        let fixture = try await Fixture()
        let count = 32
        let messages = try await (0..<count).asyncMap { try await fixture.message("message \($0)") }
        let before = fixture.mail.committer.committedTransactions
        let receipts = try await withThrowingTaskGroup(of: [MailboxID: UID].self) { group in
            for message in messages { group.addTask { try await fixture.mail.deliver(message, to: fixture.inboxes) } }
            var all: [[MailboxID: UID]] = []
            for try await receipt in group { all.append(receipt) }
            return all
        }
        let transactions = fixture.mail.committer.committedTransactions - before
        #expect(transactions >= 1 && transactions < count, "\(count) deliveries took \(transactions) transactions")
        for inbox in fixture.inboxes {
            let uids = receipts.compactMap { $0[inbox] }.sorted()
            #expect(uids == Array(1...UID(count)), "every delivery got its own UID")
            #expect(try await fixture.mail.messages(in: inbox).map(\.uid) == uids, "and every one is stored")
            #expect(try await fixture.mail.status(of: inbox).uidNext == UID(count + 1))
        }
    }

    @Test func aFailedWriteRollsBackOnlyItself() async throws {
        let fixture = try await Fixture(accounts: 1)
        let committer = fixture.mail.committer
        struct Refused: Error {}
        // A slow first write holds the writer, so the next three queue up and run in one transaction.
        async let slow: Void = committer.write { db in
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('slow', 1)")
            Thread.sleep(forTimeInterval: 0.3)
        }
        try await Task.sleep(for: .milliseconds(100))
        let before = committer.committedTransactions
        async let first: Void = committer.write { db in try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('first', 1)") }
        async let failing: Void = committer.write { db in
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('failing', 1)")
            throw Refused()
        }
        async let last: Void = committer.write { db in try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('last', 1)") }
        try await slow
        try await first
        try await last
        do {
            try await failing
            Issue.record("the failing write succeeded")
        } catch {
            #expect(error is Refused)
        }
        #expect(committer.committedTransactions - before <= 2, "the three queued writes shared a transaction")
        let keys = try await fixture.mail.database.pool.read { db in
            try String.fetchAll(db, sql: "SELECT key FROM meta WHERE key IN ('slow', 'first', 'failing', 'last') ORDER BY key")
        }
        #expect(keys == ["first", "last", "slow"])
    }

    @Test func aDeliveryToAMissingMailboxFailsAloneAndPublishesNothing() async throws {
        let fixture = try await Fixture(accounts: 1)
        let inbox = fixture.inboxes[0]
        let subscription = fixture.mail.changes.subscribe(mailbox: inbox)
        let good = try await fixture.message("good"), bad = try await fixture.message("bad")
        async let delivered = fixture.mail.deliver(good, to: [inbox])
        async let refused = fixture.mail.deliver(bad, to: [inbox, MailboxID(999_999)])
        let receipt = try await delivered
        #expect(receipt == [inbox: 1])
        do {
            _ = try await refused
            Issue.record("the delivery to a missing mailbox succeeded")
        } catch {
            #expect(error is MailStoreError)
        }
        #expect(try await fixture.mail.messages(in: inbox).map(\.uid) == [1], "the failed delivery left no row in INBOX either")
        var events = subscription.events.makeAsyncIterator()
        let event = await events.next()
        guard case .changed(let mailbox, let modSeq)? = event else { Issue.record("no change event"); return }
        #expect(mailbox == inbox)
        #expect(try await fixture.mail.changes(in: inbox, since: modSeq - 1).changed.map(\.uid) == [1])
        subscription.cancel()
    }
}

extension Sequence {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
