import Foundation
import Logging
import MailCore
import MailStore
import NIOCore
import PostgresNIO

/// `MailStore` on PostgreSQL, shared by every node. A mailbox's UIDs and modseqs come from its row, updated under the
/// row lock, so concurrent appends from different nodes commit in allocation order.
public final class PostgresMailStore: MailStore {
    public let database: PostgresDatabase
    public let blobs: any BlobStore
    public let changes: MailboxChangeFeed
    /// This process's name in `NOTIFY` payloads and queue claims (random per start).
    public let nodeID: String
    /// Seconds after a node's last heartbeat when its queue claims may be taken over by another node.
    public let claimTimeout: Int64
    static let channel = "letterbox_changes"

    public init(
        database: PostgresDatabase, blobs: (any BlobStore)? = nil, changes: MailboxChangeFeed = MailboxChangeFeed(), claimTimeout: Int64 = 60
    ) {
        self.database = database
        self.blobs = blobs ?? PostgresBlobStore(database: database)
        self.changes = changes
        self.claimTimeout = claimTimeout
        nodeID = String(UUID().uuidString.prefix(13)).lowercased()
    }

    var logger: Logger { database.logger }

    // MARK: Mailboxes

    public func mailboxes(of account: AccountID) async throws -> [MailboxInfo] {
        try await database.rows("\(unescaped: Self.mailboxSelect) WHERE m.account_id = \(account.rawValue) ORDER BY m.name")
            .map(Self.mailbox(from:))
    }

    public func mailbox(of account: AccountID, named name: String) async throws -> MailboxInfo? {
        let name = Self.canonical(name)
        return try await database.rows("\(unescaped: Self.mailboxSelect) WHERE m.account_id = \(account.rawValue) AND m.name = \(name)")
            .first.map(Self.mailbox(from:))
    }

    public func mailbox(id: MailboxID) async throws -> MailboxInfo? {
        try await database.rows("\(unescaped: Self.mailboxSelect) WHERE m.id = \(id.rawValue)").first.map(Self.mailbox(from:))
    }

    public func createMailbox(of account: AccountID, named name: String, specialUse: SpecialUse?) async throws -> MailboxInfo {
        let name = Self.canonical(name)
        guard Self.isValidName(name) else { throw MailStoreError.invalidMailboxName(name) }
        let logger = logger, node = nodeID
        let info = try await database.transaction { connection in
            let info = try await Self.insertMailbox(connection, logger: logger, account: account, name: name, specialUse: specialUse)
            try await Self.notifyList(connection, logger: logger, node: node, account: account)
            return info
        }
        changes.publish(.mailboxListChanged(account))
        return info
    }

    public func deleteMailbox(of account: AccountID, named name: String) async throws {
        let name = Self.canonical(name)
        guard name != "INBOX" else { throw MailStoreError.cannotDeleteInbox }
        let logger = logger, node = nodeID
        try await database.transaction { connection in
            let deleted = try await connection.rows(
                "DELETE FROM mailbox WHERE account_id = \(account.rawValue) AND name = \(name) RETURNING id", logger: logger)
            if deleted.isEmpty { throw MailStoreError.mailboxNotFound(name) }
            try await Self.notifyList(connection, logger: logger, node: node, account: account)
        }
        changes.publish(.mailboxListChanged(account))
    }

