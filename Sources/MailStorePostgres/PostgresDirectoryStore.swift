import Foundation
import MailCore
import MailStore
import NIOCore
import PostgresNIO

/// `DirectoryStore` in the same PostgreSQL database as the mail store (an account and its mailboxes commit together).
public final class PostgresDirectoryStore: DirectoryStore {
    let store: PostgresMailStore
    var database: PostgresDatabase { store.database }

    public init(store: PostgresMailStore) {
        self.store = store
    }

    public func domains() async throws -> [DomainName] {
        try await database.rows("SELECT name FROM domain ORDER BY name").compactMap { DomainName(try $0.decode(String.self)) }
    }

    public func addDomain(_ domain: DomainName) async throws {
        let logger = store.logger, now = Int64(Date().timeIntervalSince1970)
        try await database.transaction { connection in
            let inserted = try await connection.rows(
                "INSERT INTO domain (name, created_at) VALUES (\(domain.name), \(now)) ON CONFLICT DO NOTHING RETURNING name", logger: logger)
            if inserted.isEmpty { throw MailStoreError.domainExists(domain.name) }
        }
    }

    public func removeDomain(_ domain: DomainName) async throws {
        let logger = store.logger
        try await database.transaction { connection in
            let users = try await connection.rows("SELECT count(*) FROM account WHERE domain = \(domain.name)", logger: logger)
                .first?.decode(Int.self) ?? 0
            let aliases = try await connection.rows(
                "SELECT count(*) FROM alias WHERE source = \("@" + domain.name) OR source LIKE \("%@" + domain.name)", logger: logger
            ).first?.decode(Int.self) ?? 0
            guard users == 0, aliases == 0 else {
                throw MailStoreError.domainNotEmpty("\(domain.name) still has \(users) user(s) and \(aliases) alias(es)")
            }
            let deleted = try await connection.rows("DELETE FROM domain WHERE name = \(domain.name) RETURNING name", logger: logger)
            if deleted.isEmpty { throw MailStoreError.domainNotFound(domain.name) }
        }
    }

    public func accounts(in domain: DomainName?) async throws -> [AccountRecord] {
        let rows: [PostgresRow]
        if let domain {
            rows = try await database.rows("\(unescaped: Self.accountSelect) WHERE domain = \(domain.name) ORDER BY address")
        } else {
            rows = try await database.rows("\(unescaped: Self.accountSelect) ORDER BY domain, address")
        }
        return try rows.compactMap(Self.account(from:))
    }

    public func account(address: EmailAddress) async throws -> AccountRecord? {
        try await database.rows("\(unescaped: Self.accountSelect) WHERE address = \(address.normalized)").first.flatMap(Self.account(from:))
    }

    public func account(id: AccountID) async throws -> AccountRecord? {
        try await database.rows("\(unescaped: Self.accountSelect) WHERE id = \(id.rawValue)").first.flatMap(Self.account(from:))
    }

    public func addAccount(
        address: EmailAddress, credential: String, mailboxes: [(name: String, specialUse: SpecialUse?)]
    ) async throws -> AccountRecord {
        let logger = store.logger, now = Int64(Date().timeIntervalSince1970)
        let mailboxes = mailboxes.map { MailboxSpec(name: $0.name, specialUse: $0.specialUse) }
        return try await database.transaction { connection in
            guard try await !connection.rows("SELECT 1 FROM domain WHERE name = \(address.domain.name)", logger: logger).isEmpty else {
                throw MailStoreError.domainNotFound(address.domain.name)
            }
            let inserted = try await connection.rows("""
                INSERT INTO account (address, display_address, domain, credential, created_at)
                VALUES (\(address.normalized), \(address.description), \(address.domain.name), \(credential), \(now))
                ON CONFLICT (address) DO NOTHING RETURNING id
                """, logger: logger)
            guard let row = inserted.first else { throw MailStoreError.accountExists(address.description) }
            let id = AccountID(Int64(try row.decode(Int.self)))
            for mailbox in mailboxes {
                _ = try await PostgresMailStore.insertMailbox(connection, logger: logger, account: id, name: mailbox.name, specialUse: mailbox.specialUse)
                try await connection.run(
                    "INSERT INTO subscription (account_id, name) VALUES (\(id.rawValue), \(mailbox.name)) ON CONFLICT DO NOTHING", logger: logger)
            }
            return AccountRecord(id: id, address: address, credential: credential, disabled: false)
        }
    }

