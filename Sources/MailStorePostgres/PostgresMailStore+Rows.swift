import Logging
import MailCore
import MailStore
import NIOCore
import PostgresNIO

/// Row mapping and the statements several operations share (each runs on the connection of the caller's transaction).
extension PostgresMailStore {
    static func canonical(_ name: String) -> String { MailboxNames.canonical(name) }
    static func isValidName(_ name: String) -> Bool { MailboxNames.isValid(name) }

    static let mailboxSelect = """
        SELECT m.id, m.account_id, m.name, m.uid_validity, m.uid_next, m.highest_modseq, m.special_use,
               EXISTS (SELECT 1 FROM subscription s WHERE s.account_id = m.account_id AND s.name = m.name) AS subscribed
        FROM mailbox m
        """

    static func mailbox(from row: PostgresRow) throws -> MailboxInfo {
        let (id, account, name, uidValidity, uidNext, highest, specialUse, subscribed) =
            try row.decode((Int, Int, String, Int, Int, Int, String?, Bool).self)
        return MailboxInfo(
            id: MailboxID(Int64(id)), account: AccountID(Int64(account)), name: name, uidValidity: UInt32(uidValidity),
            uidNext: UID(uidNext), highestModSeq: ModSeq(highest), specialUse: specialUse.flatMap(SpecialUse.init(rawValue:)),
            subscribed: subscribed)
    }

    /// The columns of a `MessageState`, in the order `state(from:)` decodes them.
    static let stateColumns = "uid, modseq, flags, keywords, internal_date, zone, size"
    static let messageSelect = "SELECT \(stateColumns), blob FROM message"

    /// A row of `SELECT stateColumns`.
    static func state(from row: PostgresRow) throws -> MessageState {
        state(try row.decode((Int, Int, Int, String, Int, Int, Int).self))
    }

    /// A row of `messageSelect`.
    static func message(from row: PostgresRow) throws -> MessageRecord {
        let (uid, modSeq, flags, keywords, date, zone, size, blob) = try row.decode((Int, Int, Int, String, Int, Int, Int, String).self)
        return try message(uid, modSeq, flags, keywords, date, zone, size, blob)
    }

    /// The columns of `messageSelect`, decoded.
    static func message(
        _ uid: Int, _ modSeq: Int, _ flags: Int, _ keywords: String, _ date: Int, _ zone: Int, _ size: Int, _ blob: String
    ) throws -> MessageRecord {
        guard let blobID = BlobID(hex: blob) else { throw MailStoreError.storage("message \(uid) has a malformed blob id") }
        return MessageRecord(state((uid, modSeq, flags, keywords, date, zone, size)), blob: blobID)
    }

    private static func state(_ columns: (Int, Int, Int, String, Int, Int, Int)) -> MessageState {
        let (uid, modSeq, flags, keywords, date, zone, size) = columns
        return MessageState(
            uid: UID(uid), modSeq: ModSeq(modSeq),
            flags: MessageFlags(system: SystemFlags(rawValue: flags), keywords: keywords.split(separator: " ").map(String.init)),
            internalDate: InternalDate(secondsSince1970: Int64(date), zoneOffsetMinutes: zone), size: size)
    }

    static func insertMailbox(
        _ connection: PostgresConnection, logger: Logger, account: AccountID, name: String, specialUse: SpecialUse?
    ) async throws -> MailboxInfo {
        let rows = try await connection.rows("""
            INSERT INTO mailbox (account_id, name, uid_validity, uid_next, highest_modseq, special_use)
            VALUES (\(account.rawValue), \(name), nextval('uid_validity_seq'), 1, 1, \(specialUse?.rawValue))
            ON CONFLICT (account_id, name) DO NOTHING RETURNING id, uid_validity
            """, logger: logger)
        guard let row = rows.first else { throw MailStoreError.mailboxExists(name) }
        let (id, uidValidity) = try row.decode((Int, Int).self)
        return MailboxInfo(id: MailboxID(Int64(id)), account: account, name: name, uidValidity: UInt32(uidValidity), uidNext: 1,
                           highestModSeq: 1, specialUse: specialUse, subscribed: false)
    }

    static func highestModSeq(_ connection: PostgresConnection, logger: Logger, mailbox: MailboxID) async throws -> ModSeq {
        let rows = try await connection.rows("SELECT highest_modseq FROM mailbox WHERE id = \(mailbox.rawValue)", logger: logger)
        return ModSeq(try rows.first?.decode(Int.self) ?? 0)
    }

