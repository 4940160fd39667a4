import Foundation
@testable import LetterboxServer
import Logging
import MailCore
import MailStore
import Testing

/// `serve`'s collection service on a real data directory (SQLite and blob files): an expunged message's bytes go on
/// their own, while a message still in its mailbox keeps its own.
@Suite struct BlobCollectionServiceTests {
    @Test func theServiceReclaimsExpungedMessagesOnItsOwn() async throws {
        var configuration = LetterboxConfiguration()
        configuration.dataDirectory = NSTemporaryDirectory() + "gc-service-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
        let system = try MailSystem(configuration: configuration, mode: .createIfMissing)
        let store = system.mailStore
        try await system.directoryStore.addDomain(DomainName("example.test")!)
        let account = try await system.directoryStore.addAccount(
            address: EmailAddress("alice@example.test")!, credential: "x", mailboxes: defaultMailboxes)
        let inbox = try #require(try await store.mailbox(of: account.id, named: "INBOX"))
        var blobs: [BlobID] = []
        for text in ["goes", "stays"] {
            let bytes = Array("Subject: \(text)\r\n\r\n\(text)\r\n".utf8)
            let blob = try await store.blobs.put(bytes)
            _ = try await store.append([NewMessage(blob: blob, size: bytes.count, internalDate: InternalDate(secondsSince1970: 0))], to: inbox.id)
            blobs.append(blob)
        }
        _ = try await store.setFlags(MessageFlags(system: .deleted), operation: .add, uids: [1], in: inbox.id, unchangedSince: nil)
        _ = try await store.expunge(in: inbox.id, uids: nil)

        // A negative grace puts the cutoff an hour ahead, so the test need not wait out the real one.
        let service = BlobCollection(store: store, grace: -3600).service(every: .milliseconds(20), logger: Logger(label: "test"))
        let running = Task { try await service.run() }
        defer { running.cancel() }
        let deadline = ContinuousClock.now + .seconds(30)
        while try await store.blobs.contains(blobs[0]), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await !store.blobs.contains(blobs[0]), "the expunged message's bytes were reclaimed")
        #expect(try await store.blobs.contains(blobs[1]), "the message still in INBOX keeps its bytes")
        #expect(try await store.messages(in: inbox.id).map(\.uid) == [2])
    }
}
