/// MailTestSupport: shared test machinery — the store conformance suite every backend passes, temp directories, and
/// dnsmasq on loopback for DNS-backed tests, and (added by each server's issue) port-0 harnesses and scripted clients.
import Foundation
import MailCore
import MailStore
import Testing

/// A fresh, empty store for one test.
public struct StoreUnderTest: Sendable {
    public let mail: any MailStore
    public let directory: any DirectoryStore
    public let queue: any QueueStore
    public init(mail: any MailStore, directory: any DirectoryStore, queue: any QueueStore) {
        self.mail = mail
        self.directory = directory
        self.queue = queue
    }
}

/// The conformance suite of the `MailStore`/`DirectoryStore` contract, written once and run against every backend.
/// Each check takes a fresh store; backends wire them into their own test target, one `@Test` per check.
public enum MailStoreConformance {
    public static let checks: [(name: String, run: @Sendable (StoreUnderTest) async throws -> Void)] = [
        ("accounts get the default mailboxes", defaultMailboxesExist),
        ("UIDs strictly ascending under concurrent appends", uidsAscendUnderConcurrentAppends),
        ("modseq ordering and change log", modSeqOrdering),
        ("expunge log", expungeLog),
        ("flags and keywords", flagsAndKeywords),
        ("copy and move keep one blob", copyAndMove),
        ("rename with hierarchy and INBOX", renameMailboxes),
        ("UIDVALIDITY is never reused", uidValidityNeverReused),
        ("an uncommitted blob leaves no visible message", uncommittedBlobIsInvisible),
        ("change feed publishes after commit", changeFeed),
        ("recent is claimed once", recentClaimedOnce),
        ("search texts are read in bulk", searchTextsInBulk),
        ("directory: domains, accounts, aliases", directoryRecords),
        ("directory: disabled and trusted accounts, send-as grants, the shared secret", accountStateAndGrants),
        ("outbound queue entries keep envelope and recipients", queueEntries),
        ("local copies and the queue entry commit together or not at all", localAndQueuedTogether),
        ("queue attempts, due order, flush and history", queueAttempts),
        ("usage counts every copy; quotas are stored per account", usageAndQuotas),
        ("big blobs round-trip byte for byte", bigBlobs),
        ("released blobs are collected once nothing references them", releasedBlobsAreCollected),
    ]

    static func makeAccount(_ store: StoreUnderTest, _ address: String = "alice@example.test") async throws -> AccountRecord {
        let address = EmailAddress(address)!
        if try await !store.directory.domains().contains(address.domain) { try await store.directory.addDomain(address.domain) }
        return try await store.directory.addAccount(address: address, credential: "x", mailboxes: defaultMailboxes)
    }

    static func message(_ store: StoreUnderTest, _ text: String) async throws -> NewMessage {
        let bytes = Array("Subject: \(text)\r\n\r\n\(text)\r\n".utf8)
        let blob = try await store.mail.blobs.put(bytes)
        return NewMessage(blob: blob, size: bytes.count, internalDate: InternalDate(secondsSince1970: 1_700_000_000, zoneOffsetMinutes: 60))
    }

    static func inbox(_ store: StoreUnderTest, _ account: AccountRecord) async throws -> MailboxInfo {
        try #require(try await store.mail.mailbox(of: account.id, named: "inbox"))
    }

    static func defaultMailboxesExist(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let boxes = try await store.mail.mailboxes(of: account.id)
        #expect(Set(boxes.map(\.name)) == ["INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"])
        #expect(boxes.first { $0.name == "Sent" }?.specialUse == .sent)
        #expect(boxes.allSatisfy { $0.subscribed && $0.uidNext == 1 && $0.uidValidity > 0 })
    }

