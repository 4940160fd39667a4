import Foundation
import Logging
import MailStore
import PostgresNIO

/// The outbound queue, shared by every node. An entry is delivered by the node that claimed it; a claim lapses when its
/// node's heartbeat is older than `claimTimeout`, so a crashed node's messages are taken over by the others.
extension PostgresMailStore: QueueStore {
    public func enqueue(_ entry: QueueEntry) async throws {
        guard try await blobs.contains(entry.blob) else { throw MailStoreError.blobMissing(entry.blob) }
        let parameters = try Self.encodedParameters(entry)
        let logger = logger
        try await database.transaction { connection in try await Self.insertQueueEntry(connection, entry, parameters: parameters, logger: logger) }
    }

    public func enqueue(_ entry: QueueEntry, deliveringLocally local: NewMessage, to mailboxes: [MailboxID]) async throws -> [MailboxID: UID] {
        guard try await blobs.contains(entry.blob) else { throw MailStoreError.blobMissing(entry.blob) }
        guard try await blobs.contains(local.blob) else { throw MailStoreError.blobMissing(local.blob) }
        let parameters = try Self.encodedParameters(entry)
        let logger = logger, node = nodeID
        // Mailbox rows are locked in id order, as in `deliver`, so overlapping deliveries cannot deadlock.
        let targets = Set(mailboxes).sorted { $0.rawValue < $1.rawValue }
        let result: [(MailboxID, UID, ModSeq)] = try await database.transaction { connection in
            var result: [(MailboxID, UID, ModSeq)] = []
            for mailbox in targets {
                let rows = try await connection.rows(Self.insertOne(local, into: mailbox, node: node), logger: logger)
                let (_, uid, modSeq) = try await Self.insertedOne(rows, mailbox: mailbox) {
                    try await !connection.rows("SELECT 1 FROM mailbox WHERE id = \(mailbox.rawValue)", logger: logger).isEmpty
                }
                result.append((mailbox, uid, modSeq))
            }
            try await Self.insertQueueEntry(connection, entry, parameters: parameters, logger: logger)
            return result
        }
        for (mailbox, _, modSeq) in result { changes.publish(.changed(mailbox, highestModSeq: modSeq)) }
        return Dictionary(uniqueKeysWithValues: result.map { ($0.0, $0.1) })
    }

