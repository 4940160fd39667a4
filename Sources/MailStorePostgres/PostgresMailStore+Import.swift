import MailCore
import MailStore
import NIOCore
import PostgresNIO

/// A message as it is copied from another store: its record (UID, modseq, flags, date, size, blob) and cached views.
public struct ImportedMessage: Sendable {
    public var record: MessageRecord
    public var summary: MessageSummary

    public init(record: MessageRecord, summary: MessageSummary) {
        self.record = record
        self.summary = summary
    }
}

/// Bulk copy into an empty database (`letterbox migrate-store`): unlike the `MailStore` operations, these keep
/// UIDVALIDITY, UIDs, modseqs and the expunge log exactly as they were, so clients find their caches valid.
extension PostgresMailStore {
    /// True when the database holds no domain and no account (the only state an import may start from).
    public func isEmptyForImport() async throws -> Bool {
        try await database.rows("SELECT (SELECT count(*) FROM domain) + (SELECT count(*) FROM account)").first?.decode(Int.self) == 0
    }

    /// Adds an account as it was (credential, disabled, quota, trusted relay) without default mailboxes; returns its new id.
    public func importAccount(_ account: AccountRecord) async throws -> AccountID {
        let logger = logger, quota = account.quota.map(Int.init)
        return try await database.transaction { connection in
            let rows = try await connection.rows("""
                INSERT INTO account (address, display_address, domain, credential, disabled, quota, trusted_relay, created_at)
                VALUES (\(account.address.normalized), \(account.address.description), \(account.address.domain.name), \(account.credential),
                        \(account.disabled), \(quota), \(account.trustedRelay), extract(epoch from now())::bigint)
                RETURNING id
                """, logger: logger)
            return AccountID(Int64(try rows[0].decode(Int.self)))
        }
    }

    /// Adds a mailbox with its UIDVALIDITY, next UID and highest modseq as they were, and the account's subscriptions.
    public func importMailbox(_ mailbox: MailboxInfo, account: AccountID) async throws -> MailboxID {
        let logger = logger
        return try await database.transaction { connection in
            let rows = try await connection.rows("""
                INSERT INTO mailbox (account_id, name, uid_validity, uid_next, highest_modseq, special_use)
                VALUES (\(account.rawValue), \(mailbox.name), \(Int(mailbox.uidValidity)), \(Int(mailbox.uidNext)), \(Int(mailbox.highestModSeq)),
                        \(mailbox.specialUse?.rawValue))
                RETURNING id
                """, logger: logger)
            return MailboxID(Int64(try rows[0].decode(Int.self)))
        }
    }

    public func importSubscriptions(_ names: [String], account: AccountID) async throws {
        guard !names.isEmpty else { return }
        let logger = logger
        try await database.transaction { connection in
            try await connection.run("""
                INSERT INTO subscription (account_id, name) SELECT \(account.rawValue), n FROM unnest(\(names)::text[]) AS n ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    /// Marks the messages no session has claimed yet as recent again (`\Recent`, RFC 3501 §2.3.2), as they were.
    public func importRecent(_ uids: [UID], into mailbox: MailboxID) async throws {
        guard !uids.isEmpty else { return }
        let logger = logger, values = uids.map { Int($0) }
        try await database.transaction { connection in
            try await connection.run(
                "UPDATE message SET recent = true WHERE mailbox_id = \(mailbox.rawValue) AND uid = ANY(\(values))", logger: logger)
        }
    }

    /// Adds messages with their own UIDs and modseqs (their blobs must be stored already), in one transaction.
    public func importMessages(_ messages: [ImportedMessage], into mailbox: MailboxID) async throws {
        guard !messages.isEmpty else { return }
        let logger = logger
        let records = messages.map(\.record)
        try await database.transaction { connection in
            try await connection.run("""
                INSERT INTO message (mailbox_id, uid, modseq, flags, keywords, internal_date, zone, size, blob, recent)
                SELECT \(mailbox.rawValue), u.uid, u.modseq, u.flags, u.keywords, u.internal_date, u.zone, u.size, u.blob, false
                FROM unnest(\(records.map { Int($0.uid) })::bigint[], \(records.map { Int($0.modSeq) })::bigint[],
                            \(records.map(\.flags.system.rawValue))::bigint[], \(records.map(\.flags.keywordText))::text[],
                            \(records.map { Int($0.internalDate.secondsSince1970) })::bigint[],
                            \(records.map(\.internalDate.zoneOffsetMinutes))::bigint[], \(records.map(\.size))::bigint[],
                            \(records.map(\.blob.hex))::text[])
                     AS u(uid, modseq, flags, keywords, internal_date, zone, size, blob)
                """, logger: logger)
            for message in messages {
                let summary = message.summary
                try await connection.run("""
                    INSERT INTO summary (blob, envelope, bodystructure, body, search_text)
                    VALUES (\(message.record.blob.hex), \(ByteBuffer(bytes: summary.envelope)), \(ByteBuffer(bytes: summary.bodyStructure)),
                            \(ByteBuffer(bytes: summary.body)), \(summary.searchText))
                    ON CONFLICT (blob) DO NOTHING
                    """, logger: logger)
            }
        }
    }

    /// The expunge log (UID, modseq) of a mailbox, so QRESYNC clients learn of expunges made before the move.
    public func importExpunged(_ entries: [(uid: UID, modSeq: ModSeq)], into mailbox: MailboxID) async throws {
        guard !entries.isEmpty else { return }
        let logger = logger
        try await database.transaction { connection in
            try await connection.run("""
                INSERT INTO expunged (mailbox_id, uid, modseq)
                SELECT \(mailbox.rawValue), u, m FROM unnest(\(entries.map { Int($0.uid) })::bigint[], \(entries.map { Int($0.modSeq) })::bigint[]) AS x(u, m)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    public func importQueueHistory(_ events: [QueueEvent]) async throws {
        guard !events.isEmpty else { return }
        let logger = logger
        try await database.transaction { connection in
            try await connection.run("""
                INSERT INTO queue_event (queue_id, at, recipient, outcome, detail)
                SELECT * FROM unnest(\(events.map(\.queueID))::text[], \(events.map { Int($0.at) })::bigint[],
                                     \(events.map(\.recipient))::text[], \(events.map(\.outcome.rawValue))::text[], \(events.map(\.detail))::text[])
                """, logger: logger)
        }
    }

    /// Moves the UIDVALIDITY counter past every imported value, so a mailbox created later never reuses one.
    public func finishImport() async throws {
        let logger = logger
        try await database.transaction { connection in
            try await connection.run("""
                SELECT setval('uid_validity_seq', greatest((SELECT last_value FROM uid_validity_seq),
                                                           (SELECT coalesce(max(uid_validity), 0) + 1 FROM mailbox)))
                """, logger: logger)
        }
    }

    /// (UID, modseq) of every expunge-log entry of a mailbox, for the verification pass.
    public func expungeLog(in mailbox: MailboxID) async throws -> [(uid: UID, modSeq: ModSeq)] {
        try await database.rows("SELECT uid, modseq FROM expunged WHERE mailbox_id = \(mailbox.rawValue) ORDER BY uid").map { row in
            let (uid, modSeq) = try row.decode((Int, Int).self)
            return (UID(uid), ModSeq(modSeq))
        }
    }
}
