import Crypto
import Foundation
import MailStore
import NIOCore
import PostgresNIO

/// Message bytes in PostgreSQL: one `blob` row per SHA-256, the bytes in `blob_chunk` rows of at most 1 MiB. `put`
/// returns after its transaction committed (PostgreSQL's WAL is flushed at commit with the default
/// `synchronous_commit = on`), so the bytes are durable before any metadata refers to them.
///
/// Another blob store (S3-compatible storage, say) can take its place: the mail store only uses the `BlobStore` protocol.
public final class PostgresBlobStore: BlobStore {
    let database: PostgresDatabase
    static let chunkSize = 1 << 20

    public init(database: PostgresDatabase) {
        self.database = database
    }

    public func put(_ bytes: [UInt8]) async throws -> BlobID {
        let id = Self.identify(bytes)
        let now = Int64(Date().timeIntervalSince1970)
        let first = ByteBuffer(bytes: bytes.prefix(Self.chunkSize))
        // One statement: stored already → touched, claiming it for the caller against a concurrent collector, which
        // deletes only a blob whose created_at is before its cutoff (see `remove`); new → the row and its first chunk.
        // All parts see one snapshot. When another put inserts the same bytes at the same moment, ON CONFLICT waits for
        // it and adds nothing; that row is as fresh as a touch.
        let store: PostgresQuery = """
            WITH touched AS (
                UPDATE blob SET created_at = \(now) WHERE id = \(id.hex) RETURNING 1
            ), added AS (
                INSERT INTO blob (id, size, created_at) SELECT \(id.hex), \(Int64(bytes.count)), \(now)
                WHERE NOT EXISTS (SELECT 1 FROM touched)
                ON CONFLICT (id) DO NOTHING RETURNING id
            )
            INSERT INTO blob_chunk (blob_id, seq, data) SELECT id, 0, \(first) FROM added RETURNING 1
            """
        if bytes.count <= Self.chunkSize {
            _ = try await database.rows(store)  // alone, one statement is atomic: no transaction needed
            return id
        }
        let logger = database.logger
        try await database.transaction { connection in
            // A big message: the row, its first chunk and every other chunk in one transaction.
            guard try await !connection.rows(store, logger: logger).isEmpty else { return }
            var sequence: Int32 = 1
            var offset = Self.chunkSize
            repeat {
                let end = min(offset + Self.chunkSize, bytes.count)
                let chunk = ByteBuffer(bytes: bytes[offset..<end])
                try await connection.run("INSERT INTO blob_chunk (blob_id, seq, data) VALUES (\(id.hex), \(sequence), \(chunk))", logger: logger)
                sequence += 1
                offset = end
            } while offset < bytes.count
        }
        return id
    }

    public func get(_ id: BlobID) async throws -> [UInt8] {
        let rows = try await database.rows("SELECT data FROM blob_chunk WHERE blob_id = \(id.hex) ORDER BY seq")
        guard !rows.isEmpty else { throw MailStoreError.blobMissing(id) }
        var bytes: [UInt8] = []
        for row in rows {
            var chunk = try row.decode(ByteBuffer.self)
            bytes += chunk.readBytes(length: chunk.readableBytes) ?? []
        }
        return bytes
    }

    public func contains(_ id: BlobID) async throws -> Bool {
        try await !database.rows("SELECT 1 FROM blob WHERE id = \(id.hex)").isEmpty
    }

    public func remove(_ id: BlobID, unlessPutSince cutoff: Int64) async throws -> Bool {
        let logger = database.logger
        return try await database.transaction { connection in
            // One statement: still unreferenced and untouched at this instant. A put that refreshed created_at first
            // makes the row fail the condition when it is re-checked after the lock; a put after it inserts anew.
            let deleted = try await connection.rows("""
                DELETE FROM blob WHERE id = \(id.hex) AND created_at < \(cutoff)
                AND NOT EXISTS (SELECT 1 FROM message WHERE blob = \(id.hex))
                AND NOT EXISTS (SELECT 1 FROM queue_message WHERE blob = \(id.hex)) RETURNING id
                """, logger: logger)
            if !deleted.isEmpty { return true }
            return try await connection.rows("SELECT 1 FROM blob WHERE id = \(id.hex)", logger: logger).isEmpty
        }
    }

    public func collectGarbage(isReferenced: @Sendable (BlobID) async throws -> Bool, olderThanSeconds: Int) async throws -> Int {
        let cutoff = Int64(Date().timeIntervalSince1970) - Int64(olderThanSeconds)
        var removed = 0
        for row in try await database.rows("SELECT id FROM blob WHERE created_at < \(cutoff)") {
            guard let id = BlobID(hex: try row.decode(String.self)), try await !isReferenced(id) else { continue }
            if try await remove(id, unlessPutSince: cutoff) { removed += 1 }
        }
        return removed
    }

    static func identify(_ bytes: [UInt8]) -> BlobID {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: bytes) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 15)])
        }
        return BlobID(hex: String(decoding: hex, as: UTF8.self))!
    }
}