    private struct MailboxSpec: Sendable {
        var name: String
        var specialUse: SpecialUse?
    }

    public func setCredential(address: EmailAddress, credential: String) async throws {
        try await updateAccount(address) { "UPDATE account SET credential = \(credential) WHERE address = \($0) RETURNING id" }
    }

    public func setQuota(address: EmailAddress, quota: Int64?) async throws {
        let quota = quota.map(Int.init)
        try await updateAccount(address) { "UPDATE account SET quota = \(quota) WHERE address = \($0) RETURNING id" }
    }

    public func removeAccount(address: EmailAddress) async throws {
        try await updateAccount(address) { "DELETE FROM account WHERE address = \($0) RETURNING id" }
    }

    private func updateAccount(_ address: EmailAddress, _ statement: @Sendable (String) -> PostgresQuery) async throws {
        let logger = store.logger, normalized = address.normalized
        try await database.transaction { connection in
            if try await connection.rows(statement(normalized), logger: logger).isEmpty {
                throw MailStoreError.accountNotFound(address.description)
            }
        }
    }

    public func aliases() async throws -> [AliasRecord] {
        try await database.rows("SELECT source, target FROM alias ORDER BY source, target").compactMap { row in
            let (source, target) = try row.decode((String, String).self)
            return EmailAddress(target).map { AliasRecord(source: source, target: $0) }
        }
    }

    public func aliasTargets(source: String) async throws -> [EmailAddress] {
        try await database.rows("SELECT target FROM alias WHERE source = \(source.lowercased()) ORDER BY target")
            .compactMap { EmailAddress(try $0.decode(String.self)) }
    }

    public func addAlias(_ alias: AliasRecord) async throws {
        let logger = store.logger
        let source = alias.source.lowercased(), target = alias.target.description
        let domain = String(source[source.index(after: source.lastIndex(of: "@") ?? source.startIndex)...])
        try await database.transaction { connection in
            guard try await !connection.rows("SELECT 1 FROM domain WHERE name = \(domain)", logger: logger).isEmpty else {
                throw MailStoreError.domainNotFound(domain)
            }
            let inserted = try await connection.rows(
                "INSERT INTO alias (source, target) VALUES (\(source), \(target)) ON CONFLICT DO NOTHING RETURNING source", logger: logger)
            if inserted.isEmpty { throw MailStoreError.aliasExists("\(alias.source) → \(alias.target)") }
        }
    }

    public func removeAlias(source: String, target: EmailAddress?) async throws {
        let logger = store.logger, source = source.lowercased(), target = target?.description
        try await database.transaction { connection in
            let deleted: [PostgresRow]
            if let target {
                deleted = try await connection.rows("DELETE FROM alias WHERE source = \(source) AND target = \(target) RETURNING source", logger: logger)
            } else {
                deleted = try await connection.rows("DELETE FROM alias WHERE source = \(source) RETURNING source", logger: logger)
            }
            if deleted.isEmpty { throw MailStoreError.aliasNotFound(source) }
        }
    }

    public func setDisabled(address: EmailAddress, disabled: Bool) async throws {
        try await updateAccount(address) { "UPDATE account SET disabled = \(disabled) WHERE address = \($0) RETURNING id" }
    }

    public func setTrustedRelay(address: EmailAddress, trusted: Bool) async throws {
        try await updateAccount(address) { "UPDATE account SET trusted_relay = \(trusted) WHERE address = \($0) RETURNING id" }
    }