    static func encodedParameters(_ entry: QueueEntry) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: entry.parameters, options: [.sortedKeys]), as: UTF8.self)
    }

    static func insertQueueEntry(_ connection: PostgresConnection, _ entry: QueueEntry, parameters: String, logger: Logger) async throws {
        let recipients = entry.recipients
        try await connection.run("""
            INSERT INTO queue_message (id, sender, blob, size, envelope_json, created_at, attempts, next_attempt_at, last_error, delay_warned)
            VALUES (\(entry.id), \(entry.sender), \(entry.blob.hex), \(entry.size), \(parameters), \(Int(entry.createdAt)), \(entry.attempts),
                    \(Int(entry.nextAttemptAt)), \(entry.lastError), \(entry.delayWarned))
            """, logger: logger)
        try await connection.run("""
            INSERT INTO queue_recipient (queue_id, address, notify, orcpt, status, last_error)
            SELECT \(entry.id), r.address, r.notify, r.orcpt, r.status, r.last_error
            FROM unnest(\(recipients.map(\.address))::text[], \(recipients.map { $0.notify ?? "" })::text[],
                        \(recipients.map { $0.originalRecipient ?? "" })::text[], \(recipients.map(\.status.rawValue))::text[],
                        \(recipients.map { $0.lastError ?? "" })::text[])
                 AS u(address, notify, orcpt, status, last_error),
                 LATERAL (SELECT u.address, nullif(u.notify, ''), nullif(u.orcpt, ''), u.status, nullif(u.last_error, ''))
                 AS r(address, notify, orcpt, status, last_error)
            """, logger: logger)
    }

    public func queueEntries() async throws -> [QueueEntry] {
        try await entries("\(unescaped: Self.entrySelect) ORDER BY created_at, id")
    }

    public func queueEntry(id: String) async throws -> QueueEntry? {
        try await entries("\(unescaped: Self.entrySelect) WHERE id = \(id)").first
    }

    public func removeQueueEntry(id: String) async throws {
        let logger = logger
        try await database.transaction { connection in
            if try await connection.rows("DELETE FROM queue_message WHERE id = \(id) RETURNING id", logger: logger).isEmpty {
                throw MailStoreError.queueEntryNotFound(id)
            }
        }
    }

    public func dueQueueEntries(now: Int64, limit: Int) async throws -> [QueueEntry] {
        try await entries("""
            \(unescaped: Self.entrySelect) WHERE next_attempt_at <= \(Int(now)) AND \(unescaped: claimableCondition(now: now))
            AND EXISTS (SELECT 1 FROM queue_recipient r WHERE r.queue_id = q.id AND r.status = 'pending')
            ORDER BY next_attempt_at, created_at, id LIMIT \(limit)
            """)
    }

    public func nextQueueAttempt() async throws -> Int64? {
        let rows = try await database.rows("SELECT min(next_attempt_at) FROM queue_message")
        return try rows.first?.decode(Int?.self).map(Int64.init)
    }

    public func recordQueueAttempt(_ attempt: QueueAttempt) async throws {
        let logger = logger
        let statuses = attempt.recipients.map { ($0.key, $0.value.0.rawValue, $0.value.1 ?? "") }
        let events = attempt.events
        try await database.transaction { connection in
            guard try await !connection.rows("SELECT 1 FROM queue_message WHERE id = \(attempt.queueID) FOR UPDATE", logger: logger).isEmpty else {
                throw MailStoreError.queueEntryNotFound(attempt.queueID)
            }
            if !statuses.isEmpty {
                try await connection.run("""
                    UPDATE queue_recipient SET status = u.status, last_error = nullif(u.error, '')
                    FROM unnest(\(statuses.map(\.0))::text[], \(statuses.map(\.1))::text[], \(statuses.map(\.2))::text[]) AS u(address, status, error)
                    WHERE queue_recipient.queue_id = \(attempt.queueID) AND queue_recipient.address = u.address
                    """, logger: logger)
            }
            if !events.isEmpty {
                try await connection.run("""
                    INSERT INTO queue_event (queue_id, at, recipient, outcome, detail)
                    SELECT * FROM unnest(\(events.map(\.queueID))::text[], \(events.map { Int($0.at) })::bigint[],
                                         \(events.map(\.recipient))::text[], \(events.map(\.outcome.rawValue))::text[], \(events.map(\.detail))::text[])
                    """, logger: logger)
            }
            let pending = try await connection.rows(
                "SELECT count(*) FROM queue_recipient WHERE queue_id = \(attempt.queueID) AND status = 'pending'", logger: logger
            ).first?.decode(Int.self) ?? 0
            if pending == 0 {
                try await connection.run("DELETE FROM queue_message WHERE id = \(attempt.queueID)", logger: logger)
            } else {
                try await connection.run("""
                    UPDATE queue_message SET attempts = attempts + 1, next_attempt_at = \(Int(attempt.nextAttemptAt)),
                        last_error = \(attempt.lastError), delay_warned = delay_warned OR \(attempt.delayWarned)
                    WHERE id = \(attempt.queueID)
                    """, logger: logger)
            }
            // The history is for administrators, not an archive: keep the last 30 days.
            try await connection.run("DELETE FROM queue_event WHERE at < \(Int(events.first?.at ?? 0) - 30 * 86_400)", logger: logger)
        }
    }

    public func flushQueue(id: String?, now: Int64) async throws -> Int {
        let logger = logger
        return try await database.transaction { connection in
            if let id {
                let rows = try await connection.rows("UPDATE queue_message SET next_attempt_at = \(Int(now)) WHERE id = \(id) RETURNING id", logger: logger)
                if rows.isEmpty { throw MailStoreError.queueEntryNotFound(id) }
                return rows.count
            }
            return try await connection.rows("UPDATE queue_message SET next_attempt_at = \(Int(now)) RETURNING id", logger: logger).count
        }
    }

    public func queueHistory(limit: Int) async throws -> [QueueEvent] {
        try await database.rows("""
            SELECT queue_id, at, recipient, outcome, detail FROM (SELECT * FROM queue_event ORDER BY id DESC LIMIT \(limit)) AS recent ORDER BY id
            """).map { row in
            let (queueID, at, recipient, outcome, detail) = try row.decode((String, Int, String, String, String).self)
            return QueueEvent(queueID: queueID, at: Int64(at), recipient: recipient, outcome: QueueEvent.Outcome(rawValue: outcome) ?? .deferred,
                              detail: detail)
        }
    }

    // MARK: Claims

    public func claimQueueEntries(ids: [String]) async throws -> [String] {
        guard !ids.isEmpty else { return [] }
        let logger = logger, node = nodeID, now = Int64(Date().timeIntervalSince1970)
        let condition = claimableCondition(now: now)
        return try await database.transaction { connection in
            try await connection.rows("""
                UPDATE queue_message SET claimed_by = \(node), claimed_at = \(Int(now))
                WHERE id IN (SELECT id FROM queue_message q WHERE id = ANY(\(ids)) AND \(unescaped: condition) FOR UPDATE SKIP LOCKED)
                RETURNING id
                """, logger: logger).map { try $0.decode(String.self) }
        }
    }

    public func releaseQueueEntries(ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        let logger = logger, node = nodeID
        try await database.transaction { connection in
            try await connection.run(
                "UPDATE queue_message SET claimed_by = NULL, claimed_at = NULL WHERE id = ANY(\(ids)) AND claimed_by = \(node)", logger: logger)
        }
    }

    public func queueHeartbeat() async throws {
        let logger = logger, node = nodeID, now = Int(Date().timeIntervalSince1970)
        let name = ProcessInfo.processInfo.hostName + " pid " + String(ProcessInfo.processInfo.processIdentifier)
        try await database.transaction { connection in
            try await connection.run("""
                INSERT INTO node (id, name, started_at, last_seen) VALUES (\(node), \(name), \(now), \(now))
                ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen
                """, logger: logger)
            try await connection.run("DELETE FROM node WHERE last_seen < \(now - 86_400)", logger: logger)
        }
    }

    /// Names of the nodes whose heartbeat is at most `seconds` old ("host pid N"), for `doctor`.
    public func liveNodes(within seconds: Int64) async throws -> [String] {
        let now = Int(Date().timeIntervalSince1970)
        return try await database.rows("SELECT name FROM node WHERE last_seen >= \(now - Int(seconds)) ORDER BY name").map { try $0.decode(String.self) }
    }

    /// Unclaimed, claimed by this node, or claimed by a node whose heartbeat stopped more than `claimTimeout` ago.
    /// (SQL text with literals only: the node id is a hex/dash string made by this process.)
    func claimableCondition(now: Int64) -> String {
        """
        (q.claimed_by IS NULL OR q.claimed_by = '\(nodeID)'
         OR NOT EXISTS (SELECT 1 FROM node n WHERE n.id = q.claimed_by AND n.last_seen >= \(now - claimTimeout)))
        """
    }

    /// Entries with their recipients in one statement (the recipients as a JSON array of arrays).
    static let entrySelect = """
        SELECT q.id, q.sender, q.blob, q.size, q.envelope_json, q.created_at, q.attempts, q.next_attempt_at, q.last_error, q.delay_warned,
               coalesce((SELECT json_agg(json_build_array(r.address, r.notify, r.orcpt, r.status, r.last_error) ORDER BY r.address)::text
                         FROM queue_recipient r WHERE r.queue_id = q.id), '[]')
        FROM queue_message q
        """

    private func entries(_ query: PostgresQuery) async throws -> [QueueEntry] {
        try await database.rows(query).map { row in
            let (id, sender, blob, size, json, createdAt, attempts, nextAttempt, lastError, delayWarned, recipientsJSON) =
                try row.decode((String, String, String, Int, String, Int, Int, Int, String?, Bool, String).self)
            let parameters = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: String] ?? [:]
            let list = (try? JSONSerialization.jsonObject(with: Data(recipientsJSON.utf8))) as? [[Any]] ?? []
            let recipients = list.map { item in
                QueuedRecipient(address: item[0] as? String ?? "", notify: item[1] as? String, originalRecipient: item[2] as? String,
                                status: QueuedRecipient.Status(rawValue: item[3] as? String ?? "") ?? .pending, lastError: item[4] as? String)
            }
            guard let blobID = BlobID(hex: blob) else { throw MailStoreError.storage("queue entry \(id) has a malformed blob id") }
            return QueueEntry(id: id, sender: sender, blob: blobID, size: size, parameters: parameters, createdAt: Int64(createdAt),
                              attempts: attempts, nextAttemptAt: Int64(nextAttempt), lastError: lastError, recipients: recipients,
                              delayWarned: delayWarned)
        }
    }
}