    public func renameMailbox(of account: AccountID, from: String, to: String) async throws {
        let from = Self.canonical(from), to = Self.canonical(to)
        guard Self.isValidName(to) else { throw MailStoreError.invalidMailboxName(to) }
        let logger = logger, node = nodeID
        let renamed: [(MailboxID, ModSeq)] = try await database.transaction { connection in
            let clash = try await connection.rows("""
                SELECT 1 FROM mailbox WHERE account_id = \(account.rawValue) AND (name = \(to) OR left(name, \(Int32(to.count + 1))) = \(to + "/"))
                """, logger: logger)
            guard clash.isEmpty else { throw MailStoreError.mailboxExists(to) }
            guard let source = try await connection.rows(
                "\(unescaped: Self.mailboxSelect) WHERE m.account_id = \(account.rawValue) AND m.name = \(from) FOR UPDATE OF m", logger: logger
            ).first.map(Self.mailbox(from:)) else {
                throw MailStoreError.mailboxNotFound(from)
            }
            var touched: [MailboxID] = []
            if from == "INBOX" {
                // RFC 9051 §6.3.6: INBOX's messages move to a new mailbox; INBOX stays, empty. Children of INBOX do not move.
                let target = try await Self.insertMailbox(connection, logger: logger, account: account, name: to, specialUse: nil)
                let uids = try await connection.rows("SELECT uid FROM message WHERE mailbox_id = \(source.id.rawValue) ORDER BY uid", logger: logger)
                    .map { UID(try $0.decode(Int.self)) }
                _ = try await Self.copyMessages(connection, logger: logger, uids: uids, from: source.id, to: target.id)
                _ = try await Self.expungeRows(connection, logger: logger, mailbox: source.id, uids: uids)
                touched = [source.id, target.id]
            } else {
                let prefix = from + "/", length = Int32(from.count + 1)
                touched = try await connection.rows("""
                    UPDATE mailbox SET name = \(to) || substr(name, \(length))
                    WHERE account_id = \(account.rawValue) AND (name = \(from) OR left(name, \(length)) = \(prefix)) RETURNING id
                    """, logger: logger).map { MailboxID(Int64(try $0.decode(Int.self))) }
                // Subscriptions follow; a subscription already held under the new name stays as it is.
                try await connection.run("""
                    INSERT INTO subscription (account_id, name)
                    SELECT account_id, \(to) || substr(name, \(length)) FROM subscription
                    WHERE account_id = \(account.rawValue) AND (name = \(from) OR left(name, \(length)) = \(prefix))
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
                try await connection.run("""
                    DELETE FROM subscription WHERE account_id = \(account.rawValue) AND (name = \(from) OR left(name, \(length)) = \(prefix))
                    """, logger: logger)
            }
            var result: [(MailboxID, ModSeq)] = []
            for id in touched {
                let modSeq = try await Self.highestModSeq(connection, logger: logger, mailbox: id)
                try await Self.notifyChange(connection, logger: logger, node: node, mailbox: id, modSeq: modSeq)
                result.append((id, modSeq))
            }
            try await Self.notifyList(connection, logger: logger, node: node, account: account)
            return result
        }
        for (id, modSeq) in renamed { changes.publish(.changed(id, highestModSeq: modSeq)) }
        changes.publish(.mailboxListChanged(account))
    }

    public func setSubscribed(of account: AccountID, name: String, _ subscribed: Bool) async throws {
        let name = Self.canonical(name)
        let logger = logger
        try await database.transaction { connection in
            if subscribed {
                try await connection.run(
                    "INSERT INTO subscription (account_id, name) VALUES (\(account.rawValue), \(name)) ON CONFLICT DO NOTHING", logger: logger)
            } else {
                try await connection.run("DELETE FROM subscription WHERE account_id = \(account.rawValue) AND name = \(name)", logger: logger)
            }
        }
    }

    public func subscriptions(of account: AccountID) async throws -> [String] {
        try await database.rows("SELECT name FROM subscription WHERE account_id = \(account.rawValue) ORDER BY name")
            .map { try $0.decode(String.self) }
    }

    public func status(of mailbox: MailboxID) async throws -> MailboxStatus {
        // One pass over the mailbox's messages for all five counters.
        let rows = try await database.rows("""
            SELECT m.uid_next, m.uid_validity, m.highest_modseq, c.messages, c.unseen, c.deleted, c.recent, c.size
            FROM mailbox m CROSS JOIN LATERAL (
                SELECT count(*) AS messages,
                       count(*) FILTER (WHERE flags & \(SystemFlags.seen.rawValue) = 0) AS unseen,
                       count(*) FILTER (WHERE flags & \(SystemFlags.deleted.rawValue) != 0) AS deleted,
                       count(*) FILTER (WHERE recent) AS recent,
                       coalesce(sum(size), 0)::bigint AS size
                FROM message WHERE mailbox_id = m.id) AS c
            WHERE m.id = \(mailbox.rawValue)
            """)
        guard let row = rows.first else { throw MailStoreError.mailboxNotFound(mailbox.description) }
        let (uidNext, uidValidity, highest, messages, unseen, deleted, recent, size) =
            try row.decode((Int, Int, Int, Int, Int, Int, Int, Int).self)
        return MailboxStatus(messages: messages, unseen: unseen, deleted: deleted, recent: recent, size: Int64(size),
                             uidNext: UID(uidNext), uidValidity: UInt32(uidValidity), highestModSeq: ModSeq(highest))
    }

    // MARK: Messages

    public func append(_ messages: [NewMessage], to mailbox: MailboxID) async throws -> UIDMapping {
        for message in messages where try await !blobs.contains(message.blob) { throw MailStoreError.blobMissing(message.blob) }
        let logger = logger, node = nodeID
        if messages.count == 1 {
            let (uidValidity, uid, modSeq) = try await insertOne(messages[0], into: mailbox)
            changes.publish(.changed(mailbox, highestModSeq: modSeq))
            return UIDMapping(uidValidity: uidValidity, source: [], destination: [uid])
        }
        let (mapping, modSeq) = try await database.transaction { connection in
            let (uidValidity, uids, modSeq) = try await Self.insertMessages(connection, logger: logger, messages, into: mailbox)
            try await Self.notifyChange(connection, logger: logger, node: node, mailbox: mailbox, modSeq: modSeq)
            return (UIDMapping(uidValidity: uidValidity, source: [], destination: uids), modSeq)
        }
        changes.publish(.changed(mailbox, highestModSeq: modSeq))
        return mapping
    }

    public func deliver(_ message: NewMessage, to mailboxes: [MailboxID]) async throws -> [MailboxID: UID] {
        guard try await blobs.contains(message.blob) else { throw MailStoreError.blobMissing(message.blob) }
        let logger = logger, node = nodeID
        // Mailbox rows are locked in id order, so two deliveries to overlapping sets of mailboxes cannot deadlock.
        let targets = Set(mailboxes).sorted { $0.rawValue < $1.rawValue }
        let result: [(MailboxID, UID, ModSeq)]
        if targets.count == 1 {
            let (_, uid, modSeq) = try await insertOne(message, into: targets[0])
            result = [(targets[0], uid, modSeq)]
        } else {
            result = try await database.transaction { connection in
                var result: [(MailboxID, UID, ModSeq)] = []
                for mailbox in targets {
                    let rows = try await connection.rows(Self.insertOne(message, into: mailbox, node: node), logger: logger)
                    let (_, uid, modSeq) = try await Self.insertedOne(rows, mailbox: mailbox) {
                        try await !connection.rows("SELECT 1 FROM mailbox WHERE id = \(mailbox.rawValue)", logger: logger).isEmpty
                    }
                    result.append((mailbox, uid, modSeq))
                }
                return result
            }
        }
        for (mailbox, _, modSeq) in result { changes.publish(.changed(mailbox, highestModSeq: modSeq)) }
        return Dictionary(uniqueKeysWithValues: result.map { ($0.0, $0.1) })
    }

    /// `insertOne` on its own: one statement, so one round trip and atomic without a transaction around it.
    private func insertOne(_ message: NewMessage, into mailbox: MailboxID) async throws -> (uidValidity: UInt32, uid: UID, modSeq: ModSeq) {
        let rows = try await database.rows(Self.insertOne(message, into: mailbox, node: nodeID))
        return try await Self.insertedOne(rows, mailbox: mailbox) { try await self.mailbox(id: mailbox) != nil }
    }

    public func messages(in mailbox: MailboxID) async throws -> [MessageRecord] {
        try await database.rows("\(unescaped: Self.messageSelect) WHERE mailbox_id = \(mailbox.rawValue) ORDER BY uid").map(Self.message(from:))
    }

    public func messageStates(in mailbox: MailboxID) async throws -> MailboxStates {
        let logger = logger
        return try await readSnapshot(of: mailbox) { connection, _, highest in
            let states = try await connection.rows(
                "SELECT \(unescaped: Self.stateColumns) FROM message WHERE mailbox_id = \(mailbox.rawValue) ORDER BY uid", logger: logger
            ).map(Self.state(from:))
            return MailboxStates(states: states, highestModSeq: highest)
        }
    }

    /// Runs `body` in one read-only REPEATABLE READ transaction, after reading the mailbox's UIDNEXT and HIGHESTMODSEQ
    /// in it: everything `body` reads belongs to the same snapshot as those two.
    private func readSnapshot<T: Sendable>(
        of mailbox: MailboxID, _ body: @Sendable (PostgresConnection, _ uidNext: UID, _ highestModSeq: ModSeq) async throws -> T
    ) async throws -> T {
        let logger = logger
        return try await database.transaction { connection in
            try await connection.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            guard let box = try await connection.rows(
                "SELECT uid_next, highest_modseq FROM mailbox WHERE id = \(mailbox.rawValue)", logger: logger).first else {
                throw MailStoreError.mailboxNotFound(mailbox.description)
            }
            let (uidNext, highest) = try box.decode((Int, Int).self)
            return try await body(connection, UID(uidNext), ModSeq(highest))
        }
    }

    public func messages(in mailbox: MailboxID, uids: [UID]) async throws -> [MessageRecord] {
        let uids = uids.map(Int.init)
        return try await database.rows(
            "\(unescaped: Self.messageSelect) WHERE mailbox_id = \(mailbox.rawValue) AND uid = ANY(\(uids)) ORDER BY uid"
        ).map(Self.message(from:))
    }

    public func summary(in mailbox: MailboxID, uid: UID) async throws -> MessageSummary? {
        try await database.rows("""
            SELECT s.envelope, s.bodystructure, s.body, s.search_text FROM message m JOIN summary s ON s.blob = m.blob
            WHERE m.mailbox_id = \(mailbox.rawValue) AND m.uid = \(Int(uid))
            """).first.map { row in
            let (envelope, bodyStructure, body, text) = try row.decode((ByteBuffer, ByteBuffer, ByteBuffer, String).self)
            return MessageSummary(envelope: Array(buffer: envelope), bodyStructure: Array(buffer: bodyStructure), body: Array(buffer: body),
                                  searchText: text)
        }
    }

    public func searchTexts(in mailbox: MailboxID, uids: [UID]) async throws -> [UID: String] {
        let uids = uids.map(Int.init)
        var texts: [UID: String] = [:]
        for row in try await database.rows("""
            SELECT m.uid, s.search_text FROM message m JOIN summary s ON s.blob = m.blob
            WHERE m.mailbox_id = \(mailbox.rawValue) AND m.uid = ANY(\(uids))
            """) {
            let (uid, text) = try row.decode((Int, String).self)
            texts[UID(uid)] = text
        }
        return texts
    }

    public func changes(in mailbox: MailboxID, since modSeq: ModSeq) async throws -> MailboxChanges {
        // One statement, so one snapshot (READ COMMITTED takes one per statement) and one round trip: the mailbox's
        // counters, the messages changed and the UIDs expunged since `modSeq`, as they all were at one instant. Every
        // session resynchronises with this after each change it hears of, so it is the store's most frequent read.
        let id = mailbox.rawValue, since = Int(modSeq)
        let rows = try await database.rows("""
            SELECT 0, uid_next, highest_modseq, 0, '', 0::bigint, 0, 0::bigint, '' FROM mailbox WHERE id = \(id)
            UNION ALL
            SELECT 1, \(unescaped: Self.stateColumns), blob FROM message WHERE mailbox_id = \(id) AND modseq > \(since)
            UNION ALL
            SELECT 2, uid, modseq, 0, '', 0, 0, 0, '' FROM expunged WHERE mailbox_id = \(id) AND modseq > \(since)
            """)
        var counters: (uidNext: UID, highest: ModSeq)?
        var changed: [MessageRecord] = [], expunged: [UID] = []
        for row in rows {
            let columns = try row.decode((Int, Int, Int, Int, String, Int, Int, Int, String).self)
            switch columns.0 {
            case 0: counters = (UID(columns.1), ModSeq(columns.2))
            case 1: changed.append(try Self.message(columns.1, columns.2, columns.3, columns.4, columns.5, columns.6, columns.7, columns.8))
            default: expunged.append(UID(columns.1))
            }
        }
        guard let counters else { throw MailStoreError.mailboxNotFound(mailbox.description) }
        changed.sort { $0.uid < $1.uid }
        return MailboxChanges(changed: changed, expunged: expunged.sorted(), highestModSeq: counters.highest, uidNext: counters.uidNext)
    }

    public func setFlags(
        _ flags: MessageFlags, operation: FlagOperation, uids: [UID], in mailbox: MailboxID, unchangedSince: ModSeq?
    ) async throws -> (changed: [MessageRecord], failed: [UID]) {
        let logger = logger, node = nodeID
        let wanted = uids.map(Int.init)
        let result: ([MessageRecord], [UID], ModSeq?) = try await database.transaction { connection in
            // The mailbox row lock orders this change against every other writer of the mailbox.
            guard try await !connection.rows("SELECT 1 FROM mailbox WHERE id = \(mailbox.rawValue) FOR UPDATE", logger: logger).isEmpty else {
                throw MailStoreError.mailboxNotFound(mailbox.description)
            }
            let current = try await connection.rows(
                "\(unescaped: Self.messageSelect) WHERE mailbox_id = \(mailbox.rawValue) AND uid = ANY(\(wanted)) ORDER BY uid", logger: logger
            ).map(Self.message(from:))
            var (updates, failed) = planFlagChange(current, flags: flags, operation: operation, unchangedSince: unchangedSince)
            guard !updates.isEmpty else { return ([], failed, nil) }
            let updateUIDs = updates.map { Int($0.uid) }, systemFlags = updates.map(\.flags.system.rawValue)
            let keywords = updates.map(\.flags.keywordText), id = mailbox.rawValue
            // One statement: the new modseq, the rows stamped with it, and the NOTIFY to the other nodes.
            let stamped = try await connection.rows("""
                WITH m AS (
                    UPDATE mailbox SET highest_modseq = highest_modseq + 1 WHERE id = \(id) RETURNING highest_modseq
                ), changed AS (
                    UPDATE message SET flags = u.flags, keywords = u.keywords, modseq = m.highest_modseq
                    FROM m, unnest(\(updateUIDs)::bigint[], \(systemFlags)::bigint[], \(keywords)::text[]) AS u(uid, flags, keywords)
                    WHERE message.mailbox_id = \(id) AND message.uid = u.uid
                )
                SELECT m.highest_modseq FROM m, (SELECT pg_notify(\(Self.channel), \("\(node) c \(id) ") || m.highest_modseq) FROM m) AS notified
                """, logger: logger)
            guard let row = stamped.first else { throw MailStoreError.mailboxNotFound(mailbox.description) }
            let modSeq = ModSeq(try row.decode(Int.self))
            for index in updates.indices { updates[index].modSeq = modSeq }
            return (updates, failed, modSeq)
        }
        if let modSeq = result.2 { changes.publish(.changed(mailbox, highestModSeq: modSeq)) }
        return (result.0, result.1)
    }

    public func expunge(in mailbox: MailboxID, uids: [UID]?) async throws -> [UID] {
        let logger = logger, node = nodeID
        let (expunged, modSeq): ([UID], ModSeq?) = try await database.transaction { connection in
            guard try await !connection.rows("SELECT 1 FROM mailbox WHERE id = \(mailbox.rawValue) FOR UPDATE", logger: logger).isEmpty else {
                throw MailStoreError.mailboxNotFound(mailbox.description)
            }
            var deleted = try await connection.rows("""
                SELECT uid FROM message WHERE mailbox_id = \(mailbox.rawValue) AND flags & \(SystemFlags.deleted.rawValue) != 0 ORDER BY uid
                """, logger: logger).map { UID(try $0.decode(Int.self)) }
            if let uids { let wanted = Set(uids); deleted = deleted.filter(wanted.contains) }
            guard let modSeq = try await Self.expungeRows(connection, logger: logger, mailbox: mailbox, uids: deleted) else { return ([], nil) }
            try await Self.notifyChange(connection, logger: logger, node: node, mailbox: mailbox, modSeq: modSeq)
            return (deleted, modSeq)
        }
        if let modSeq { changes.publish(.changed(mailbox, highestModSeq: modSeq)) }
        return expunged
    }

    public func copy(uids: [UID], from source: MailboxID, to destination: MailboxID) async throws -> UIDMapping {
        try await transfer(uids: uids, from: source, to: destination, move: false)
    }

    public func move(uids: [UID], from source: MailboxID, to destination: MailboxID) async throws -> UIDMapping {
        try await transfer(uids: uids, from: source, to: destination, move: true)
    }

    private func transfer(uids: [UID], from source: MailboxID, to destination: MailboxID, move: Bool) async throws -> UIDMapping {
        let logger = logger, node = nodeID
        let (mapping, published): (UIDMapping, [(MailboxID, ModSeq)]) = try await database.transaction { connection in
            let ids = [source.rawValue, destination.rawValue].sorted()
            _ = try await connection.rows("SELECT id FROM mailbox WHERE id = ANY(\(ids)) ORDER BY id FOR UPDATE", logger: logger)
            let (mapping, destinationModSeq) = try await Self.copyMessages(connection, logger: logger, uids: uids, from: source, to: destination)
            guard let destinationModSeq else { return (mapping, []) }
            var published = [(destination, destinationModSeq)]
            try await Self.notifyChange(connection, logger: logger, node: node, mailbox: destination, modSeq: destinationModSeq)
            if move, let sourceModSeq = try await Self.expungeRows(connection, logger: logger, mailbox: source, uids: mapping.source) {
                try await Self.notifyChange(connection, logger: logger, node: node, mailbox: source, modSeq: sourceModSeq)
                published.append((source, sourceModSeq))
            }
            return (mapping, published)
        }
        for (mailbox, modSeq) in published { changes.publish(.changed(mailbox, highestModSeq: modSeq)) }
        return mapping
    }

    public func claimRecent(in mailbox: MailboxID) async throws -> [UID] {
        let logger = logger
        return try await database.transaction { connection in
            try await connection.rows("""
                UPDATE message SET recent = false WHERE mailbox_id = \(mailbox.rawValue) AND recent RETURNING uid
                """, logger: logger).map { UID(try $0.decode(Int.self)) }.sorted()
        }
    }

    public func recentUIDs(in mailbox: MailboxID) async throws -> [UID] {
        try await database.rows("""
            SELECT uid FROM message WHERE mailbox_id = \(mailbox.rawValue) AND recent ORDER BY uid
            """).map { UID(try $0.decode(Int.self)) }
    }

    public func usage(of account: AccountID) async throws -> Int64 {
        let rows = try await database.rows("""
            SELECT coalesce(sum(message.size), 0)::bigint FROM message JOIN mailbox ON mailbox.id = message.mailbox_id
            WHERE mailbox.account_id = \(account.rawValue)
            """)
        return Int64(try rows.first?.decode(Int.self) ?? 0)
    }

    public func isBlobReferenced(_ blob: BlobID) async throws -> Bool {
        let rows = try await database.rows("""
            SELECT EXISTS (SELECT 1 FROM message WHERE blob = \(blob.hex)) OR EXISTS (SELECT 1 FROM queue_message WHERE blob = \(blob.hex))
            """)
        return try rows.first?.decode(Bool.self) ?? true
    }

    public func collectReleasedBlobs(releasedBefore cutoff: Int64, limit: Int) async throws -> (examined: Int, removed: Int) {
        let released = try await database.rows(
            "SELECT blob, released_at FROM blob_release WHERE released_at < \(cutoff) ORDER BY released_at LIMIT \(limit)"
        ).map { row in
            let (hex, at) = try row.decode((String, Int64).self)
            return (hex: hex, at: at)
        }
        let logger = database.logger
        var removed = 0
        for entry in released {
            let blob = BlobID(hex: entry.hex)
            var forget = true
            if let blob, try await !isBlobReferenced(blob) {
                if try await blobs.remove(blob, unlessPutSince: cutoff) {
                    removed += 1
                    try await database.transaction { connection in
                        try await connection.run(
                            "DELETE FROM summary WHERE blob = \(entry.hex) AND NOT EXISTS (SELECT 1 FROM message WHERE blob = \(entry.hex))",
                            logger: logger)
                    }
                } else {
                    forget = false  // a put of the same bytes since the cutoff: looked at again next time
                }
            }
            if forget {
                try await database.transaction { connection in
                    try await connection.run(
                        "DELETE FROM blob_release WHERE blob = \(entry.hex) AND released_at = \(entry.at)", logger: logger)
                }
            }
        }
        return (released.count, removed)
    }
}