    public func revokedAccounts(among ids: [AccountID]) async throws -> Set<AccountID> {
        guard !ids.isEmpty else { return [] }
        let wanted = Set(ids)
        let values = wanted.map { Int($0.rawValue) }
        let active = try await database.rows("SELECT id FROM account WHERE id = ANY(\(values)) AND NOT disabled")
            .map { AccountID(Int64(try $0.decode(Int.self))) }
        return wanted.subtracting(active)
    }

    public func sendAsGrants(account: AccountID) async throws -> [String] {
        try await database.rows("SELECT grant_address FROM send_as WHERE account_id = \(Int(account.rawValue)) ORDER BY grant_address")
            .map { try $0.decode(String.self) }
    }

    public func addSendAsGrant(account: AccountID, grant: String) async throws {
        let logger = store.logger, grant = grant.lowercased(), id = Int(account.rawValue)
        try await database.transaction { connection in
            try await connection.run(
                "INSERT INTO send_as (account_id, grant_address) VALUES (\(id), \(grant)) ON CONFLICT DO NOTHING", logger: logger)
        }
    }

    public func removeSendAsGrant(account: AccountID, grant: String) async throws -> Bool {
        let logger = store.logger, grant = grant.lowercased(), id = Int(account.rawValue)
        return try await database.transaction { connection in
            try await !connection.rows(
                "DELETE FROM send_as WHERE account_id = \(id) AND grant_address = \(grant) RETURNING account_id", logger: logger).isEmpty
        }
    }

    public func recordAuthenticationFailure(keys: [String], now: Int64, window: Int64) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        let logger = store.logger, keys = Array(Set(keys)).sorted(), cutoff = Int(now - window), now = Int(now)
        return try await database.transaction { connection in
            try await connection.run("DELETE FROM auth_failure WHERE last_failure <= \(cutoff)", logger: logger)
            let rows = try await connection.rows("""
                INSERT INTO auth_failure (key, failures, last_failure) SELECT k, 1, \(now) FROM unnest(\(keys)::text[]) AS k
                ON CONFLICT (key) DO UPDATE SET failures = auth_failure.failures + 1, last_failure = EXCLUDED.last_failure
                RETURNING failures
                """, logger: logger)
            return try rows.map { try $0.decode(Int.self) }.max() ?? 0
        }
    }

    public func authenticationFailures(keys: [String], now: Int64, window: Int64) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        let cutoff = Int(now - window)
        return try await database.rows(
            "SELECT coalesce(max(failures), 0) FROM auth_failure WHERE key = ANY(\(keys)) AND last_failure > \(cutoff)"
        ).first?.decode(Int.self) ?? 0
    }

    public func clearAuthenticationFailures(keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        let logger = store.logger
        try await database.transaction { connection in
            try await connection.run("DELETE FROM auth_failure WHERE key = ANY(\(keys))", logger: logger)
        }
    }

    public func authenticationSecret() async throws -> [UInt8] {
        guard let row = try await database.rows("SELECT value FROM secret WHERE name = 'authentication'").first else {
            throw MailStoreError.storage("the store has no authentication secret (migration 6 missing)")
        }
        let bytes = try row.decode(ByteBuffer.self)
        return Array(bytes.readableBytesView)
    }

    static let accountSelect = "SELECT id, display_address, credential, disabled, quota, trusted_relay FROM account"

    static func account(from row: PostgresRow) throws -> AccountRecord? {
        let (id, display, credential, disabled, quota, trusted) = try row.decode((Int, String, String, Bool, Int?, Bool).self)
        guard let address = EmailAddress(display) else { return nil }
        return AccountRecord(
            id: AccountID(Int64(id)), address: address, credential: credential, disabled: disabled, quota: quota.map(Int64.init),
            trustedRelay: trusted)
    }
}
