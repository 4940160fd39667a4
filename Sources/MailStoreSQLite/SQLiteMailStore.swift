import Foundation
import GRDB
import MailCore
import MailStore

/// `MailStore` on SQLite. Writes are serialised by the database pool's single writer, which is what makes UID and modseq
/// allocation strictly ascending without further locking. Message writes (delivery, APPEND, flags, expunge, copy, move)
/// go through `GroupCommitter`: concurrent ones share one transaction and one fsync, and return after its commit.
public final class SQLiteMailStore: MailStore {
    public let database: SQLiteDatabase
    public let blobs: any BlobStore
    public let changes: MailboxChangeFeed
    let committer: GroupCommitter

    public init(database: SQLiteDatabase, blobs: any BlobStore, changes: MailboxChangeFeed = MailboxChangeFeed()) {
        self.database = database
        self.blobs = blobs
        self.changes = changes
        self.committer = GroupCommitter(pool: database.pool)
    }

    var pool: DatabasePool { database.pool }

    // MARK: Mailboxes

    public func mailboxes(of account: AccountID) async throws -> [MailboxInfo] {
        try await read { db in
            try Row.fetchAll(db, sql: "\(Self.mailboxSelect) WHERE m.account_id = ? ORDER BY m.name", arguments: [account.rawValue])
                .map(Self.mailbox(from:))
        }
    }

