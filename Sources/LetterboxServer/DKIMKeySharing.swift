import Foundation
import Logging
import MailStorePostgres

/// DKIM keys shared by the nodes of one PostgreSQL store. The database holds them (`dkim_key`); each node mirrors them
/// into its `DATA_DIR/dkim/`, where signing, `letterbox dns` and `doctor` read them. `domain add` and `dkim rotate`
/// on any node store the new keys in the database; every node's `serve` picks them up within `interval`
/// (and signs with them: the signer cache reloads when the `active` file changes).
struct DKIMKeySharing: Sendable {
    /// How often `serve` reads the shared keys: a rotation on one node reaches the others within it.
    static let interval: Duration = .seconds(30)

    let store: PostgresMailStore
    let keys: DKIMKeyStore

    /// Brings keys only this node has (from before the keys were shared) to the database for domains it has none of,
    /// then mirrors the database's keys to disk. Returns the domains whose keys on disk changed.
    @discardableResult
    func synchronize() async throws -> [String] {
        var shared = try await store.dkimKeys()
        // Only domains the database has no keys of are offered (one short transaction each); after the first round
        // that is none, so the periodic run is one read.
        let covered = Set(shared.map { $0.domain.lowercased() })
        let unshared = keys.allKeys().filter { !covered.contains($0.domain.lowercased()) }
        if !unshared.isEmpty {
            try await store.importDKIMKeys(unshared.map { StoredDKIMKey(domain: $0.domain, selector: $0.selector, pem: $0.pem, isActive: $0.isActive) })
            shared = try await store.dkimKeys()
        }
        return try keys.mirror(shared.map { ($0.domain, $0.selector, $0.pem, $0.isActive) })
    }

    /// New keys made on this node (`domain add`, `dkim rotate`): into the database, active from now on everywhere.
    func publish(domain: String, selectors: [String]) async throws {
        let made = keys.selectors(domain: domain).filter { selectors.contains($0.name) }
        try await store.addDKIMKeys(domain: domain, keys: made.map { ($0.name, $0.key.pemRepresentation) })
    }
}

extension DKIMKeySharing {
    /// `serve`'s part on PostgreSQL: `synchronize` every `interval`.
    func service(logger: Logger) -> PeriodicService {
        PeriodicService(interval: Self.interval, logger: logger, failure: "cannot read the shared DKIM keys; signing with the keys on disk") {
            let changed = try await synchronize()
            if !changed.isEmpty {
                logger.info("DKIM keys updated from the shared database", metadata: ["domains": "\(changed.joined(separator: ","))"])
            }
        }
    }
}