    /// Allocates `messages.count` UIDs and one modseq under the mailbox row lock, then inserts the rows (and the cached
    /// summaries, unless `summaries` is false because the blobs already have them).
    static func insertMessages(
        _ connection: PostgresConnection, logger: Logger, _ messages: [NewMessage], into mailbox: MailboxID, summaries: Bool = true
    ) async throws -> (uidValidity: UInt32, uids: [UID], modSeq: ModSeq) {
        let count = messages.count
        let rows = try await connection.rows("""
            UPDATE mailbox SET uid_next = uid_next + \(count), highest_modseq = highest_modseq + 1
            WHERE id = \(mailbox.rawValue) AND uid_next + \(count) <= 4294967296
            RETURNING uid_next - \(count), highest_modseq, uid_validity
            """, logger: logger)
        guard let row = rows.first else {
            if try await connection.rows("SELECT 1 FROM mailbox WHERE id = \(mailbox.rawValue)", logger: logger).isEmpty {
                throw MailStoreError.mailboxNotFound(mailbox.description)
            }
            throw MailStoreError.storage("UID space of \(mailbox) exhausted")
        }
        let (first, modSeq, uidValidity) = try row.decode((Int, Int, Int).self)
        let uids = (0..<count).map { first + $0 }
        try await connection.run("""
            INSERT INTO message (mailbox_id, uid, modseq, flags, keywords, internal_date, zone, size, blob, recent)
            SELECT \(mailbox.rawValue), u.uid, \(modSeq), u.flags, u.keywords, u.internal_date, u.zone, u.size, u.blob, true
            FROM unnest(\(uids)::bigint[], \(messages.map(\.flags.system.rawValue))::bigint[], \(messages.map(\.flags.keywordText))::text[],
                        \(messages.map { Int($0.internalDate.secondsSince1970) })::bigint[],
                        \(messages.map(\.internalDate.zoneOffsetMinutes))::bigint[], \(messages.map(\.size))::bigint[],
                        \(messages.map(\.blob.hex))::text[])
                 AS u(uid, flags, keywords, internal_date, zone, size, blob)
            """, logger: logger)
        if summaries {
            for message in messages {
                let summary = message.summary
                try await connection.run("""
                    INSERT INTO summary (blob, envelope, bodystructure, body, search_text)
                    VALUES (\(message.blob.hex), \(ByteBuffer(bytes: summary.envelope)), \(ByteBuffer(bytes: summary.bodyStructure)),
                            \(ByteBuffer(bytes: summary.body)), \(summary.searchText))
                    ON CONFLICT (blob) DO UPDATE SET envelope = excluded.envelope, bodystructure = excluded.bodystructure,
                        body = excluded.body, search_text = excluded.search_text
                    WHERE length(excluded.envelope) > 0 AND length(summary.envelope) = 0
                    """, logger: logger)
            }
        }
        return (UInt32(uidValidity), uids.map { UID($0) }, ModSeq(modSeq))
    }

    /// One message into one mailbox in one statement, so one round trip (and, alone, no transaction of its own): the
    /// UID and modseq from the mailbox row (locked until commit, as in `insertMessages`), the message row, its cached
    /// summary, and the NOTIFY to the other nodes. No row when the mailbox is gone or its UIDs are exhausted.
    static func insertOne(_ message: NewMessage, into mailbox: MailboxID, node: String) -> PostgresQuery {
        let id = mailbox.rawValue, summary = message.summary, blob = message.blob.hex
        return """
            WITH m AS (
                UPDATE mailbox SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1
                WHERE id = \(id) AND uid_next < 4294967296
                RETURNING uid_next - 1 AS uid, highest_modseq, uid_validity
            ), added AS (
                INSERT INTO message (mailbox_id, uid, modseq, flags, keywords, internal_date, zone, size, blob, recent)
                SELECT \(id), m.uid, m.highest_modseq, \(message.flags.system.rawValue), \(message.flags.keywordText),
                       \(Int(message.internalDate.secondsSince1970)), \(message.internalDate.zoneOffsetMinutes), \(message.size), \(blob), true
                FROM m RETURNING 1
            ), cached AS (
                INSERT INTO summary (blob, envelope, bodystructure, body, search_text)
                SELECT \(blob), \(ByteBuffer(bytes: summary.envelope)), \(ByteBuffer(bytes: summary.bodyStructure)),
                       \(ByteBuffer(bytes: summary.body)), \(summary.searchText)
                FROM m
                ON CONFLICT (blob) DO UPDATE SET envelope = excluded.envelope, bodystructure = excluded.bodystructure,
                    body = excluded.body, search_text = excluded.search_text
                WHERE length(excluded.envelope) > 0 AND length(summary.envelope) = 0
                RETURNING 1
            )
            SELECT m.uid, m.highest_modseq, m.uid_validity
            FROM m, (SELECT pg_notify(\(channel), \("\(node) c \(id) ") || m.highest_modseq) FROM m) AS notified
            """
    }

