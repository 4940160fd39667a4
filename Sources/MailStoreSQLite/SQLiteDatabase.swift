import Foundation
import GRDB
import MailStore

/// The SQLite database file of the embedded backend, opened in WAL mode with versioned migrations.
///
/// `synchronous = FULL`: a commit is on disk when it returns, so an acknowledged message survives power loss, not only a crash.
/// `cache_size = -16384`: each connection may keep 16 MiB of pages (SQLite's default is 2 MiB). The message rows of a
/// 20,000-message mailbox take about 2.5 MB, so with the default every SELECT read them again from the kernel (a `pread`
/// and a copy per page: 12 % of SELECT's time). Pages are cached only as they are read, so a small store stays small.
public final class SQLiteDatabase: Sendable {
    public let pool: DatabasePool
    public let path: String

    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch let error as DatabaseError {
            throw MailStoreError.storage("cannot open database \(path): \(error.message ?? error.description)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: directory, mailboxes, messages") { db in
            try db.execute(sql: """
                CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                CREATE TABLE domain (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
                CREATE TABLE account (
                    id INTEGER PRIMARY KEY,
                    address TEXT NOT NULL UNIQUE,          -- normalized: lower-cased
                    display_address TEXT NOT NULL,         -- as the administrator wrote it
                    domain TEXT NOT NULL REFERENCES domain(name),
                    credential TEXT NOT NULL,
                    disabled INTEGER NOT NULL DEFAULT 0,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE alias (source TEXT NOT NULL, target TEXT NOT NULL, PRIMARY KEY (source, target));
                CREATE TABLE mailbox (
                    id INTEGER PRIMARY KEY,
                    account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    uid_validity INTEGER NOT NULL,
                    uid_next INTEGER NOT NULL,
                    highest_modseq INTEGER NOT NULL,
                    special_use TEXT,
                    UNIQUE (account_id, name)
                );
                CREATE TABLE subscription (
                    account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    PRIMARY KEY (account_id, name)
                );
                CREATE TABLE message (
                    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                    uid INTEGER NOT NULL,
                    modseq INTEGER NOT NULL,
                    flags INTEGER NOT NULL,
                    keywords TEXT NOT NULL,
                    internal_date INTEGER NOT NULL,
                    zone INTEGER NOT NULL,
                    size INTEGER NOT NULL,
                    blob TEXT NOT NULL,
                    recent INTEGER NOT NULL,
                    PRIMARY KEY (mailbox_id, uid)
                ) WITHOUT ROWID;
                CREATE INDEX message_modseq ON message (mailbox_id, modseq);
                CREATE INDEX message_blob ON message (blob);
                CREATE TABLE summary (
                    blob TEXT PRIMARY KEY,
                    envelope BLOB NOT NULL,
                    bodystructure BLOB NOT NULL,
                    body BLOB NOT NULL,
                    search_text TEXT NOT NULL
                );
                CREATE TABLE expunged (
                    mailbox_id INTEGER NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                    uid INTEGER NOT NULL,
                    modseq INTEGER NOT NULL,
                    PRIMARY KEY (mailbox_id, uid)
                ) WITHOUT ROWID;
                CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);
                """)
        }
        migrator.registerMigration("v2: outbound queue") { db in
            try db.execute(sql: """
                CREATE TABLE queue_message (
                    id TEXT PRIMARY KEY,
                    sender TEXT NOT NULL,                  -- '' is the null sender <>
                    blob TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    envelope_json TEXT NOT NULL,           -- DSN/ENVID/RET/BODY/SMTPUTF8/REQUIRETLS parameters
                    created_at INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    last_error TEXT
                );
                CREATE INDEX queue_due ON queue_message (next_attempt_at);
                CREATE INDEX queue_blob ON queue_message (blob);
                CREATE TABLE queue_recipient (
                    queue_id TEXT NOT NULL REFERENCES queue_message(id) ON DELETE CASCADE,
                    address TEXT NOT NULL,
                    notify TEXT,
                    orcpt TEXT,
                    status TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | failed
                    last_error TEXT,
                    PRIMARY KEY (queue_id, address)
                );
                """)
        }
        migrator.registerMigration("v3: quotas") { db in
            try db.execute(sql: "ALTER TABLE account ADD COLUMN quota INTEGER")
        }
        migrator.registerMigration("v4: queue history") { db in
            try db.execute(sql: """
                ALTER TABLE queue_message ADD COLUMN delay_warned INTEGER NOT NULL DEFAULT 0;
                CREATE TABLE queue_event (
                    queue_id TEXT NOT NULL,
                    at INTEGER NOT NULL,
                    recipient TEXT NOT NULL,
                    outcome TEXT NOT NULL,                 -- delivered | deferred | failed | expired | bounced | warned | removed
                    detail TEXT NOT NULL
                );
                CREATE INDEX queue_event_at ON queue_event (at);
                """)
        }
        migrator.registerMigration("v5: index of recent messages") { db in
            // SELECT claims \Recent messages: without it, finding that none is recent read every row of the mailbox
            // (two thirds of a 20,000-message SELECT once the states came from the cache).
            try db.execute(sql: "CREATE INDEX message_recent ON message (mailbox_id, uid) WHERE recent = 1")
        }
        migrator.registerMigration("v6: released blobs") { db in
            // Garbage collection's work list: a blob whose message or queue entry was deleted (expunge, move, a deleted
            // mailbox or account through the cascade, a finished queue entry), with when. The collector removes those
            // still unreferenced after a grace period; triggers make it part of every deleting transaction.
            try db.execute(sql: """
                CREATE TABLE blob_release (blob TEXT PRIMARY KEY, released_at INTEGER NOT NULL) WITHOUT ROWID;
                CREATE INDEX blob_release_at ON blob_release (released_at);
                CREATE TRIGGER message_releases_blob AFTER DELETE ON message BEGIN
                    INSERT OR REPLACE INTO blob_release (blob, released_at) VALUES (old.blob, CAST(strftime('%s', 'now') AS INTEGER));
                END;
                CREATE TRIGGER queue_message_releases_blob AFTER DELETE ON queue_message BEGIN
                    INSERT OR REPLACE INTO blob_release (blob, released_at) VALUES (old.blob, CAST(strftime('%s', 'now') AS INTEGER));
                END;
                """)
        }
        migrator.registerMigration("v7: sender integrity and the authentication secret") { db in
            // Send-as grants (an address or @domain an account may use as sender besides its own), trusted relays
            // (exempt from the sender checks), and the store's secret for values every node must derive alike.
            try db.execute(sql: """
                ALTER TABLE account ADD COLUMN trusted_relay INTEGER NOT NULL DEFAULT 0;
                CREATE TABLE send_as (
                    account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
                    grant_address TEXT NOT NULL,
                    PRIMARY KEY (account_id, grant_address)
                ) WITHOUT ROWID;
                CREATE TABLE secret (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
                CREATE TABLE auth_failure (key TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO secret (name, value) VALUES ('authentication', randomblob(32));
                """)
        }
        return migrator
    }
}
