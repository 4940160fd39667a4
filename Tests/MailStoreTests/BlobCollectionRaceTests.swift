import Foundation
import MailStore
import MailStorePostgres
import MailTestSupport
import Testing
@testable import MailStoreSQLite

/// The one race garbage collection has: a `put` of bytes already stored returns the existing blob, which its caller is
/// about to reference, while the collector has just found that blob unreferenced. The blob is aged first (as a message
/// expunged long ago would be), then a `put` of the same bytes and a `remove` run at once, many times: a `put` that
/// returned must always leave its bytes readable, whichever of the two went first.
@Suite struct BlobCollectionRaceTests {
    static let bytes = Array("Subject: same\r\n\r\nthe same bytes, delivered again\r\n".utf8)
    static let rounds = 200

    @Test func filesDeduplicatedDuringCollectionSurvive() async throws {
        let directory = TemporaryDirectory()
        let blobs = try FileBlobStore(directory: directory.path + "/blobs")
        let id = try await blobs.put(Self.bytes)
        let cutoff = Int64(Date().timeIntervalSince1970) - 60
        for _ in 0..<Self.rounds {
            try Self.age(blobs.path(of: id))
            async let removal = blobs.remove(id, unlessPutSince: cutoff)
            async let stored = blobs.put(Self.bytes)
            _ = try await (removal, stored)
            #expect(try await blobs.get(id) == Self.bytes, "a put that returned leaves its bytes")
        }
        // Without a concurrent put the aged blob goes; a put since the cutoff keeps it.
        try Self.age(blobs.path(of: id))
        _ = try await blobs.put(Self.bytes)
        #expect(try await !blobs.remove(id, unlessPutSince: cutoff), "a deduplicating put touches the blob")
        try Self.age(blobs.path(of: id))
        #expect(try await blobs.remove(id, unlessPutSince: cutoff))
        #expect(try await !blobs.contains(id))
        #expect(try await blobs.remove(id, unlessPutSince: cutoff), "removing what is gone is done")
        withExtendedLifetime(directory) {}
    }

    @Test(.enabled(if: TestPostgres.available, "needs LETTERBOX_TEST_POSTGRES_URL (scripts/test starts a server)"))
    func rowsDeduplicatedDuringCollectionSurvive() async throws {
        try await TestPostgres.withDatabase { location in
            let (database, mail) = try TestPostgres.store(location)
            defer { database.shutdown() }
            let id = try await mail.blobs.put(Self.bytes)
            let cutoff = Int64(Date().timeIntervalSince1970) - 60
            for _ in 0..<Self.rounds / 4 {
                try await database.execute("UPDATE blob SET created_at = 0")
                async let removal = mail.blobs.remove(id, unlessPutSince: cutoff)
                async let stored = mail.blobs.put(Self.bytes)
                _ = try await (removal, stored)
                #expect(try await mail.blobs.get(id) == Self.bytes, "a put that returned leaves its bytes")
            }
            try await database.execute("UPDATE blob SET created_at = 0")
            _ = try await mail.blobs.put(Self.bytes)
            #expect(try await !mail.blobs.remove(id, unlessPutSince: cutoff), "a deduplicating put refreshes the blob")
            try await database.execute("UPDATE blob SET created_at = 0")
            #expect(try await mail.blobs.remove(id, unlessPutSince: cutoff))
            #expect(try await !mail.blobs.contains(id))
        }
    }

    /// Sets a file's modification time two hours back.
    static func age(_ path: String) throws {
        let then = timespec(tv_sec: time(nil) - 7200, tv_nsec: 0)
        var times = [then, then]
        guard utimensat(AT_FDCWD, path, &times, 0) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    }
}