    /// Decodes `insertOne`'s row, or says why there is none.
    static func insertedOne(_ rows: [PostgresRow], mailbox: MailboxID, exists: () async throws -> Bool) async throws -> (uidValidity: UInt32, uid: UID, modSeq: ModSeq) {
        guard let row = rows.first else {
            if try await !exists() { throw MailStoreError.mailboxNotFound(mailbox.description) }
            throw MailStoreError.storage("UID space of \(mailbox) exhausted")
        }
        let (uid, modSeq, uidValidity) = try row.decode((Int, Int, Int).self)
        return (UInt32(uidValidity), UID(uid), ModSeq(modSeq))
    }

    /// Copies messages (flags, dates, blobs) to the destination; returns the mapping and the destination's new modseq,
    /// or nil when none of the UIDs exist.
    static func copyMessages(
        _ connection: PostgresConnection, logger: Logger, uids: [UID], from source: MailboxID, to destination: MailboxID
    ) async throws -> (UIDMapping, ModSeq?) {
        let wanted = uids.map(Int.init)
        let records = try await connection.rows(
            "\(unescaped: messageSelect) WHERE mailbox_id = \(source.rawValue) AND uid = ANY(\(wanted)) ORDER BY uid", logger: logger
        ).map(message(from:))
        let validity = try await connection.rows("SELECT uid_validity FROM mailbox WHERE id = \(destination.rawValue)", logger: logger)
        guard let validity = try validity.first?.decode(Int.self) else { throw MailStoreError.mailboxNotFound(destination.description) }
        guard !records.isEmpty else { return (UIDMapping(uidValidity: UInt32(validity), source: [], destination: []), nil) }
        let news = records.map { NewMessage(blob: $0.blob, size: $0.size, internalDate: $0.internalDate, flags: $0.flags) }
        let (uidValidity, destinationUIDs, modSeq) = try await insertMessages(connection, logger: logger, news, into: destination, summaries: false)
        return (UIDMapping(uidValidity: uidValidity, source: records.map(\.uid), destination: destinationUIDs), modSeq)
    }

    /// Deletes the rows and writes the expunge log under one new modseq; nil when there was nothing to expunge. One
    /// statement: the modseq from the mailbox row (locked until commit), the rows deleted, the log written under it.
    static func expungeRows(_ connection: PostgresConnection, logger: Logger, mailbox: MailboxID, uids: [UID]) async throws -> ModSeq? {
        guard !uids.isEmpty else { return nil }
        let id = mailbox.rawValue, values = uids.map(Int.init)
        let rows = try await connection.rows("""
            WITH m AS (
                UPDATE mailbox SET highest_modseq = highest_modseq + 1 WHERE id = \(id) RETURNING highest_modseq
            ), gone AS (
                DELETE FROM message WHERE mailbox_id = \(id) AND uid = ANY(\(values))
            ), logged AS (
                INSERT INTO expunged (mailbox_id, uid, modseq) SELECT \(id), u, m.highest_modseq FROM m, unnest(\(values)::bigint[]) AS u
                ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq
            )
            SELECT highest_modseq FROM m
            """, logger: logger)
        guard let row = rows.first else { throw MailStoreError.mailboxNotFound(mailbox.description) }
        return ModSeq(try row.decode(Int.self))
    }

    // MARK: Notifications to the other nodes

    /// `NOTIFY` inside the transaction: PostgreSQL delivers it to every listener at commit, and never if it rolls back.
    /// Payload: `NODE c MAILBOX MODSEQ` or `NODE l ACCOUNT`.
    static func notifyChange(_ connection: PostgresConnection, logger: Logger, node: String, mailbox: MailboxID, modSeq: ModSeq) async throws {
        try await connection.run("SELECT pg_notify(\(channel), \("\(node) c \(mailbox.rawValue) \(modSeq)"))", logger: logger)
    }

    static func notifyList(_ connection: PostgresConnection, logger: Logger, node: String, account: AccountID) async throws {
        try await connection.run("SELECT pg_notify(\(channel), \("\(node) l \(account.rawValue)"))", logger: logger)
    }
}