    public func mailbox(of account: AccountID, named name: String) async throws -> MailboxInfo? {
        let name = Self.canonical(name)
        return try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "\(Self.mailboxSelect) WHERE m.account_id = ? AND m.name = ?"), arguments: [account.rawValue, name])
                .map(Self.mailbox(from:))
        }
    }

    public func mailbox(id: MailboxID) async throws -> MailboxInfo? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "\(Self.mailboxSelect) WHERE m.id = ?"), arguments: [id.rawValue]).map(Self.mailbox(from:))
        }
    }

    public func createMailbox(of account: AccountID, named name: String, specialUse: SpecialUse?) async throws -> MailboxInfo {
        let name = Self.canonical(name)
        guard Self.isValidName(name) else { throw MailStoreError.invalidMailboxName(name) }
        let info = try await write { db in
            try Self.insertMailbox(db, account: account, name: name, specialUse: specialUse)
        }
        changes.publish(.mailboxListChanged(account))
        return info
    }

    public func deleteMailbox(of account: AccountID, named name: String) async throws {
        let name = Self.canonical(name)
        guard name != "INBOX" else { throw MailStoreError.cannotDeleteInbox }
        try await write { db in
            try db.execute(sql: "DELETE FROM mailbox WHERE account_id = ? AND name = ?", arguments: [account.rawValue, name])
            if db.changesCount == 0 { throw MailStoreError.mailboxNotFound(name) }
        }
        changes.publish(.mailboxListChanged(account))
    }

    public func renameMailbox(of account: AccountID, from: String, to: String) async throws {
        let from = Self.canonical(from), to = Self.canonical(to)
        guard Self.isValidName(to) else { throw MailStoreError.invalidMailboxName(to) }
        let renamed: [MailboxID] = try await write { db in
            let existing = try String.fetchAll(
                db, sql: "SELECT name FROM mailbox WHERE account_id = ? AND (name = ? OR substr(name, 1, ?) = ?)",
                arguments: [account.rawValue, to, to.count + 1, to + "/"])
            guard existing.isEmpty else { throw MailStoreError.mailboxExists(to) }
            guard let source = try Row.fetchOne(db, sql: "\(Self.mailboxSelect) WHERE m.account_id = ? AND m.name = ?",
                                                arguments: [account.rawValue, from]).map(Self.mailbox(from:)) else {
                throw MailStoreError.mailboxNotFound(from)
            }
            if from == "INBOX" {
                // RFC 9051 §6.3.6: move INBOX's messages into a new mailbox; INBOX stays, empty. Children of INBOX do not move.
                let target = try Self.insertMailbox(db, account: account, name: to, specialUse: nil)
                let uids = try UID.fetchAll(db, sql: "SELECT uid FROM message WHERE mailbox_id = ? ORDER BY uid", arguments: [source.id.rawValue])
                _ = try Self.copyMessages(db, uids: uids, from: source.id, to: target.id)
                _ = try Self.expungeRows(db, mailbox: source.id, uids: uids)
                return [source.id, target.id]
            }
            let ids = try Int64.fetchAll(
                db, sql: "SELECT id FROM mailbox WHERE account_id = ? AND (name = ? OR substr(name, 1, ?) = ?)",
                arguments: [account.rawValue, from, from.count + 1, from + "/"])
            try db.execute(
                sql: "UPDATE mailbox SET name = ? || substr(name, ?) WHERE account_id = ? AND (name = ? OR substr(name, 1, ?) = ?)",
                arguments: [to, from.count + 1, account.rawValue, from, from.count + 1, from + "/"])
            try db.execute(
                sql: "UPDATE OR REPLACE subscription SET name = ? || substr(name, ?) WHERE account_id = ? AND (name = ? OR substr(name, 1, ?) = ?)",
                arguments: [to, from.count + 1, account.rawValue, from, from.count + 1, from + "/"])
            return ids.map(MailboxID.init)
        }
        for id in renamed { try await publishChange(id) }
        changes.publish(.mailboxListChanged(account))
    }

    public func setSubscribed(of account: AccountID, name: String, _ subscribed: Bool) async throws {
        let name = Self.canonical(name)
        try await write { db in
            if subscribed {
                try db.execute(sql: "INSERT OR IGNORE INTO subscription (account_id, name) VALUES (?, ?)", arguments: [account.rawValue, name])
            } else {
                try db.execute(sql: "DELETE FROM subscription WHERE account_id = ? AND name = ?", arguments: [account.rawValue, name])
            }
        }
    }

    public func subscriptions(of account: AccountID) async throws -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT name FROM subscription WHERE account_id = ? ORDER BY name", arguments: [account.rawValue])
        }
    }

    public func status(of mailbox: MailboxID) async throws -> MailboxStatus {
        try await read { db in
            guard let box = try Row.fetchOne(db.cachedStatement(sql: "\(Self.mailboxSelect) WHERE m.id = ?"), arguments: [mailbox.rawValue])
                .map(Self.mailbox(from:)) else { throw MailStoreError.mailboxNotFound(mailbox.description) }
            let row = try Row.fetchOne(db.cachedStatement(sql: """
                SELECT count(*) AS messages,
                       coalesce(sum(flags & \(SystemFlags.seen.rawValue) = 0), 0) AS unseen,
                       coalesce(sum(flags & \(SystemFlags.deleted.rawValue) != 0), 0) AS deleted,
                       coalesce(sum(recent), 0) AS recent,
                       coalesce(sum(size), 0) AS size
                FROM message WHERE mailbox_id = ?
                """), arguments: [mailbox.rawValue])!
            return MailboxStatus(
                messages: row["messages"], unseen: row["unseen"], deleted: row["deleted"], recent: row["recent"],
                size: row["size"], uidNext: box.uidNext, uidValidity: box.uidValidity, highestModSeq: box.highestModSeq)
        }
    }

    // MARK: Messages

    public func append(_ messages: [NewMessage], to mailbox: MailboxID) async throws -> UIDMapping {
        for message in messages where try await !blobs.contains(message.blob) { throw MailStoreError.blobMissing(message.blob) }
        let (mapping, modSeq) = try await groupWrite { db in
            let inserted = try Self.insertMessages(db, messages, into: mailbox)
            return (UIDMapping(uidValidity: inserted.uidValidity, source: [], destination: inserted.uids), inserted.modSeq)
        }
        changes.publish(.changed(mailbox, highestModSeq: modSeq))
        return mapping
    }

    public func deliver(_ message: NewMessage, to mailboxes: [MailboxID]) async throws -> [MailboxID: UID] {
        guard try await blobs.contains(message.blob) else { throw MailStoreError.blobMissing(message.blob) }
        let result = try await groupWrite { db in
            var result: [MailboxID: (uid: UID, modSeq: ModSeq)] = [:]
            for mailbox in Set(mailboxes) {
                let inserted = try Self.insertMessages(db, [message], into: mailbox)
                result[mailbox] = (inserted.uids[0], inserted.modSeq)
            }
            return result
        }
        for (mailbox, inserted) in result { changes.publish(.changed(mailbox, highestModSeq: inserted.modSeq)) }
        return result.mapValues { $0.uid }
    }

    public func messages(in mailbox: MailboxID) async throws -> [MessageRecord] {
        try await read { db in
            try Self.fetchRecords(db, sql: "\(Self.messageSelect) WHERE mailbox_id = ? ORDER BY uid", arguments: [mailbox.rawValue])
        }
    }

    public func messageStates(in mailbox: MailboxID) async throws -> MailboxStates {
        // One read transaction: the WAL snapshot makes the HIGHESTMODSEQ and the rows agree.
        try await read { db in
            guard let highest = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT highest_modseq FROM mailbox WHERE id = ?"), arguments: [mailbox.rawValue]) else {
                throw MailStoreError.mailboxNotFound(mailbox.description)
            }
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT \(Self.stateColumns) FROM message WHERE mailbox_id = ? ORDER BY uid"),
                arguments: [mailbox.rawValue])
            var states: [MessageState] = []
            while let row = try rows.next() { states.append(Self.state(from: row)) }
            return MailboxStates(states: states, highestModSeq: ModSeq(highest))
        }
    }

    public func messages(in mailbox: MailboxID, uids: [UID]) async throws -> [MessageRecord] {
        guard !uids.isEmpty else { return [] }
        return try await read { db in try Self.fetchRecords(db, in: mailbox, uids: uids) }
    }

    public func summary(in mailbox: MailboxID, uid: UID) async throws -> MessageSummary? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: """
                SELECT s.envelope, s.bodystructure, s.body, s.search_text FROM message m JOIN summary s ON s.blob = m.blob
                WHERE m.mailbox_id = ? AND m.uid = ?
                """), arguments: [mailbox.rawValue, Int64(uid)]).map { row in
                MessageSummary(
                    envelope: [UInt8](row["envelope"] as Data), bodyStructure: [UInt8](row["bodystructure"] as Data),
                    body: [UInt8](row["body"] as Data), searchText: row["search_text"])
            }
        }
    }

    public func searchTexts(in mailbox: MailboxID, uids: [UID]) async throws -> [UID: String] {
        guard !uids.isEmpty else { return [:] }
        return try await read { db in
            var texts: [UID: String] = [:]
            let statement = try db.cachedStatement(sql: """
                SELECT m.uid, s.search_text FROM message m JOIN summary s ON s.blob = m.blob
                WHERE m.mailbox_id = ? AND m.uid IN (SELECT value FROM json_each(?))
                """)
            let rows = try Row.fetchCursor(statement, arguments: [mailbox.rawValue, Self.jsonList(uids)])
            while let row = try rows.next() { texts[UID(row[0] as Int64)] = row[1] }
            return texts
        }
    }

    public func changes(in mailbox: MailboxID, since modSeq: ModSeq) async throws -> MailboxChanges {
        try await read { db in
            guard let box = try Row.fetchOne(db.cachedStatement(sql: "SELECT uid_next, highest_modseq FROM mailbox WHERE id = ?"),
                                             arguments: [mailbox.rawValue]) else {
                throw MailStoreError.mailboxNotFound(mailbox.description)
            }
            let changed = try Self.fetchRecords(
                db, sql: "\(Self.messageSelect) INDEXED BY message_modseq WHERE mailbox_id = ? AND modseq > ? ORDER BY uid",
                arguments: [mailbox.rawValue, modSeq])
            let expunged = try UID.fetchAll(
                db.cachedStatement(sql: "SELECT uid FROM expunged INDEXED BY expunged_modseq WHERE mailbox_id = ? AND modseq > ? ORDER BY uid"),
                arguments: [mailbox.rawValue, modSeq])
            return MailboxChanges(
                changed: changed, expunged: expunged, highestModSeq: box[1], uidNext: UID(box[0] as Int64))
        }
    }

    public func setFlags(
        _ flags: MessageFlags, operation: FlagOperation, uids: [UID], in mailbox: MailboxID, unchangedSince: ModSeq?
    ) async throws -> (changed: [MessageRecord], failed: [UID]) {
        guard !uids.isEmpty else { return ([], []) }
        let result: ([MessageRecord], [UID], ModSeq?) = try await groupWrite { db in
            let current = try Self.fetchRecords(db, in: mailbox, uids: uids)
            let plan = planFlagChange(current, flags: flags, operation: operation, unchangedSince: unchangedSince)
            var updates = plan.updates
            let failed = plan.failed
            guard !updates.isEmpty else { return ([], failed, nil) }
            let modSeq = try Self.nextModSeq(db, mailbox: mailbox)
            let update = try db.cachedStatement(sql: "UPDATE message SET flags = ?, keywords = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?")
            for index in updates.indices {
                updates[index].modSeq = modSeq
                try update.execute(arguments: [updates[index].flags.system.rawValue, updates[index].flags.keywordText, modSeq,
                                               mailbox.rawValue, Int64(updates[index].uid)])
            }
            return (updates, failed, modSeq)
        }
        if let modSeq = result.2 { changes.publish(.changed(mailbox, highestModSeq: modSeq)) }
        return (result.0, result.1)
    }

    public func expunge(in mailbox: MailboxID, uids: [UID]?) async throws -> [UID] {
        let (expunged, modSeq) = try await groupWrite { db in
            var deleted = try UID.fetchAll(
                db.cachedStatement(sql: "SELECT uid FROM message WHERE mailbox_id = ? AND flags & ? != 0 ORDER BY uid"),
                arguments: [mailbox.rawValue, SystemFlags.deleted.rawValue])
            if let uids { let wanted = Set(uids); deleted = deleted.filter(wanted.contains) }
            return try Self.expungeRows(db, mailbox: mailbox, uids: deleted)
        }
        if let modSeq { changes.publish(.changed(mailbox, highestModSeq: modSeq)) }
        return expunged
    }

    public func copy(uids: [UID], from source: MailboxID, to destination: MailboxID) async throws -> UIDMapping {
        let (mapping, modSeq) = try await groupWrite { db in try Self.copyMessages(db, uids: uids, from: source, to: destination) }
        if let modSeq { changes.publish(.changed(destination, highestModSeq: modSeq)) }
        return mapping
    }

    public func move(uids: [UID], from source: MailboxID, to destination: MailboxID) async throws -> UIDMapping {
        let (mapping, destinationModSeq, sourceModSeq) = try await groupWrite { db in
            let (mapping, destinationModSeq) = try Self.copyMessages(db, uids: uids, from: source, to: destination)
            let (_, sourceModSeq) = try Self.expungeRows(db, mailbox: source, uids: mapping.source)
            return (mapping, destinationModSeq, sourceModSeq)
        }
        if let destinationModSeq { changes.publish(.changed(destination, highestModSeq: destinationModSeq)) }
        if let sourceModSeq { changes.publish(.changed(source, highestModSeq: sourceModSeq)) }
        return mapping
    }

    public func claimRecent(in mailbox: MailboxID) async throws -> [UID] {
        // Most of the time nothing is recent: find that out without queueing for the writer.
        // INDEXED BY here and in changes(in:since:): without statistics SQLite's planner prefers walking the primary key
        // in UID order (no sort needed) and filtering every row of the mailbox, so each session's resynchronisation read
        // the whole mailbox. The modseq and recent indexes give the few rows wanted; sorting those is cheap.
        let query = "SELECT uid FROM message INDEXED BY message_recent WHERE mailbox_id = ? AND recent = 1 ORDER BY uid"
        let hasRecent = try await read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (\(query))"), arguments: [mailbox.rawValue])
        }
        guard hasRecent == true else { return [] }
        return try await groupWrite { db in
            let uids = try UID.fetchAll(db.cachedStatement(sql: query), arguments: [mailbox.rawValue])
            if !uids.isEmpty {
                try db.cachedStatement(sql: "UPDATE message INDEXED BY message_recent SET recent = 0 WHERE mailbox_id = ? AND recent = 1")
                    .execute(arguments: [mailbox.rawValue])
            }
            return uids
        }
    }

    public func recentUIDs(in mailbox: MailboxID) async throws -> [UID] {
        try await read { db in
            try UID.fetchAll(db.cachedStatement(
                sql: "SELECT uid FROM message INDEXED BY message_recent WHERE mailbox_id = ? AND recent = 1 ORDER BY uid"),
                arguments: [mailbox.rawValue])
        }
    }

    public func usage(of account: AccountID) async throws -> Int64 {
        try await read { db in
            try Int64.fetchOne(db.cachedStatement(sql: """
                SELECT COALESCE(SUM(message.size), 0) FROM message JOIN mailbox ON mailbox.id = message.mailbox_id
                WHERE mailbox.account_id = ?
                """), arguments: [account.rawValue]) ?? 0
        }
    }

    public func isBlobReferenced(_ blob: BlobID) async throws -> Bool {
        try await read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM message WHERE blob = ?) OR EXISTS (SELECT 1 FROM queue_message WHERE blob = ?)
                """, arguments: [blob.hex, blob.hex]) ?? true
        }
    }

    public func collectReleasedBlobs(releasedBefore cutoff: Int64, limit: Int) async throws -> (examined: Int, removed: Int) {
        let released = try await read { db in
            try Row.fetchAll(db.cachedStatement(sql: "SELECT blob, released_at FROM blob_release WHERE released_at < ? ORDER BY released_at LIMIT ?"),
                             arguments: [cutoff, limit])
                .map { (hex: $0[0] as String, at: $0[1] as Int64) }
        }
        var removed = 0
        for entry in released {
            guard let blob = BlobID(hex: entry.hex) else {
                try await forget(entry.hex, releasedAt: entry.at)
                continue
            }
            if try await isBlobReferenced(blob) {
                try await forget(entry.hex, releasedAt: entry.at)  // referenced again: a later delete records it anew
            } else if try await blobs.remove(blob, unlessPutSince: cutoff) {
                // Gone: its summary goes too, unless a delivery of the same bytes has committed since.
                try await write { db in
                    try db.execute(sql: "DELETE FROM summary WHERE blob = ? AND NOT EXISTS (SELECT 1 FROM message WHERE blob = ?)",
                                   arguments: [entry.hex, entry.hex])
                }
                try await forget(entry.hex, releasedAt: entry.at)
                removed += 1
            }
            // Otherwise a put of the same bytes touched it since the cutoff: its message is about to commit. The entry
            // stays, and the next run finds the blob referenced (or, if that delivery failed, unreferenced and old).
        }
        return (released.count, removed)
    }

    /// Drops a release entry, unless the blob was released again since it was read (that release starts its own grace).
    private func forget(_ hex: String, releasedAt: Int64) async throws {
        try await write { db in
            try db.execute(sql: "DELETE FROM blob_release WHERE blob = ? AND released_at = ?", arguments: [hex, releasedAt])
        }
    }

    // MARK: Helpers shared with the directory store

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.read(body) } catch let error as DatabaseError { throw Self.storageError(error) }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do { return try await pool.write(body) } catch let error as DatabaseError { throw Self.storageError(error) }
    }

    /// `write` through the group committer (see `GroupCommitter`).
    func groupWrite<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await committer.write(body)
        } catch let error as DatabaseError {
            throw Self.storageError(error)
        } catch is GroupCommitter.TransactionLost {
            throw MailStoreError.storage("SQLite: the transaction was rolled back")
        }
    }

    static func storageError(_ error: DatabaseError) -> MailStoreError {
        .storage("SQLite: \(error.message ?? "error") (code \(error.resultCode.rawValue))")
    }

    private func publishChange(_ mailbox: MailboxID) async throws {
        let modSeq = try await read { db in
            try ModSeq.fetchOne(db, sql: "SELECT highest_modseq FROM mailbox WHERE id = ?", arguments: [mailbox.rawValue]) ?? 0
        }
        changes.publish(.changed(mailbox, highestModSeq: modSeq))
    }

    static func canonical(_ name: String) -> String { MailboxNames.canonical(name) }

    static func isValidName(_ name: String) -> Bool { MailboxNames.isValid(name) }

    static let mailboxSelect = """
        SELECT m.id, m.account_id, m.name, m.uid_validity, m.uid_next, m.highest_modseq, m.special_use,
               EXISTS (SELECT 1 FROM subscription s WHERE s.account_id = m.account_id AND s.name = m.name) AS subscribed
        FROM mailbox m
        """

    static func mailbox(from row: Row) -> MailboxInfo {
        MailboxInfo(
            id: MailboxID(row["id"]), account: AccountID(row["account_id"]), name: row["name"],
            uidValidity: UInt32(row["uid_validity"] as Int64), uidNext: UID(row["uid_next"] as Int64),
            highestModSeq: row["highest_modseq"], specialUse: (row["special_use"] as String?).flatMap(SpecialUse.init(rawValue:)),
            subscribed: row["subscribed"])
    }

    static func insertMailbox(_ db: Database, account: AccountID, name: String, specialUse: SpecialUse?) throws -> MailboxInfo {
        if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM mailbox WHERE account_id = ? AND name = ?)",
                             arguments: [account.rawValue, name]) == true {
            throw MailStoreError.mailboxExists(name)
        }
        let uidValidity = try nextUIDValidity(db)
        try db.execute(
            sql: "INSERT INTO mailbox (account_id, name, uid_validity, uid_next, highest_modseq, special_use) VALUES (?, ?, ?, 1, 1, ?)",
            arguments: [account.rawValue, name, Int64(uidValidity), specialUse?.rawValue])
        let id = MailboxID(db.lastInsertedRowID)
        return MailboxInfo(id: id, account: account, name: name, uidValidity: uidValidity, uidNext: 1, highestModSeq: 1,
                           specialUse: specialUse, subscribed: false)
    }

    /// UIDVALIDITY values come from one store-wide counter seeded with the clock, so a mailbox deleted and created again
    /// under the same name never reuses one (RFC 9051 §2.3.1.1).
    static func nextUIDValidity(_ db: Database) throws -> UInt32 {
        let seed = Int64(Date().timeIntervalSince1970) & 0x7FFF_FFFF
        try db.execute(sql: "INSERT OR IGNORE INTO meta (key, value) VALUES ('next_uid_validity', ?)", arguments: [seed])
        let value = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'next_uid_validity'")!
        try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'next_uid_validity'", arguments: [value >= 0xFFFF_FFFE ? 1 : value + 1])
        return UInt32(max(1, value))
    }
}

extension SQLiteMailStore {
    /// (UID, modseq) of every expunge-log entry of a mailbox (`letterbox migrate-store` copies it).
    public func expungeLog(in mailbox: MailboxID) async throws -> [(uid: UID, modSeq: ModSeq)] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT uid, modseq FROM expunged WHERE mailbox_id = ? ORDER BY uid", arguments: [mailbox.rawValue])
                .map { (UID($0["uid"] as Int64), $0["modseq"] as ModSeq) }
        }
    }
}
