import Delivery
import MailCore
import MailStore
import MailStoreSQLite
import MailTestSupport
import Testing

@Suite struct DeliveryAgentTests {
    let temporary = TemporaryDirectory()
    let store: SQLiteMailStore
    let directory: SQLiteDirectoryStore

    init() throws {
        store = SQLiteMailStore(database: try SQLiteDatabase(path: temporary.path + "/db.sqlite"), blobs: try FileBlobStore(directory: temporary.path + "/blobs"))
        directory = SQLiteDirectoryStore(store: store)
    }

    @Test func localRecipientsShareOneBlobWithReturnPath() async throws {
        try await directory.addDomain(DomainName("example.test")!)
        let alice = try await directory.addAccount(address: EmailAddress("alice@example.test")!, credential: "x", mailboxes: defaultMailboxes)
        let bob = try await directory.addAccount(address: EmailAddress("bob@example.test")!, credential: "x", mailboxes: defaultMailboxes)
        let agent = DeliveryAgent(store: store, queue: store)
        let body = Array("Received: from x\r\nSubject: hi\r\n\r\nhello\r\n".utf8)
        let plan = DeliveryPlan(sender: EmailAddress("sender@remote.test"), localAccounts: [alice.id, bob.id], remoteRecipients: [])
        let receipt = try await agent.accept(body, plan: plan, receivedAt: InternalDate(secondsSince1970: 1_700_000_000))
        #expect(receipt.localUIDs.count == 2 && receipt.localUIDs.values.allSatisfy { $0 == 1 })
        #expect(receipt.queueID == nil)
        var blobs: Set<BlobID> = []
        for account in [alice, bob] {
            let inbox = try #require(try await store.mailbox(of: account.id, named: "INBOX"))
            let records = try await store.messages(in: inbox.id)
            #expect(records.count == 1)
            blobs.insert(records[0].blob)
            let stored = try await store.blobs.get(records[0].blob)
            #expect(stored == Array("Return-Path: <sender@remote.test>\r\n".utf8) + body, "stored byte for byte after the Return-Path")
            #expect(records[0].size == stored.count)
        }
        #expect(blobs.count == 1, "one blob, many mailbox entries")
    }

    @Test func remoteRecipientsAreQueuedWithTheirDSNParameters() async throws {
        let agent = DeliveryAgent(store: store, queue: store)
        let body = Array("Subject: out\r\n\r\nbye\r\n".utf8)
        let plan = DeliveryPlan(
            sender: nil, localAccounts: [],
            remoteRecipients: [DeliveryRecipient(address: EmailAddress("x@remote.test")!, notify: "NEVER", originalRecipient: "rfc822;x@remote.test")],
            parameters: ["ENVID": "e1"])
        let receipt = try await agent.accept(body, plan: plan, receivedAt: InternalDate(secondsSince1970: 0))
        let id = try #require(receipt.queueID)
        let entry = try #require(try await store.queueEntry(id: id))
        #expect(entry.sender == "" && entry.parameters == ["ENVID": "e1"])
        #expect(entry.recipients == [QueuedRecipient(address: "x@remote.test", notify: "NEVER", originalRecipient: "rfc822;x@remote.test")])
        #expect(try await store.blobs.get(entry.blob) == body, "the queued copy has no Return-Path")
    }
}
