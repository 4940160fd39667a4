import Foundation
import GRDB
import MailCore
import MailStore

/// `DirectoryStore` on the same SQLite database as the mail store (accounts and their mailboxes commit together).
public final class SQLiteDirectoryStore: DirectoryStore {
    let store: SQLiteMailStore

    public init(store: SQLiteMailStore) {
        self.store = store
    }

    public func domains() async throws -> [DomainName] {
        try await store.read { db in try String.fetchAll(db, sql: "SELECT name FROM domain ORDER BY name").compactMap(DomainName.init) }
    }

    public func addDomain(_ domain: DomainName) async throws {
        try await store.write { db in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM domain WHERE name = ?)", arguments: [domain.name]) == true {
                throw MailStoreError.domainExists(domain.name)
            }
            try db.execute(sql: "INSERT INTO domain (name, created_at) VALUES (?, ?)", arguments: [domain.name, Int64(Date().timeIntervalSince1970)])
        }
    }

    public func removeDomain(_ domain: DomainName) async throws {
        try await store.write { db in
            let users = try Int.fetchOne(db, sql: "SELECT count(*) FROM account WHERE domain = ?", arguments: [domain.name]) ?? 0
            let aliases = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM alias WHERE source = ? OR source LIKE ?", arguments: ["@" + domain.name, "%@" + domain.name]) ?? 0
            guard users == 0, aliases == 0 else {
                throw MailStoreError.domainNotEmpty("\(domain.name) still has \(users) user(s) and \(aliases) alias(es)")
            }
            try db.execute(sql: "DELETE FROM domain WHERE name = ?", arguments: [domain.name])
            if db.changesCount == 0 { throw MailStoreError.domainNotFound(domain.name) }
        }
    }

    public func accounts(in domain: DomainName?) async throws -> [AccountRecord] {
        try await store.read { db in
            if let domain {
                return try Row.fetchAll(db, sql: "\(Self.accountSelect) WHERE domain = ? ORDER BY address", arguments: [domain.name])
                    .compactMap(Self.account(from:))
            }
            return try Row.fetchAll(db, sql: "\(Self.accountSelect) ORDER BY domain, address").compactMap(Self.account(from:))
        }
    }

    public func account(address: EmailAddress) async throws -> AccountRecord? {
        try await store.read { db in
            try Row.fetchOne(db, sql: "\(Self.accountSelect) WHERE address = ?", arguments: [address.normalized]).flatMap(Self.account(from:))
        }
    }

    public func account(id: AccountID) async throws -> AccountRecord? {
        try await store.read { db in
            try Row.fetchOne(db, sql: "\(Self.accountSelect) WHERE id = ?", arguments: [id.rawValue]).flatMap(Self.account(from:))
        }
    }

    public func addAccount(
        address: EmailAddress, credential: String, mailboxes: [(name: String, specialUse: SpecialUse?)]
    ) async throws -> AccountRecord {
        let mailboxes = mailboxes.map { ($0.name, $0.specialUse) }
        return try await store.write { db in
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM domain WHERE name = ?)", arguments: [address.domain.name]) == true else {
                throw MailStoreError.domainNotFound(address.domain.name)
            }
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM account WHERE address = ?)", arguments: [address.normalized]) == true {
                throw MailStoreError.accountExists(address.description)
            }
            try db.execute(sql: """
                INSERT INTO account (address, display_address, domain, credential, created_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [address.normalized, address.description, address.domain.name, credential, Int64(Date().timeIntervalSince1970)])
            let id = AccountID(db.lastInsertedRowID)
            for (name, specialUse) in mailboxes {
                _ = try SQLiteMailStore.insertMailbox(db, account: id, name: name, specialUse: specialUse)
                try db.execute(sql: "INSERT OR IGNORE INTO subscription (account_id, name) VALUES (?, ?)", arguments: [id.rawValue, name])
            }
            return AccountRecord(id: id, address: address, credential: credential, disabled: false)
        }
    }

    public func setCredential(address: EmailAddress, credential: String) async throws {
        try await store.write { db in
            try db.execute(sql: "UPDATE account SET credential = ? WHERE address = ?", arguments: [credential, address.normalized])
            if db.changesCount == 0 { throw MailStoreError.accountNotFound(address.description) }
        }
    }

    public func setQuota(address: EmailAddress, quota: Int64?) async throws {
        try await store.write { db in
            try db.execute(sql: "UPDATE account SET quota = ? WHERE address = ?", arguments: [quota, address.normalized])
            if db.changesCount == 0 { throw MailStoreError.accountNotFound(address.description) }
        }
    }

    public func removeAccount(address: EmailAddress) async throws {
        try await store.write { db in
            try db.execute(sql: "DELETE FROM account WHERE address = ?", arguments: [address.normalized])
            if db.changesCount == 0 { throw MailStoreError.accountNotFound(address.description) }
        }
    }

    public func aliases() async throws -> [AliasRecord] {
        try await store.read { db in
            try Row.fetchAll(db, sql: "SELECT source, target FROM alias ORDER BY source, target").compactMap { row in
                EmailAddress(row["target"] as String).map { AliasRecord(source: row["source"], target: $0) }
            }
        }
    }

    public func aliasTargets(source: String) async throws -> [EmailAddress] {
        try await store.read { db in
            try String.fetchAll(db, sql: "SELECT target FROM alias WHERE source = ? ORDER BY target", arguments: [source.lowercased()])
                .compactMap(EmailAddress.init)
        }
    }

    public func addAlias(_ alias: AliasRecord) async throws {
        try await store.write { db in
            let source = alias.source.lowercased()
            let domain = String(source[source.index(after: source.lastIndex(of: "@") ?? source.startIndex)...])
            guard try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM domain WHERE name = ?)", arguments: [domain]) == true else {
                throw MailStoreError.domainNotFound(domain)
            }
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM alias WHERE source = ? AND target = ?)",
                                 arguments: [source, alias.target.description]) == true {
                throw MailStoreError.aliasExists("\(alias.source) → \(alias.target)")
            }
            try db.execute(sql: "INSERT INTO alias (source, target) VALUES (?, ?)", arguments: [source, alias.target.description])
        }
    }

    public func removeAlias(source: String, target: EmailAddress?) async throws {
        try await store.write { db in
            if let target {
                try db.execute(sql: "DELETE FROM alias WHERE source = ? AND target = ?", arguments: [source.lowercased(), target.description])
            } else {
                try db.execute(sql: "DELETE FROM alias WHERE source = ?", arguments: [source.lowercased()])
            }
            if db.changesCount == 0 { throw MailStoreError.aliasNotFound(source) }
        }
    }

    public func setDisabled(address: EmailAddress, disabled: Bool) async throws {
        try await updateAccount(address, set: "disabled = ?", disabled)
    }

    public func setTrustedRelay(address: EmailAddress, trusted: Bool) async throws {
        try await updateAccount(address, set: "trusted_relay = ?", trusted)
    }

    private func updateAccount(_ address: EmailAddress, set assignment: String, _ value: Bool) async throws {
        try await store.write { db in
            try db.execute(sql: "UPDATE account SET \(assignment) WHERE address = ?", arguments: [value, address.normalized])
            if db.changesCount == 0 { throw MailStoreError.accountNotFound(address.description) }
        }
    }

    public func revokedAccounts(among ids: [AccountID]) async throws -> Set<AccountID> {
        guard !ids.isEmpty else { return [] }
        let wanted = Set(ids)
        return try await store.read { db in
            let list = wanted.map { String($0.rawValue) }.joined(separator: ",")
            let active = try Int64.fetchAll(db, sql: "SELECT id FROM account WHERE id IN (\(list)) AND disabled = 0")
            return wanted.subtracting(active.map(AccountID.init))
        }
    }

    public func sendAsGrants(account: AccountID) async throws -> [String] {
        try await store.read { db in
            try String.fetchAll(db, sql: "SELECT grant_address FROM send_as WHERE account_id = ? ORDER BY grant_address",
                                arguments: [account.rawValue])
        }
    }

    public func addSendAsGrant(account: AccountID, grant: String) async throws {
        try await store.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO send_as (account_id, grant_address) VALUES (?, ?)",
                           arguments: [account.rawValue, grant.lowercased()])
        }
    }

    public func removeSendAsGrant(account: AccountID, grant: String) async throws -> Bool {
        try await store.write { db in
            try db.execute(sql: "DELETE FROM send_as WHERE account_id = ? AND grant_address = ?",
                           arguments: [account.rawValue, grant.lowercased()])
            return db.changesCount > 0
        }
    }

    public func recordAuthenticationFailure(keys: [String], now: Int64, window: Int64) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        return try await store.write { db in
            try db.execute(sql: "DELETE FROM auth_failure WHERE last_failure <= ?", arguments: [now - window])
            var highest = 0
            for key in Set(keys) {
                let count = try Int.fetchOne(db, sql: """
                    INSERT INTO auth_failure (key, failures, last_failure) VALUES (?, 1, ?)
                    ON CONFLICT (key) DO UPDATE SET failures = failures + 1, last_failure = excluded.last_failure
                    RETURNING failures
                    """, arguments: [key, now]) ?? 1
                highest = max(highest, count)
            }
            return highest
        }
    }

    public func authenticationFailures(keys: [String], now: Int64, window: Int64) async throws -> Int {
        guard !keys.isEmpty else { return 0 }
        return try await store.read { db in
            let marks = keys.map { _ in "?" }.joined(separator: ",")
            return try Int.fetchOne(db, sql: "SELECT max(failures) FROM auth_failure WHERE key IN (\(marks)) AND last_failure > ?",
                                    arguments: StatementArguments(keys + [String(now - window)])) ?? 0
        }
    }

    public func clearAuthenticationFailures(keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        try await store.write { db in
            let marks = keys.map { _ in "?" }.joined(separator: ",")
            try db.execute(sql: "DELETE FROM auth_failure WHERE key IN (\(marks))", arguments: StatementArguments(keys))
        }
    }

    public func authenticationSecret() async throws -> [UInt8] {
        try await store.read { db in
            guard let data = try Data.fetchOne(db, sql: "SELECT value FROM secret WHERE name = 'authentication'"), data.count >= 32 else {
                throw MailStoreError.storage("the store has no authentication secret (migration v7 missing)")
            }
            return Array(data)
        }
    }

    static let accountSelect = "SELECT id, display_address, credential, disabled, quota, trusted_relay FROM account"

    static func account(from row: Row) -> AccountRecord? {
        guard let address = EmailAddress(row["display_address"] as String) else { return nil }
        return AccountRecord(id: AccountID(row["id"]), address: address, credential: row["credential"], disabled: row["disabled"],
                             quota: row["quota"], trustedRelay: row["trusted_relay"])
    }
}
