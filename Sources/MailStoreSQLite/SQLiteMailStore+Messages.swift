import Foundation
import GRDB
import MailStore

/// The message rows of `SQLiteMailStore`: reading records, and the inserts, copies and expunges its writes share.
///
/// Every statement here is prepared once per connection (`cachedStatement`); a list of UIDs is bound as one JSON array
/// (`uid IN (SELECT value FROM json_each(?))`, SQLite ≥ 3.38), so any number of UIDs uses the same statement and the
/// primary key (mailbox_id, uid). Rows are read by column position.
extension SQLiteMailStore {
    /// The columns of a `MessageState`, in the order `state(from:)` reads them.
    static let stateColumns = "uid, modseq, flags, keywords, internal_date, zone, size"
    static let messageSelect = "SELECT \(stateColumns), blob FROM message"

    /// The records a `messageSelect` query returns.
    static func fetchRecords(_ db: Database, sql: String, arguments: StatementArguments) throws -> [MessageRecord] {
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        var records: [MessageRecord] = []
        while let row = try rows.next() { records.append(try message(from: row)) }
        return records
    }

    /// The records of `uids` in `mailbox`, in UID order; UIDs without a message are left out.
    static func fetchRecords(_ db: Database, in mailbox: MailboxID, uids: [UID]) throws -> [MessageRecord] {
        guard !uids.isEmpty else { return [] }
        return try fetchRecords(
            db, sql: "\(messageSelect) WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid",
            arguments: [mailbox.rawValue, jsonList(uids)])
    }

    /// The first columns of a row (`stateColumns`), by position.
    static func state(from row: Row) -> MessageState {
        let keywordText: String = row[3]
        return MessageState(
            uid: UID(row[0] as Int64), modSeq: row[1],
            flags: MessageFlags(system: SystemFlags(rawValue: row[2]), keywords: keywordText.isEmpty ? [] : keywordText.split(separator: " ").map(String.init)),
            internalDate: InternalDate(secondsSince1970: row[4], zoneOffsetMinutes: row[5]), size: row[6])
    }

    /// A row of `messageSelect`, by column position.
    static func message(from row: Row) throws -> MessageRecord {
        let hex: String = row[7]
        guard let blob = BlobID(hex: hex) else { throw MailStoreError.storage("invalid blob id '\(hex)' in the message table") }
        return MessageRecord(state(from: row), blob: blob)
    }

    /// `[1,2,3]`: UIDs as one bindable value for `json_each`.
    static func jsonList(_ uids: [UID]) -> String {
        var text = "["
        text.reserveCapacity(uids.count * 6 + 2)
        for (index, uid) in uids.enumerated() {
            if index > 0 { text += "," }
            text += String(uid)
        }
        return text + "]"
    }

    /// Stamps the mailbox with a new, higher modseq and returns it.
    static func nextModSeq(_ db: Database, mailbox: MailboxID) throws -> ModSeq {
        let statement = try db.cachedStatement(sql: "UPDATE mailbox SET highest_modseq = highest_modseq + 1 WHERE id = ? RETURNING highest_modseq")
        guard let modSeq = try ModSeq.fetchOne(statement, arguments: [mailbox.rawValue]) else {
            throw MailStoreError.mailboxNotFound(mailbox.description)
        }
        return modSeq
    }

    /// Inserts messages with ascending UIDs from the mailbox's UIDNEXT, all under one new modseq.
    static func insertMessages(
        _ db: Database, _ messages: [NewMessage], into mailbox: MailboxID
    ) throws -> (uidValidity: UInt32, uids: [UID], modSeq: ModSeq) {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT uid_next, uid_validity FROM mailbox WHERE id = ?"),
                                         arguments: [mailbox.rawValue]) else {
            throw MailStoreError.mailboxNotFound(mailbox.description)
        }
        let first: Int64 = row[0]
        guard first + Int64(messages.count) <= Int64(UInt32.max) else { throw MailStoreError.storage("UID space of \(mailbox) exhausted") }
        let modSeq = try nextModSeq(db, mailbox: mailbox)
        let insertMessage = try db.cachedStatement(sql: """
            INSERT INTO message (mailbox_id, uid, modseq, flags, keywords, internal_date, zone, size, blob, recent)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
            """)
        let insertSummary = try db.cachedStatement(sql: """
            INSERT INTO summary (blob, envelope, bodystructure, body, search_text) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (blob) DO UPDATE SET envelope = excluded.envelope, bodystructure = excluded.bodystructure,
                body = excluded.body, search_text = excluded.search_text
            WHERE length(excluded.envelope) > 0 AND length(summary.envelope) = 0
            """)
        var uids: [UID] = []
        for (offset, message) in messages.enumerated() {
            let uid = first + Int64(offset)
            try insertMessage.execute(arguments: [
                mailbox.rawValue, uid, modSeq, message.flags.system.rawValue, message.flags.keywordText,
                message.internalDate.secondsSince1970, message.internalDate.zoneOffsetMinutes, message.size, message.blob.hex,
            ])
            try insertSummary.execute(arguments: [
                message.blob.hex, Data(message.summary.envelope), Data(message.summary.bodyStructure), Data(message.summary.body),
                message.summary.searchText,
            ])
            uids.append(UID(uid))
        }
        try db.cachedStatement(sql: "UPDATE mailbox SET uid_next = ? WHERE id = ?")
            .execute(arguments: [first + Int64(messages.count), mailbox.rawValue])
        return (UInt32(row[1] as Int64), uids, modSeq)
    }

    /// Copies messages into `destination`; the modseq is nil when nothing was copied.
    static func copyMessages(
        _ db: Database, uids: [UID], from source: MailboxID, to destination: MailboxID
    ) throws -> (mapping: UIDMapping, modSeq: ModSeq?) {
        let records = try fetchRecords(db, in: source, uids: uids)
        guard let validity = try Int64.fetchOne(db.cachedStatement(sql: "SELECT uid_validity FROM mailbox WHERE id = ?"),
                                                arguments: [destination.rawValue]) else {
            throw MailStoreError.mailboxNotFound(destination.description)
        }
        guard !records.isEmpty else { return (UIDMapping(uidValidity: UInt32(validity), source: [], destination: []), nil) }
        let news = records.map { NewMessage(blob: $0.blob, size: $0.size, internalDate: $0.internalDate, flags: $0.flags) }
        let inserted = try insertMessages(db, news, into: destination)
        return (UIDMapping(uidValidity: inserted.uidValidity, source: records.map(\.uid), destination: inserted.uids), inserted.modSeq)
    }

    /// Deletes messages and logs their UIDs in the expunge log under one new modseq (nil when there was nothing to do).
    static func expungeRows(_ db: Database, mailbox: MailboxID, uids: [UID]) throws -> (uids: [UID], modSeq: ModSeq?) {
        guard !uids.isEmpty else { return ([], nil) }
        let modSeq = try nextModSeq(db, mailbox: mailbox)
        try db.cachedStatement(sql: "DELETE FROM message WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?))")
            .execute(arguments: [mailbox.rawValue, jsonList(uids)])
        let log = try db.cachedStatement(sql: "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)")
        for uid in uids { try log.execute(arguments: [mailbox.rawValue, Int64(uid), modSeq]) }
        return (uids, modSeq)
    }
}
