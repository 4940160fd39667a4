import Foundation
@testable import LetterboxServer
import MailStorePostgres
import Testing

/// `doctor`'s store checks against the real test PostgreSQL (scripts/test exports its URL).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["LETTERBOX_TEST_POSTGRES_URL"] != nil, "needs the test PostgreSQL"))
struct DoctorStoreTests {
    let url = ProcessInfo.processInfo.environment["LETTERBOX_TEST_POSTGRES_URL"]!

    func configuration(url: String) -> LetterboxConfiguration {
        var configuration = LetterboxConfiguration()
        configuration.dataDirectory = NSTemporaryDirectory() + "doctor-store-\(UUID().uuidString.prefix(8))"
        configuration.store.backend = .postgres
        configuration.store.url = url
        return configuration
    }

    @Test func reachableDatabasePasses() async throws {
        let system = try MailSystem(configuration: configuration(url: url), mode: .createIfMissing)
        let checks = await Doctor(configuration: system.configuration).storeChecks(system)
        #expect(checks.first { $0.name == "store: PostgreSQL" }?.passed == true, "\(checks)")
        #expect(checks.first { $0.name == "store: TLS" }?.detail == "database on this machine (encrypted)", "\(checks)")
        #expect(checks.first { $0.name == "store: durability" }?.passed == true, "\(checks)")
    }

    @Test func synchronousCommitOffFailsWithTheFix() async throws {
        let admin = try PostgresDatabase(location: try PostgresLocation(url: url), poolSize: 2, migrate: false)
        defer { admin.shutdown() }
        let name = "doctor_" + UUID().uuidString.prefix(8).lowercased()
        try await admin.execute("CREATE DATABASE \(name)")
        try await admin.execute("ALTER DATABASE \(name) SET synchronous_commit = off")
        do {
            let system = try MailSystem(configuration: configuration(url: url.replacingOccurrences(of: "/letterbox?", with: "/\(name)?")), mode: .createIfMissing)
            let checks = await Doctor(configuration: system.configuration).storeChecks(system)
            let durability = try #require(checks.first { $0.name == "store: durability" })
            #expect(!durability.passed && durability.detail.contains("synchronous_commit = off"), "\(durability)")
            #expect(durability.fix?.contains("synchronous_commit = on") == true)
            system.postgres?.database.shutdown()
        }
        try await admin.execute("DROP DATABASE \(name) WITH (FORCE)")
    }

    @Test func unreachableDatabaseSaysWhy() async throws {
        let wrong = url.replacingOccurrences(of: #"letterbox:[^@]*@"#, with: "letterbox:wrong-password@", options: .regularExpression)
        let system = try MailSystem(configuration: configuration(url: wrong), mode: .createIfMissing)
        let checks = await Doctor(configuration: system.configuration).storeChecks(system)
        #expect(checks.count == 1 && !checks[0].passed, "\(checks)")
        #expect(checks[0].detail.contains("password"), "the reason is named: \(checks[0].detail)")
    }
}

@Suite struct DoctorStoreTLSTests {
    @Test(arguments: [
        ("postgres://u@db.example.org/d?sslmode=verify-full", true, true, "verified"),
        ("postgres://u@db.example.org/d?sslmode=require", true, false, "not verified"),
        ("postgres://u@db.example.org/d?sslmode=prefer", false, false, "in clear"),
        ("postgres://u@10.0.0.5/d?sslmode=disable", false, false, "in clear"),
        ("postgres://u@localhost/d?sslmode=disable", false, true, "this machine"),
        ("postgres://u@127.0.0.1/d?sslmode=require", true, true, "this machine"),
    ])
    func classifies(_ url: String, encrypted: Bool, passes: Bool, says: String) throws {
        let check = Doctor.storeTLSCheck(try PostgresLocation(url: url), encrypted: encrypted)
        #expect(check.passed == passes && check.detail.contains(says), "\(check)")
        if !passes { #expect(check.fix?.contains("sslmode=verify-full") == true) }
    }
}
