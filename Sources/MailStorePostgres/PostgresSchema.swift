import Logging
import MailStore
import PostgresNIO

/// The schema, as numbered migrations. Each runs in its own transaction after taking a transaction-level advisory lock, so
/// when several nodes start at once one migrates and the others wait, then find nothing left to do.
enum PostgresSchema {
    /// `pg_advisory_xact_lock` key: "LBOX" in ASCII.
    static let lockKey: Int64 = 0x4C42_4F58

    static let migrations: [(version: Int, name: String, sql: [String])] = [
        (1, "directory, mailboxes, messages, blobs", [
            """
            CREATE TABLE domain (name text PRIMARY KEY, created_at bigint NOT NULL)
            """,
            """
            CREATE TABLE account (
                id bigserial PRIMARY KEY,
                address text NOT NULL UNIQUE,
                display_address text NOT NULL,
                domain text NOT NULL REFERENCES domain(name),
                credential text NOT NULL,
                disabled boolean NOT NULL DEFAULT false,
                quota bigint,
                created_at bigint NOT NULL
            )
            """,
            "CREATE TABLE alias (source text NOT NULL, target text NOT NULL, PRIMARY KEY (source, target))",
            // UIDVALIDITY: one store-wide counter seeded with the clock, never reused (RFC 9051 §2.3.1.1).
            "CREATE SEQUENCE uid_validity_seq MINVALUE 1 MAXVALUE 4294967294 CYCLE",
            "SELECT setval('uid_validity_seq', greatest(1, extract(epoch from now())::bigint & 2147483647))",
            """
            CREATE TABLE mailbox (
                id bigserial PRIMARY KEY,
                account_id bigint NOT NULL REFERENCES account(id) ON DELETE CASCADE,
                name text NOT NULL,
                uid_validity bigint NOT NULL,
                uid_next bigint NOT NULL,
                highest_modseq bigint NOT NULL,
                special_use text,
                UNIQUE (account_id, name)
            )
            """,
            """
            CREATE TABLE subscription (
                account_id bigint NOT NULL REFERENCES account(id) ON DELETE CASCADE,
                name text NOT NULL,
                PRIMARY KEY (account_id, name)
            )
            """,
            """
            CREATE TABLE message (
                mailbox_id bigint NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                uid bigint NOT NULL,
                modseq bigint NOT NULL,
                flags integer NOT NULL,
                keywords text NOT NULL,
                internal_date bigint NOT NULL,
                zone integer NOT NULL,
                size bigint NOT NULL,
                blob text NOT NULL,
                recent boolean NOT NULL,
                PRIMARY KEY (mailbox_id, uid)
            )
            """,
            "CREATE INDEX message_modseq ON message (mailbox_id, modseq)",
            "CREATE INDEX message_blob ON message (blob)",
            """
            CREATE TABLE summary (
                blob text PRIMARY KEY,
                envelope bytea NOT NULL,
                bodystructure bytea NOT NULL,
                body bytea NOT NULL,
                search_text text NOT NULL
            )
            """,
            """
            CREATE TABLE expunged (
                mailbox_id bigint NOT NULL REFERENCES mailbox(id) ON DELETE CASCADE,
                uid bigint NOT NULL,
                modseq bigint NOT NULL,
                PRIMARY KEY (mailbox_id, uid)
            )
            """,
            "CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq)",
            // Message bytes, content-addressed, in chunks of at most 1 MiB so a big message is never one huge row.
            "CREATE TABLE blob (id text PRIMARY KEY, size bigint NOT NULL, created_at bigint NOT NULL)",
            """
            CREATE TABLE blob_chunk (
                blob_id text NOT NULL REFERENCES blob(id) ON DELETE CASCADE,
                seq integer NOT NULL,
                data bytea NOT NULL,
                PRIMARY KEY (blob_id, seq)
            )
            """,
        ]),
        (2, "outbound queue shared by the nodes", [
            """
            CREATE TABLE queue_message (
                id text PRIMARY KEY,
                sender text NOT NULL,
                blob text NOT NULL,
                size bigint NOT NULL,
                envelope_json text NOT NULL,
                created_at bigint NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at bigint NOT NULL,
                last_error text,
                delay_warned boolean NOT NULL DEFAULT false,
                claimed_by text,
                claimed_at bigint
            )
            """,
            "CREATE INDEX queue_due ON queue_message (next_attempt_at)",
            "CREATE INDEX queue_blob ON queue_message (blob)",
            """
            CREATE TABLE queue_recipient (
                queue_id text NOT NULL REFERENCES queue_message(id) ON DELETE CASCADE,
                address text NOT NULL,
                notify text,
                orcpt text,
                status text NOT NULL DEFAULT 'pending',
                last_error text,
                PRIMARY KEY (queue_id, address)
            )
            """,
            """
            CREATE TABLE queue_event (
                id bigserial PRIMARY KEY,
                queue_id text NOT NULL,
                at bigint NOT NULL,
                recipient text NOT NULL,
                outcome text NOT NULL,
                detail text NOT NULL
            )
            """,
            "CREATE INDEX queue_event_at ON queue_event (at)",
            // One row per running node; a node whose heartbeat is older than the claim timeout has its claims taken over.
            "CREATE TABLE node (id text PRIMARY KEY, name text NOT NULL, started_at bigint NOT NULL, last_seen bigint NOT NULL)",
        ]),
        // SELECT claims \Recent messages: without it, finding that none is recent read every row of the mailbox.
        (3, "index of recent messages", [
            "CREATE INDEX message_recent ON message (mailbox_id, uid) WHERE recent",
        ]),
        (4, "released blobs", [
            // Garbage collection's work list (as in SQLite's v6): a blob whose message or queue entry was deleted, and
            // when; filled by triggers, so it is part of every deleting transaction, the cascades included.
            "CREATE TABLE blob_release (blob text PRIMARY KEY, released_at bigint NOT NULL)",
            "CREATE INDEX blob_release_at ON blob_release (released_at)",
            """
            CREATE FUNCTION release_blob() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO blob_release (blob, released_at) VALUES (OLD.blob, extract(epoch FROM now())::bigint)
                ON CONFLICT (blob) DO UPDATE SET released_at = EXCLUDED.released_at;
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER message_releases_blob AFTER DELETE ON message FOR EACH ROW EXECUTE FUNCTION release_blob()",
            "CREATE TRIGGER queue_message_releases_blob AFTER DELETE ON queue_message FOR EACH ROW EXECUTE FUNCTION release_blob()",
        ]),
        (5, "DKIM keys shared by the nodes", [
            // Every node signs with the same keys: they live here, and each node mirrors them into DATA_DIR/dkim/.
            """
            CREATE TABLE dkim_key (
                domain text NOT NULL,
                selector text NOT NULL,
                pem text NOT NULL,
                active boolean NOT NULL,
                created_at bigint NOT NULL,
                PRIMARY KEY (domain, selector)
            )
            """,
        ]),
        (6, "sender integrity and the authentication secret", [
            // As SQLite's v7: send-as grants, trusted relays, and the store's secret shared by every node.
            "ALTER TABLE account ADD COLUMN trusted_relay boolean NOT NULL DEFAULT false",
            """
            CREATE TABLE send_as (
                account_id bigint NOT NULL REFERENCES account(id) ON DELETE CASCADE,
                grant_address text NOT NULL,
                PRIMARY KEY (account_id, grant_address)
            )
            """,
            "CREATE TABLE secret (name text PRIMARY KEY, value bytea NOT NULL)",
            "CREATE TABLE auth_failure (key text PRIMARY KEY, failures integer NOT NULL, last_failure bigint NOT NULL)",
            // gen_random_uuid() is built in since PostgreSQL 13 and draws from the strong random source.
            """
            INSERT INTO secret (name, value) VALUES ('authentication',
                sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')))
            """,
        ]),
    ]

    /// Brings the schema to the latest version. Safe to run from several nodes at once.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        for migration in migrations {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.run("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
                try await connection.run("""
                    CREATE TABLE IF NOT EXISTS schema_migration (
                        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: logger)
                let done = try await connection.rows("SELECT 1 FROM schema_migration WHERE version = \(migration.version)", logger: logger)
                guard done.isEmpty else { return }
                for statement in migration.sql { try await connection.run(PostgresQuery(unsafeSQL: statement), logger: logger) }
                try await connection.run("INSERT INTO schema_migration (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                logger.info("PostgreSQL schema migrated", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            }
        }
    }
}
