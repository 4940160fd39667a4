import Foundation
import MailStore
import PostgresNIO

/// A DKIM private key as the nodes share it: PEM text, and whether new mail is signed with it.
public struct StoredDKIMKey: Hashable, Sendable {
    public var domain: String
    public var selector: String
    public var pem: String
    public var isActive: Bool

    public init(domain: String, selector: String, pem: String, isActive: Bool) {
        self.domain = domain
        self.selector = selector
        self.pem = pem
        self.isActive = isActive
    }
}

/// DKIM keys in the shared database, so that every node signs a domain's mail with the same keys (those `letterbox dns`
/// publishes) and a rotation on one node reaches all of them. The nodes mirror them into their data directories.
extension PostgresMailStore {
    /// Every stored key, by domain and selector.
    public func dkimKeys() async throws -> [StoredDKIMKey] {
        try await database.rows("SELECT domain, selector, pem, active FROM dkim_key ORDER BY domain, selector").map { row in
            let (domain, selector, pem, active) = try row.decode((String, String, String, Bool).self)
            return StoredDKIMKey(domain: domain, selector: selector, pem: pem, isActive: active)
        }
    }

    /// Stores new keys of one domain and makes them the only active ones (`domain add`, `dkim rotate`).
    public func addDKIMKeys(domain: String, keys: [(selector: String, pem: String)]) async throws {
        let logger = logger, domain = domain.lowercased(), now = Int64(Date().timeIntervalSince1970)
        try await database.transaction { connection in
            try await connection.run("UPDATE dkim_key SET active = false WHERE domain = \(domain)", logger: logger)
            for key in keys {
                try await connection.run("""
                    INSERT INTO dkim_key (domain, selector, pem, active, created_at) VALUES (\(domain), \(key.selector), \(key.pem), true, \(now))
                    ON CONFLICT (domain, selector) DO UPDATE SET pem = EXCLUDED.pem, active = true
                    """, logger: logger)
            }
        }
    }

    /// Adds keys a node had on disk before they were shared, for domains the database has no keys of yet (the first
    /// node to start after the upgrade, or `migrate-store`, brings them). Returns the domains it took.
    @discardableResult
    public func importDKIMKeys(_ keys: [StoredDKIMKey]) async throws -> [String] {
        let logger = logger, now = Int64(Date().timeIntervalSince1970)
        var taken: [String] = []
        for (domain, domainKeys) in Dictionary(grouping: keys, by: { $0.domain.lowercased() }).sorted(by: { $0.key < $1.key }) {
            let added = try await database.transaction { connection in
                // One importer per domain at a time; a domain that has keys already keeps them.
                try await connection.run("SELECT pg_advisory_xact_lock(hashtext('dkim:' || \(domain)))", logger: logger)
                guard try await connection.rows("SELECT 1 FROM dkim_key WHERE domain = \(domain) LIMIT 1", logger: logger).isEmpty else { return false }
                for key in domainKeys {
                    try await connection.run("""
                        INSERT INTO dkim_key (domain, selector, pem, active, created_at)
                        VALUES (\(domain), \(key.selector), \(key.pem), \(key.isActive), \(now))
                        """, logger: logger)
                }
                return true
            }
            if added { taken.append(domain) }
        }
        return taken
    }
}