    static func uidsAscendUnderConcurrentAppends(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let inbox = try await inbox(store, account)
        let mappings = try await withThrowingTaskGroup(of: [UID].self) { group in
            for task in 0..<8 {
                group.addTask {
                    var uids: [UID] = []
                    for index in 0..<10 {
                        let message = try await message(store, "task \(task) message \(index)")
                        let mapping = try await store.mail.append([message], to: inbox.id)
                        uids += mapping.destination
                    }
                    return uids
                }
            }
            var all: [[UID]] = []
            for try await uids in group { all.append(uids) }
            return all
        }
        for uids in mappings { #expect(uids == uids.sorted(), "each appender sees ascending UIDs") }
        let all = mappings.flatMap { $0 }.sorted()
        #expect(all == Array(1...80).map(UID.init), "80 distinct UIDs, no gaps, no duplicates")
        let records = try await store.mail.messages(in: inbox.id)
        #expect(records.map(\.uid) == all)
        #expect(try await store.mail.status(of: inbox.id).uidNext == 81)
    }

    static func modSeqOrdering(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let inbox = try await inbox(store, account)
        let start = try await store.mail.status(of: inbox.id).highestModSeq
        _ = try await store.mail.append([try await message(store, "a"), try await message(store, "b")], to: inbox.id)
        let afterAppend = try await store.mail.status(of: inbox.id).highestModSeq
        #expect(afterAppend > start)
        let (changed, _) = try await store.mail.setFlags(MessageFlags(system: .seen), operation: .add, uids: [1], in: inbox.id, unchangedSince: nil)
        #expect(changed.count == 1 && changed[0].modSeq > afterAppend)
        let delta = try await store.mail.changes(in: inbox.id, since: afterAppend)
        #expect(delta.changed.map(\.uid) == [1])
        #expect(delta.changed[0].flags.system.contains(.seen))
        let again = try await store.mail.setFlags(MessageFlags(system: .seen), operation: .add, uids: [1], in: inbox.id, unchangedSince: nil)
        #expect(again.changed.isEmpty, "a no-op flag change does not bump the modseq")
        let conditional = try await store.mail.setFlags(
            MessageFlags(system: .flagged), operation: .add, uids: [1, 2], in: inbox.id, unchangedSince: afterAppend)
        #expect(conditional.failed == [1] && conditional.changed.map(\.uid) == [2])
    }

    static func searchTextsInBulk(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let inbox = try await inbox(store, account)
        var first = try await message(store, "first")
        first.summary = MessageSummary(envelope: [1], searchText: "Subject: first\n\nfirst body")
        let second = try await message(store, "second")  // no cached text
        var third = try await message(store, "third")
        third.summary = MessageSummary(envelope: [1], searchText: "Subject: third\n\n")
        _ = try await store.mail.append([first, second, third], to: inbox.id)
        let texts = try await store.mail.searchTexts(in: inbox.id, uids: [1, 2, 3, 99])
        #expect(texts[1] == "Subject: first\n\nfirst body")
        #expect((texts[2] ?? "").isEmpty)
        #expect(texts[3] == "Subject: third\n\n")
        #expect(texts[99] == nil)
    }

    static func expungeLog(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let inbox = try await inbox(store, account)
        _ = try await store.mail.append([try await message(store, "1"), try await message(store, "2"), try await message(store, "3")], to: inbox.id)
        let before = try await store.mail.status(of: inbox.id).highestModSeq
        _ = try await store.mail.setFlags(MessageFlags(system: .deleted), operation: .add, uids: [1, 3], in: inbox.id, unchangedSince: nil)
        #expect(try await store.mail.expunge(in: inbox.id, uids: [3]) == [3], "UID EXPUNGE only touches the given UIDs")
        #expect(try await store.mail.expunge(in: inbox.id, uids: nil) == [1])
        let delta = try await store.mail.changes(in: inbox.id, since: before)
        #expect(delta.expunged == [1, 3])
        #expect(try await store.mail.messages(in: inbox.id).map(\.uid) == [2])
        _ = try await store.mail.append([try await message(store, "4")], to: inbox.id)
        #expect(try await store.mail.messages(in: inbox.id).map(\.uid) == [2, 4], "expunged UIDs are never reused")
    }

    static func flagsAndKeywords(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let inbox = try await inbox(store, account)
        var new = try await message(store, "flags")
        new.flags = MessageFlags(names: ["\\Seen", "$Forwarded", "\\Recent"])
        _ = try await store.mail.append([new], to: inbox.id)
        var record = try #require(try await store.mail.messages(in: inbox.id).first)
        #expect(record.flags.names == ["\\Seen", "$Forwarded"])
        _ = try await store.mail.setFlags(MessageFlags(names: ["\\Flagged", "Work", "$forwarded"]), operation: .add, uids: [1], in: inbox.id, unchangedSince: nil)
        record = try #require(try await store.mail.messages(in: inbox.id).first)
        #expect(record.flags.names == ["\\Seen", "\\Flagged", "$Forwarded", "Work"], "keywords compare case-insensitively")
        _ = try await store.mail.append([try await message(store, "second")], to: inbox.id)
        let records = try await store.mail.messages(in: inbox.id)
        let states = try await store.mail.messageStates(in: inbox.id)
        #expect(states.states == records.map(MessageState.init), "states are the records without blobs")
        #expect(states.highestModSeq == records.map(\.modSeq).max(), "with the modseq of the same snapshot")
        _ = try await store.mail.setFlags(MessageFlags(names: ["\\Draft"]), operation: .replace, uids: [1], in: inbox.id, unchangedSince: nil)
        record = try #require(try await store.mail.messages(in: inbox.id).first)
        #expect(record.flags.names == ["\\Draft"])
        let status = try await store.mail.status(of: inbox.id)
        #expect(status.unseen == 2 && status.messages == 2 && status.size == Int64(new.size) + Int64(records[1].size))
    }

    static func copyAndMove(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let inbox = try await inbox(store, account)
        let archive = try #require(try await store.mail.mailbox(of: account.id, named: "Archive"))
        _ = try await store.mail.append([try await message(store, "one"), try await message(store, "two")], to: inbox.id)
        let copied = try await store.mail.copy(uids: [1, 2, 99], from: inbox.id, to: archive.id)
        #expect(copied.source == [1, 2] && copied.destination == [1, 2] && copied.uidValidity == archive.uidValidity)
        let moved = try await store.mail.move(uids: [2], from: inbox.id, to: archive.id)
        #expect(moved.source == [2] && moved.destination == [3])
        #expect(try await store.mail.messages(in: inbox.id).map(\.uid) == [1])
        let archived = try await store.mail.messages(in: archive.id)
        #expect(archived.map(\.uid) == [1, 2, 3])
        #expect(Set(archived.map(\.blob)).count == 2, "copies share the blob")
        #expect(try await store.mail.isBlobReferenced(archived[0].blob))
    }

    static func renameMailboxes(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let parent = try await store.mail.createMailbox(of: account.id, named: "Projects", specialUse: nil)
        _ = try await store.mail.createMailbox(of: account.id, named: "Projects/2026", specialUse: nil)
        try await store.mail.setSubscribed(of: account.id, name: "Projects/2026", true)
        await #expect(throws: MailStoreError.mailboxExists("Projects")) {
            _ = try await store.mail.createMailbox(of: account.id, named: "Projects", specialUse: nil)
        }
        try await store.mail.renameMailbox(of: account.id, from: "Projects", to: "Work")
        let names = Set(try await store.mail.mailboxes(of: account.id).map(\.name))
        #expect(names.isSuperset(of: ["Work", "Work/2026"]) && !names.contains("Projects"))
        #expect(try await store.mail.mailbox(of: account.id, named: "Work")?.uidValidity == parent.uidValidity)
        #expect(try await store.mail.subscriptions(of: account.id).contains("Work/2026"))
        await #expect(throws: MailStoreError.mailboxExists("Work")) {
            try await store.mail.renameMailbox(of: account.id, from: "Drafts", to: "Work")
        }
        let inbox = try await inbox(store, account)
        _ = try await store.mail.append([try await message(store, "in inbox")], to: inbox.id)
        try await store.mail.renameMailbox(of: account.id, from: "INBOX", to: "Old")
        #expect(try await store.mail.messages(in: inbox.id).isEmpty, "INBOX stays, empty")
        let old = try #require(try await store.mail.mailbox(of: account.id, named: "Old"))
        #expect(try await store.mail.messages(in: old.id).count == 1)
        await #expect(throws: MailStoreError.cannotDeleteInbox) { try await store.mail.deleteMailbox(of: account.id, named: "inbox") }
        try await store.mail.deleteMailbox(of: account.id, named: "Old")
        #expect(try await store.mail.mailbox(of: account.id, named: "Old") == nil)
    }

    static func uidValidityNeverReused(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let first = try await store.mail.createMailbox(of: account.id, named: "Temp", specialUse: nil)
        try await store.mail.deleteMailbox(of: account.id, named: "Temp")
        let second = try await store.mail.createMailbox(of: account.id, named: "Temp", specialUse: nil)
        #expect(first.uidValidity != second.uidValidity)
    }

    static func uncommittedBlobIsInvisible(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let inbox = try await inbox(store, account)
        // The blob is written (as a crash after the fsync and before the commit would leave it) but never committed.
        let orphan = try await store.mail.blobs.put(Array("Subject: half\r\n\r\nhalf\r\n".utf8))
        #expect(try await store.mail.messages(in: inbox.id).isEmpty)
        #expect(try await store.mail.status(of: inbox.id).messages == 0)
        #expect(try await !store.mail.isBlobReferenced(orphan))
        // A message whose blob is missing is refused, never committed.
        let missing = BlobID(hex: String(repeating: "0", count: 64))!
        await #expect(throws: MailStoreError.blobMissing(missing)) {
            _ = try await store.mail.append([NewMessage(blob: missing, size: 1, internalDate: InternalDate(secondsSince1970: 0))], to: inbox.id)
        }
        #expect(try await store.mail.status(of: inbox.id).uidNext == 1)
        let removed = try await store.mail.blobs.collectGarbage(isReferenced: { try await store.mail.isBlobReferenced($0) }, olderThanSeconds: -1)
        #expect(removed == 1)
        #expect(try await !store.mail.blobs.contains(orphan))
    }

    /// [released blobs looked at, blobs removed] of one collection run.
    static func collect(_ store: StoreUnderTest, before cutoff: Int64, limit: Int) async throws -> [Int] {
        let run = try await store.mail.collectReleasedBlobs(releasedBefore: cutoff, limit: limit)
        return [run.examined, run.removed]
    }

    static func releasedBlobsAreCollected(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let inbox = try await inbox(store, account)
        let keep = try await store.mail.createMailbox(of: account.id, named: "Keep", specialUse: nil)
        let doomed = try await store.mail.createMailbox(of: account.id, named: "Doomed", specialUse: nil)
        // A cutoff past every release and put of this test: only references decide.
        let later = Int64(Date().timeIntervalSince1970) + 3600
        let kept = try await message(store, "kept"), gone = try await message(store, "gone")
        _ = try await store.mail.append([kept, gone], to: inbox.id)
        _ = try await store.mail.copy(uids: [1], from: inbox.id, to: keep.id)
        _ = try await store.mail.setFlags(MessageFlags(system: .deleted), operation: .add, uids: [1, 2], in: inbox.id, unchangedSince: nil)
        _ = try await store.mail.expunge(in: inbox.id, uids: nil)
        #expect(try await collect(store, before: later, limit: 100) == [2, 1],
                "both expunged blobs are looked at; the one still in Keep stays")
        #expect(try await store.mail.blobs.contains(kept.blob))
        #expect(try await !store.mail.blobs.contains(gone.blob))
        #expect(try await collect(store, before: later, limit: 100) == [0, 0], "settled releases are forgotten")
        #expect(try await collect(store, before: 0, limit: 100) == [0, 0])

        // A move releases its source; the blob lives on in the destination. A deleted mailbox releases all it held.
        let moved = try await message(store, "moved")
        _ = try await store.mail.append([moved], to: doomed.id)
        _ = try await store.mail.move(uids: [1], from: doomed.id, to: inbox.id)
        #expect(try await collect(store, before: later, limit: 100) == [1, 0])
        _ = try await store.mail.append([try await message(store, "in doomed")], to: doomed.id)
        try await store.mail.deleteMailbox(of: account.id, named: "Doomed")
        #expect(try await collect(store, before: later, limit: 100) == [1, 1])

        // A finished queue entry releases its blob too; `limit` bounds one run.
        for text in ["out 1", "out 2", "out 3"] {
            let blob = try await store.mail.blobs.put(Array("Subject: \(text)\r\n\r\nbody\r\n".utf8))
            try await store.queue.enqueue(QueueEntry(
                id: text, sender: "", blob: blob, size: 25, createdAt: 1_700_000_000, nextAttemptAt: 1_700_000_000,
                recipients: [QueuedRecipient(address: "a@remote.test")]))
            try await store.queue.removeQueueEntry(id: text)
        }
        #expect(try await collect(store, before: later, limit: 2) == [2, 2])
        #expect(try await collect(store, before: later, limit: 2) == [1, 1])

        // The same bytes delivered again are stored afresh and read back whole.
        let again = try await message(store, "gone")
        #expect(again.blob == gone.blob)
        _ = try await store.mail.append([again], to: inbox.id)
        #expect(try await store.mail.blobs.get(gone.blob) == Array("Subject: gone\r\n\r\ngone\r\n".utf8))

        // A blob put at or after the cutoff is never removed: its caller is about to reference it.
        let now = Int64(Date().timeIntervalSince1970)
        let fresh = try await store.mail.blobs.put(Array("Subject: fresh\r\n\r\nfresh\r\n".utf8))
        #expect(try await !store.mail.blobs.remove(fresh, unlessPutSince: now - 60))
        #expect(try await store.mail.blobs.contains(fresh))
    }

    static func changeFeed(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let inbox = try await inbox(store, account)
        let subscription = store.mail.changes.subscribe(mailbox: inbox.id, account: account.id)
        _ = try await store.mail.append([try await message(store, "notify")], to: inbox.id)
        var iterator = subscription.events.makeAsyncIterator()
        let event = await iterator.next()
        guard case .changed(let mailbox, let modSeq)? = event else { Issue.record("expected a change event, got \(String(describing: event))"); return }
        #expect(mailbox == inbox.id)
        let delta = try await store.mail.changes(in: inbox.id, since: modSeq - 1)
        #expect(delta.changed.map(\.uid) == [1], "the change is visible when the event arrives")
        _ = try await store.mail.createMailbox(of: account.id, named: "New", specialUse: nil)
        #expect(await iterator.next() == .mailboxListChanged(account.id))
        subscription.cancel()
    }

    static func recentClaimedOnce(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let inbox = try await inbox(store, account)
        _ = try await store.mail.append([try await message(store, "r1"), try await message(store, "r2")], to: inbox.id)
        #expect(try await store.mail.status(of: inbox.id).recent == 2)
        #expect(try await store.mail.recentUIDs(in: inbox.id) == [1, 2])  // EXAMINE looks without claiming
        #expect(try await store.mail.recentUIDs(in: inbox.id) == [1, 2])
        #expect(try await store.mail.claimRecent(in: inbox.id) == [1, 2])
        #expect(try await store.mail.recentUIDs(in: inbox.id) == [])
        #expect(try await store.mail.claimRecent(in: inbox.id) == [])
    }

    static func directoryRecords(_ store: StoreUnderTest) async throws {
        let domain = DomainName("example.test")!
        try await store.directory.addDomain(domain)
        await #expect(throws: MailStoreError.domainExists("example.test")) { try await store.directory.addDomain(domain) }
        let bob = try await store.directory.addAccount(address: EmailAddress("Bob@Example.test")!, credential: "c1", mailboxes: [("INBOX", nil)])
        #expect(try await store.directory.account(address: EmailAddress("bob@EXAMPLE.TEST")!)?.id == bob.id)
        await #expect(throws: MailStoreError.accountExists("bob@example.test")) {
            _ = try await store.directory.addAccount(address: EmailAddress("bob@example.test")!, credential: "c", mailboxes: [])
        }
        await #expect(throws: MailStoreError.domainNotFound("other.test")) {
            _ = try await store.directory.addAccount(address: EmailAddress("x@other.test")!, credential: "c", mailboxes: [])
        }
        try await store.directory.setCredential(address: bob.address, credential: "c2")
        #expect(try await store.directory.account(id: bob.id)?.credential == "c2")
        try await store.directory.addAlias(AliasRecord(source: "sales@example.test", target: bob.address))
        try await store.directory.addAlias(AliasRecord(source: "@example.test", target: bob.address))
        #expect(try await store.directory.aliasTargets(source: "sales@example.test").map(\.normalized) == ["bob@example.test"])
        await #expect(throws: MailStoreError.self) { try await store.directory.removeDomain(domain) }
        try await store.directory.removeAlias(source: "sales@example.test", target: nil)
        try await store.directory.removeAlias(source: "@example.test", target: bob.address)
        try await store.directory.removeAccount(address: bob.address)
        #expect(try await store.directory.account(id: bob.id) == nil)
        #expect(try await store.mail.mailboxes(of: bob.id).isEmpty, "an account's mailboxes go with it")
        try await store.directory.removeDomain(domain)
        #expect(try await store.directory.domains().isEmpty)
    }

    static func accountStateAndGrants(_ store: StoreUnderTest) async throws {
        let alice = try await makeAccount(store)
        let bob = try await makeAccount(store, "bob@example.test")
        #expect(try await store.directory.revokedAccounts(among: [alice.id, bob.id]).isEmpty)
        try await store.directory.setDisabled(address: alice.address, disabled: true)
        #expect(try await store.directory.account(id: alice.id)?.disabled == true)
        #expect(try await store.directory.revokedAccounts(among: [alice.id, bob.id]) == [alice.id])
        try await store.directory.setDisabled(address: alice.address, disabled: false)
        try await store.directory.removeAccount(address: bob.address)
        #expect(try await store.directory.revokedAccounts(among: [alice.id, bob.id]) == [bob.id], "a removed account is revoked")
        await #expect(throws: MailStoreError.accountNotFound("bob@example.test")) {
            try await store.directory.setDisabled(address: bob.address, disabled: true)
        }
        #expect(try await store.directory.account(id: alice.id)?.trustedRelay == false)
        try await store.directory.setTrustedRelay(address: alice.address, trusted: true)
        #expect(try await store.directory.account(address: alice.address)?.trustedRelay == true)
        #expect(try await store.directory.accounts(in: nil).first?.trustedRelay == true)
        try await store.directory.addSendAsGrant(account: alice.id, grant: "Support@example.test")
        try await store.directory.addSendAsGrant(account: alice.id, grant: "support@example.test")
        try await store.directory.addSendAsGrant(account: alice.id, grant: "@example.test")
        #expect(try await store.directory.sendAsGrants(account: alice.id) == ["@example.test", "support@example.test"])
        #expect(try await store.directory.removeSendAsGrant(account: alice.id, grant: "@example.test"))
        #expect(try await !store.directory.removeSendAsGrant(account: alice.id, grant: "@example.test"))
        let keys = ["ip:192.0.2.1", "user:alice@example.test"]
        #expect(try await store.directory.authenticationFailures(keys: keys, now: 1000, window: 60) == 0)
        #expect(try await store.directory.recordAuthenticationFailure(keys: [keys[0]], now: 1000, window: 60) == 1)
        #expect(try await store.directory.recordAuthenticationFailure(keys: keys, now: 1010, window: 60) == 2)
        #expect(try await store.directory.authenticationFailures(keys: keys, now: 1020, window: 60) == 2)
        #expect(try await store.directory.authenticationFailures(keys: [keys[1]], now: 1020, window: 60) == 1)
        #expect(try await store.directory.authenticationFailures(keys: keys, now: 1070, window: 60) == 0, "old failures do not count")
        #expect(try await store.directory.recordAuthenticationFailure(keys: keys, now: 1100, window: 60) == 1, "and restart the count")
        try await store.directory.clearAuthenticationFailures(keys: keys)
        #expect(try await store.directory.authenticationFailures(keys: keys, now: 1100, window: 60) == 0)
        let secret = try await store.directory.authenticationSecret()
        #expect(secret.count == 32 && Set(secret).count > 8)
        #expect(try await store.directory.authenticationSecret() == secret, "made once")
        try await store.directory.removeAccount(address: alice.address)
        let again = try await makeAccount(store)
        #expect(try await store.directory.sendAsGrants(account: again.id).isEmpty, "grants go with the account")
    }

    static func queueEntries(_ store: StoreUnderTest) async throws {
        let blob = try await store.mail.blobs.put(Array("Subject: out\r\n\r\nbody\r\n".utf8))
        let entry = QueueEntry(
            id: "q1", sender: "alice@example.test", blob: blob, size: 25, parameters: ["ENVID": "abc", "RET": "HDRS"],
            createdAt: 1_700_000_000, nextAttemptAt: 1_700_000_000,
            recipients: [QueuedRecipient(address: "bob@remote.test", notify: "FAILURE,DELAY", originalRecipient: "rfc822;bob@remote.test"),
                         QueuedRecipient(address: "carol@remote.test")])
        try await store.queue.enqueue(entry)
        #expect(try await store.queue.queueEntry(id: "q1") == entry)
        #expect(try await store.queue.queueEntries().map(\.id) == ["q1"])
        #expect(try await store.mail.isBlobReferenced(blob), "a queued message keeps its blob alive")
        try await store.queue.removeQueueEntry(id: "q1")
        #expect(try await store.queue.queueEntries().isEmpty)
        await #expect(throws: MailStoreError.queueEntryNotFound("q1")) { try await store.queue.removeQueueEntry(id: "q1") }
    }

    static func localAndQueuedTogether(_ store: StoreUnderTest) async throws {
        let alice = try await makeAccount(store)
        let inbox = try await inbox(store, alice)
        let local = try await message(store, "Return-Path: <alice@example.test>\r\nSubject: both\r\n\r\nbody\r\n")
        let blob = try await store.mail.blobs.put(Array("Subject: both\r\n\r\nbody\r\n".utf8))
        let entry = QueueEntry(id: "t1", sender: "alice@example.test", blob: blob, size: 21, parameters: [:], createdAt: 1, nextAttemptAt: 1,
                               recipients: [QueuedRecipient(address: "bob@remote.test")])
        let subscription = store.mail.changes.subscribe(mailbox: inbox.id, account: alice.id)
        let uids = try await store.queue.enqueue(entry, deliveringLocally: local, to: [inbox.id])
        #expect(uids[inbox.id] == 1)
        #expect(try await store.queue.queueEntry(id: "t1")?.recipients.map(\.address) == ["bob@remote.test"])
        #expect(try await store.mail.messages(in: inbox.id).count == 1)
        var iterator = subscription.events.makeAsyncIterator()
        guard case .changed(inbox.id, _)? = await iterator.next() else { Issue.record("the local copy is not announced"); return }
        subscription.cancel()
        // The same id again fails inside the transaction (a duplicate key): the local copy must not stay behind.
        await #expect(throws: (any Error).self) { _ = try await store.queue.enqueue(entry, deliveringLocally: local, to: [inbox.id]) }
        #expect(try await store.mail.messages(in: inbox.id).count == 1, "a failed commit leaves no local copy")
        #expect(try await store.queue.queueEntries().count == 1)
    }

    static func queueAttempts(_ store: StoreUnderTest) async throws {
        let blob = try await store.mail.blobs.put(Array("Subject: out\r\n\r\nbody\r\n".utf8))
        for (id, due) in [("late", 1_700_000_500), ("early", 1_700_000_100), ("future", 1_800_000_000)] {
            try await store.queue.enqueue(QueueEntry(
                id: id, sender: "", blob: blob, size: 25, createdAt: 1_700_000_000, nextAttemptAt: Int64(due),
                recipients: [QueuedRecipient(address: "a@remote.test"), QueuedRecipient(address: "b@remote.test")]))
        }
        #expect(try await store.queue.dueQueueEntries(now: 1_700_001_000, limit: 10).map(\.id) == ["early", "late"])
        #expect(try await store.queue.dueQueueEntries(now: 1_700_001_000, limit: 1).map(\.id) == ["early"])
        #expect(try await store.queue.nextQueueAttempt() == 1_700_000_100)
        #expect(Set(try await store.queue.claimQueueEntries(ids: ["early", "late"])) == ["early", "late"], "one node holds what it claims")

        // One recipient delivered, one deferred: the entry stays with a later attempt time and a history line each.
        try await store.queue.recordQueueAttempt(QueueAttempt(
            queueID: "early", recipients: ["a@remote.test": (.delivered, nil), "b@remote.test": (.pending, "451 try later")],
            nextAttemptAt: 1_700_002_000, lastError: "451 try later",
            events: [QueueEvent(queueID: "early", at: 1_700_001_000, recipient: "a@remote.test", outcome: .delivered, detail: "250 ok"),
                     QueueEvent(queueID: "early", at: 1_700_001_000, recipient: "b@remote.test", outcome: .deferred, detail: "451 try later")],
            delayWarned: true))
        let early = try #require(try await store.queue.queueEntry(id: "early"))
        #expect(early.attempts == 1 && early.nextAttemptAt == 1_700_002_000 && early.lastError == "451 try later" && early.delayWarned)
        #expect(early.recipients.map(\.status) == [.delivered, .pending])
        #expect(early.recipients.last?.lastError == "451 try later")
        #expect(try await store.queue.dueQueueEntries(now: 1_700_001_000, limit: 10).map(\.id) == ["late"])
        try await store.queue.releaseQueueEntries(ids: ["early", "late"])

        // The last pending recipient settled: the entry is gone.
        try await store.queue.recordQueueAttempt(QueueAttempt(
            queueID: "early", recipients: ["b@remote.test": (.failed, "550 no such user")], nextAttemptAt: 1_700_003_000, lastError: nil,
            events: [QueueEvent(queueID: "early", at: 1_700_002_000, recipient: "b@remote.test", outcome: .failed, detail: "550 no such user")]))
        #expect(try await store.queue.queueEntry(id: "early") == nil)
        await #expect(throws: MailStoreError.queueEntryNotFound("early")) {
            try await store.queue.recordQueueAttempt(QueueAttempt(queueID: "early", recipients: [:], nextAttemptAt: 0, lastError: nil, events: []))
        }
        #expect(try await store.queue.queueHistory(limit: 2).map(\.outcome) == [.deferred, .failed], "the newest lines, oldest first")
        #expect(try await store.queue.queueHistory(limit: 10).count == 3)

        #expect(try await store.queue.flushQueue(id: "future", now: 1_700_001_000) == 1)
        #expect(try await store.queue.dueQueueEntries(now: 1_700_001_000, limit: 10).map(\.id) == ["late", "future"])
        #expect(try await store.queue.flushQueue(id: nil, now: 1_700_001_000) == 2)
        await #expect(throws: MailStoreError.queueEntryNotFound("nope")) { _ = try await store.queue.flushQueue(id: "nope", now: 0) }
    }

    static func usageAndQuotas(_ store: StoreUnderTest) async throws {
        let account = try await makeAccount(store)
        let inbox = try await inbox(store, account)
        let archive = try #require(try await store.mail.mailbox(of: account.id, named: "Archive"))
        #expect(try await store.mail.usage(of: account.id) == 0)
        let first = try await message(store, "one"), second = try await message(store, "second")
        _ = try await store.mail.append([first, second], to: inbox.id)
        _ = try await store.mail.copy(uids: [1], from: inbox.id, to: archive.id)
        #expect(try await store.mail.usage(of: account.id) == Int64(first.size * 2 + second.size))
        #expect(try await store.mail.status(of: inbox.id).size == Int64(first.size + second.size))

        #expect(try await store.directory.account(address: account.address)?.quota == nil)
        try await store.directory.setQuota(address: account.address, quota: 1_000_000)
        #expect(try await store.directory.account(address: account.address)?.quota == 1_000_000)
        try await store.directory.setQuota(address: account.address, quota: nil)
        #expect(try await store.directory.account(address: account.address)?.quota == nil)
        await #expect(throws: MailStoreError.accountNotFound("nobody@example.test")) {
            try await store.directory.setQuota(address: EmailAddress("nobody@example.test")!, quota: 1)
        }
    }

    static func bigBlobs(_ store: StoreUnderTest) async throws {
        // Over a PostgreSQL chunk (1 MiB) and not a multiple of it; every byte value present.
        let bytes = (0..<(2_500_000)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        let id = try await store.mail.blobs.put(bytes)
        #expect(try await store.mail.blobs.put(bytes) == id, "putting the same bytes again gives the same id")
        #expect(try await store.mail.blobs.contains(id))
        #expect(try await store.mail.blobs.get(id) == bytes)
        let empty = try await store.mail.blobs.put([])
        #expect(try await store.mail.blobs.get(empty) == [])
        let missing = BlobID(hex: String(repeating: "0", count: 64))!
        await #expect(throws: MailStoreError.blobMissing(missing)) { _ = try await store.mail.blobs.get(missing) }
    }
}
