import Foundation
@testable import LetterboxServer
import MailStorePostgres
import Testing

/// Two nodes (two data directories) on one fresh database of the test PostgreSQL: they sign with the same DKIM keys.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["LETTERBOX_TEST_POSTGRES_URL"] != nil, "needs the test PostgreSQL"))
struct DKIMKeySharingTests {
    let url = ProcessInfo.processInfo.environment["LETTERBOX_TEST_POSTGRES_URL"]!

    func node(_ database: String, _ label: String) throws -> MailSystem {
        var configuration = LetterboxConfiguration()
        configuration.dataDirectory = NSTemporaryDirectory() + "dkim-\(label)-\(UUID().uuidString.prefix(8))"
        configuration.store.backend = .postgres
        configuration.store.url = url.replacingOccurrences(of: "/letterbox?", with: "/\(database)?")
        return try MailSystem(configuration: configuration, mode: .createIfMissing)
    }

    func keys(_ node: MailSystem, _ domain: String) -> [String: (pem: String, active: Bool)] {
        var keys: [String: (pem: String, active: Bool)] = [:]
        for selector in DKIMKeyStore(dataDirectory: node.configuration.dataDirectory).selectors(domain: domain) {
            keys[selector.name] = (selector.key.pemRepresentation, selector.isActive)
        }
        return keys
    }

    func same(_ a: [String: (pem: String, active: Bool)], _ b: [String: (pem: String, active: Bool)]) -> Bool {
        a.count == b.count && a.allSatisfy { name, key in b[name].map { $0.pem == key.pem && $0.active == key.active } ?? false }
    }

    @Test func nodesSignWithTheSameKeysAndFollowARotation() async throws {
        let admin = try PostgresDatabase(location: try PostgresLocation(url: url), poolSize: 2, migrate: false)
        defer { admin.shutdown() }
        let name = "dkim_" + UUID().uuidString.prefix(8).lowercased()
        try await admin.execute("CREATE DATABASE \(name)")
        do {
            let one = try node(name, "one"), two = try node(name, "two")
            defer {
                for system in [one, two] {
                    system.postgres?.database.shutdown()
                    try? FileManager.default.removeItem(atPath: system.configuration.dataDirectory)
                }
            }
            // A node that had keys of its own before they were shared brings them (its domain is not in the database).
            let legacy = try DKIMKeyStore(dataDirectory: two.configuration.dataDirectory).generate(domain: "legacy.test")

            _ = try await one.addDomain("example.test")
            let made = keys(one, "example.test")
            #expect(made.count == 2 && made.values.allSatisfy(\.active))
            #expect(keys(two, "example.test").isEmpty, "nothing on node two before it reads the database")
            try await two.synchronizeDKIMKeys()
            #expect(same(keys(two, "example.test"), made), "node two signs example.test with node one's keys")
            try await one.synchronizeDKIMKeys()
            #expect(Set(keys(one, "legacy.test").keys) == Set(legacy), "node two's older keys reached node one")

            // Rotation on node two: both nodes sign with the new keys; the old ones stay, retired.
            let rotated = try await two.rotateDKIM("example.test")
            try await one.synchronizeDKIMKeys()
            let after = keys(one, "example.test")
            #expect(same(after, keys(two, "example.test")))
            #expect(after.count == 4 && Set(after.filter(\.value.active).keys) == Set(rotated))

            // A key only one node had for a shared domain is set aside, not deleted, and no longer used.
            let stray = try DKIMKeyStore(dataDirectory: one.configuration.dataDirectory).generate(domain: "example.test")
            try await one.synchronizeDKIMKeys()
            #expect(same(keys(one, "example.test"), after))
            let folder = one.configuration.dataDirectory + "/dkim/example.test"
            #expect(stray.allSatisfy { FileManager.default.fileExists(atPath: "\(folder)/\($0).pem.replaced") })

            // `letterbox dns` on node two publishes the keys node one signs with.
            let records = try await two.dnsRecords("example.test", zone: true)
            #expect(rotated.allSatisfy { records.contains("\($0)._domainkey.example.test") })
        }
        try await admin.execute("DROP DATABASE \(name) WITH (FORCE)")
    }
}
