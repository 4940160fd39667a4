import Foundation
import MailStorePostgres

extension Doctor {
    /// The store: for PostgreSQL, that it answers, that the connection is encrypted and the server verified (unless it
    /// is on this machine), that the schema is current, and which nodes share it.
    func storeChecks(_ system: MailSystem) async -> [DoctorCheck] {
        guard let store = system.postgres else {
            return [.pass("store", "SQLite in \(configuration.dataDirectory)/letterbox.sqlite (one node)")]
        }
        let database = store.database
        let location = database.location
        do {
            try await database.ready()
        } catch {
            return [.fail("store: PostgreSQL", "\(error)", fix: "check store.url, store.password_file and that PostgreSQL accepts this host (pg_hba.conf)")]
        }
        var checks: [DoctorCheck] = [.pass("store: PostgreSQL", "\(location) answers, schema version \((try? await database.schemaVersion()) ?? 0)")]
        if let settings = try? await database.durabilitySettings() {
            let durable = settings.fsync == "on" && settings.synchronousCommit != "off"
            checks.append(durable
                ? .pass("store: durability", "fsync = on, synchronous_commit = \(settings.synchronousCommit): a 250 means the message is on disk")
                : .fail("store: durability", "fsync = \(settings.fsync), synchronous_commit = \(settings.synchronousCommit): an acknowledged message can be lost in a crash",
                        fix: "set fsync = on and synchronous_commit = on in postgresql.conf (or for the role: ALTER ROLE … SET synchronous_commit = on)"))
        }
        checks.append(Self.storeTLSCheck(location, encrypted: (try? await database.connectionIsEncrypted()) ?? false))
        if let nodes = try? await store.liveNodes(within: Int64(configuration.store.claimTimeoutSeconds)) {
            checks.append(DoctorCheck(name: "store: nodes", passed: true,
                                      detail: nodes.isEmpty ? "no node has delivered recently" : "\(nodes.count) node(s) alive: \(nodes.joined(separator: ", "))",
                                      required: false))
        }
        return checks
    }

    /// A database on this machine may go without TLS; any other must be reached with `verify-full`, or a man in the
    /// middle reads every password and message.
    static func storeTLSCheck(_ location: PostgresLocation, encrypted: Bool) -> DoctorCheck {
        let local = ["localhost", "127.0.0.1", "::1"].contains(location.host) || location.host.hasPrefix("/")
        if location.tls == .verifyFull && encrypted { return .pass("store: TLS", "encrypted, server certificate and name verified") }
        if local { return .pass("store: TLS", "database on this machine (\(encrypted ? "encrypted" : "not encrypted"))") }
        return .fail(
            "store: TLS", encrypted ? "encrypted, but the server's certificate is not verified (sslmode=\(location.tls.rawValue))"
                : "not encrypted: passwords and mail cross the network in clear",
            fix: "add ?sslmode=verify-full&sslrootcert=/path/to/ca.pem to store.url (and ssl = on in postgresql.conf)")
    }
}
