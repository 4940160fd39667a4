import Foundation
import GRDB
import MailStore

/// The outbound queue in the same SQLite database, so accepting a message for local and remote recipients is one commit.
extension SQLiteMailStore: QueueStore {
    public func enqueue(_ entry: QueueEntry) async throws {
        guard try await blobs.contains(entry.blob) else { throw MailStoreError.blobMissing(entry.blob) }
        let parameters = String(decoding: try JSONSerialization.data(withJSONObject: entry.parameters, options: [.sortedKeys]), as: UTF8.self)
        try await write { db in
            try db.execute(sql: """
                INSERT INTO queue_message (id, sender, blob, size, envelope_json, created_at, attempts, next_attempt_at, last_error)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [entry.id, entry.sender, entry.blob.hex, entry.size, parameters, entry.createdAt, entry.attempts,
                                 entry.nextAttemptAt, entry.lastError])
            for recipient in entry.recipients {
                try db.execute(sql: """
                    INSERT INTO queue_recipient (queue_id, address, notify, orcpt, status, last_error) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [entry.id, recipient.address, recipient.notify, recipient.originalRecipient,
                                     recipient.status.rawValue, recipient.lastError])
            }
        }
    }

    public func queueEntries() async throws -> [QueueEntry] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM queue_message ORDER BY created_at, id").map { try Self.queueEntry(db, row: $0) }
        }
    }

    public func queueEntry(id: String) async throws -> QueueEntry? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM queue_message WHERE id = ?", arguments: [id]).map { try Self.queueEntry(db, row: $0) }
        }
    }

    public func removeQueueEntry(id: String) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM queue_message WHERE id = ?", arguments: [id])
            if db.changesCount == 0 { throw MailStoreError.queueEntryNotFound(id) }
        }
    }

    static func queueEntry(_ db: Database, row: Row) throws -> QueueEntry {
        let id: String = row["id"]
        let recipients = try Row.fetchAll(db, sql: "SELECT * FROM queue_recipient WHERE queue_id = ? ORDER BY address", arguments: [id]).map { row in
            QueuedRecipient(address: row["address"], notify: row["notify"], originalRecipient: row["orcpt"],
                            status: QueuedRecipient.Status(rawValue: row["status"]) ?? .pending, lastError: row["last_error"])
        }
        let json: String = row["envelope_json"]
        let parameters = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: String] ?? [:]
        return QueueEntry(id: id, sender: row["sender"], blob: BlobID(hex: row["blob"])!, size: row["size"], parameters: parameters,
                          createdAt: row["created_at"], attempts: row["attempts"], nextAttemptAt: row["next_attempt_at"],
                          lastError: row["last_error"], recipients: recipients)
    }
}
