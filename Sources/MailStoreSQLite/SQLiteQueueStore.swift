import Foundation
import GRDB
import MailStore

/// The outbound queue in the same SQLite database, so accepting a message for local and remote recipients is one commit.
extension SQLiteMailStore: QueueStore {
    public func enqueue(_ entry: QueueEntry) async throws {
        guard try await blobs.contains(entry.blob) else { throw MailStoreError.blobMissing(entry.blob) }
        let parameters = try Self.encodedParameters(entry)
        try await write { db in try Self.insertQueueEntry(db, entry, parameters: parameters) }
    }

    public func enqueue(_ entry: QueueEntry, deliveringLocally local: NewMessage, to mailboxes: [MailboxID]) async throws -> [MailboxID: UID] {
        guard try await blobs.contains(entry.blob) else { throw MailStoreError.blobMissing(entry.blob) }
        guard try await blobs.contains(local.blob) else { throw MailStoreError.blobMissing(local.blob) }
        let parameters = try Self.encodedParameters(entry)
        let result = try await groupWrite { db in
            var result: [MailboxID: (uid: UID, modSeq: ModSeq)] = [:]
            for mailbox in Set(mailboxes) {
                let inserted = try Self.insertMessages(db, [local], into: mailbox)
                result[mailbox] = (inserted.uids[0], inserted.modSeq)
            }
            try Self.insertQueueEntry(db, entry, parameters: parameters)
            return result
        }
        for (mailbox, inserted) in result { changes.publish(.changed(mailbox, highestModSeq: inserted.modSeq)) }
        return result.mapValues { $0.uid }
    }

    static func encodedParameters(_ entry: QueueEntry) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: entry.parameters, options: [.sortedKeys]), as: UTF8.self)
    }

    static func insertQueueEntry(_ db: Database, _ entry: QueueEntry, parameters: String) throws {
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

    public func dueQueueEntries(now: Int64, limit: Int) async throws -> [QueueEntry] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM queue_message WHERE next_attempt_at <= ?
                AND EXISTS (SELECT 1 FROM queue_recipient r WHERE r.queue_id = queue_message.id AND r.status = 'pending')
                ORDER BY next_attempt_at, created_at, id LIMIT ?
                """, arguments: [now, limit]).map { try Self.queueEntry(db, row: $0) }
        }
    }

    public func nextQueueAttempt() async throws -> Int64? {
        try await read { db in try Int64.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM queue_message") }
    }

    public func recordQueueAttempt(_ attempt: QueueAttempt) async throws {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM queue_message WHERE id = ?", arguments: [attempt.queueID]) != nil else {
                throw MailStoreError.queueEntryNotFound(attempt.queueID)
            }
            for (address, (status, error)) in attempt.recipients {
                try db.execute(sql: "UPDATE queue_recipient SET status = ?, last_error = ? WHERE queue_id = ? AND address = ?",
                               arguments: [status.rawValue, error, attempt.queueID, address])
            }
            for event in attempt.events {
                try db.execute(sql: "INSERT INTO queue_event (queue_id, at, recipient, outcome, detail) VALUES (?, ?, ?, ?, ?)",
                               arguments: [event.queueID, event.at, event.recipient, event.outcome.rawValue, event.detail])
            }
            let pending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM queue_recipient WHERE queue_id = ? AND status = 'pending'",
                                           arguments: [attempt.queueID]) ?? 0
            if pending == 0 {
                try db.execute(sql: "DELETE FROM queue_message WHERE id = ?", arguments: [attempt.queueID])
            } else {
                try db.execute(sql: """
                    UPDATE queue_message SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?,
                    delay_warned = MAX(delay_warned, ?) WHERE id = ?
                    """, arguments: [attempt.nextAttemptAt, attempt.lastError, attempt.delayWarned ? 1 : 0, attempt.queueID])
            }
            // The history is for administrators, not an archive: keep the last 30 days.
            try db.execute(sql: "DELETE FROM queue_event WHERE at < ?", arguments: [(attempt.events.first?.at ?? 0) - 30 * 86_400])
        }
    }

    public func flushQueue(id: String?, now: Int64) async throws -> Int {
        try await write { db in
            if let id {
                try db.execute(sql: "UPDATE queue_message SET next_attempt_at = ? WHERE id = ?", arguments: [now, id])
                if db.changesCount == 0 { throw MailStoreError.queueEntryNotFound(id) }
            } else {
                try db.execute(sql: "UPDATE queue_message SET next_attempt_at = ?", arguments: [now])
            }
            return db.changesCount
        }
    }

    public func queueHistory(limit: Int) async throws -> [QueueEvent] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM queue_event ORDER BY rowid DESC LIMIT ?", arguments: [limit]).reversed().map { row in
                QueueEvent(queueID: row["queue_id"], at: row["at"], recipient: row["recipient"],
                           outcome: QueueEvent.Outcome(rawValue: row["outcome"]) ?? .deferred, detail: row["detail"])
            }
        }
    }

    // MARK: Claims: one node owns the whole queue (its runner's busy set keeps one delivery per message).

    public func claimQueueEntries(ids: [String]) async throws -> [String] { ids }
    public func releaseQueueEntries(ids: [String]) async throws {}
    public func queueHeartbeat() async throws {}

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
                          lastError: row["last_error"], recipients: recipients, delayWarned: row["delay_warned"])
    }
}
