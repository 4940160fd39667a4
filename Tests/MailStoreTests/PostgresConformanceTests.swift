import Foundation
import MailCore
import MailStore
import MailStorePostgres
import MailTestSupport
import Testing

/// The real PostgreSQL server `scripts/test-postgres` starts (the test script exports its URL). Each test gets a database
/// of its own, dropped afterwards.
enum TestPostgres {
    static let url = ProcessInfo.processInfo.environment["LETTERBOX_TEST_POSTGRES_URL"]
    static let ca = ProcessInfo.processInfo.environment["LETTERBOX_TEST_POSTGRES_CA"]
    static var available: Bool { url != nil }

    /// A fresh, empty database; `body` gets its location; dropped when `body` returns or throws.
    static func withDatabase(_ body: (PostgresLocation) async throws -> Void) async throws {
        let admin = try PostgresLocation(url: try #require(url))
        let name = "lbtest_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        try await adminQuery(admin, "CREATE DATABASE \(name)")
        var location = admin
        location.database = name
        do {
            try await body(location)
        } catch {
            try? await adminQuery(admin, "DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
        try await adminQuery(admin, "DROP DATABASE \(name) WITH (FORCE)")
    }

    static func adminQuery(_ location: PostgresLocation, _ sql: String) async throws {
        let database = try PostgresDatabase(location: location, poolSize: 2, migrate: false)
        defer { database.shutdown() }
        try await database.execute(sql)
    }

    /// alice@example.test's INBOX, made through `node`.
    static func aliceInbox(_ node: PostgresMailStore) async throws -> MailboxInfo {
        let directory = PostgresDirectoryStore(store: node)
        try await directory.addDomain(DomainName("example.test")!)
        let account = try await directory.addAccount(address: EmailAddress("alice@example.test")!, credential: "x", mailboxes: defaultMailboxes)
        return try #require(try await node.mailbox(of: account.id, named: "INBOX"))
    }

    /// Appends one small message through `node`.
    static func append(_ node: PostgresMailStore, _ subject: String, to mailbox: MailboxID) async throws -> UIDMapping {
        let bytes = Array("Subject: \(subject)\r\n\r\nx\r\n".utf8)
        let blob = try await node.blobs.put(bytes)
        return try await node.append([NewMessage(blob: blob, size: bytes.count, internalDate: InternalDate(secondsSince1970: 1_700_000_000))], to: mailbox)
    }

    static func store(_ location: PostgresLocation, claimTimeout: Int64 = 60) throws -> (PostgresDatabase, PostgresMailStore) {
        let database = try PostgresDatabase(location: location, poolSize: 8)
        return (database, PostgresMailStore(database: database, claimTimeout: claimTimeout))
    }
}

@Suite(.enabled(if: TestPostgres.available, "needs LETTERBOX_TEST_POSTGRES_URL (scripts/test starts a server)"))
struct PostgresConformanceTests {
    @Test(arguments: SQLiteConformanceTests.names)
    func conformance(_ name: String) async throws {
        try await TestPostgres.withDatabase { location in
            let (database, mail) = try TestPostgres.store(location)
            defer { database.shutdown() }
            let store = StoreUnderTest(mail: mail, directory: PostgresDirectoryStore(store: mail), queue: mail)
            let check = try #require(MailStoreConformance.checks.first { $0.name == name })
            try await check.run(store)
        }
    }
}

/// What only a shared database has to prove: several nodes on it at once.
@Suite(.enabled(if: TestPostgres.available, "needs LETTERBOX_TEST_POSTGRES_URL (scripts/test starts a server)"))
struct PostgresNodesTests {
    @Test func nodesStartingTogetherMigrateOnce() async throws {
        try await TestPostgres.withDatabase { location in
            let nodes = try (0..<4).map { _ in try TestPostgres.store(location) }
            defer { for (database, _) in nodes { database.shutdown() } }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (database, _) in nodes { group.addTask { try await database.ready() } }
                try await group.waitForAll()
            }
            let directory = PostgresDirectoryStore(store: nodes[0].1)
            try await directory.addDomain(DomainName("example.test")!)
            #expect(try await PostgresDirectoryStore(store: nodes[3].1).domains().map(\.name) == ["example.test"])
        }
    }

    @Test func uidsStayAscendingAcrossNodes() async throws {
        try await TestPostgres.withDatabase { location in
            let (databaseA, nodeA) = try TestPostgres.store(location)
            let (databaseB, nodeB) = try TestPostgres.store(location)
            defer { databaseA.shutdown(); databaseB.shutdown() }
            let inbox = try await TestPostgres.aliceInbox(nodeA)
            let uids = try await withThrowingTaskGroup(of: [UID].self) { group in
                for (index, node) in [nodeA, nodeB, nodeA, nodeB].enumerated() {
                    group.addTask {
                        var uids: [UID] = []
                        for message in 0..<15 {
                            let mapping = try await TestPostgres.append(node, "\(index)-\(message)", to: inbox.id)
                            #expect(mapping.destination.first.map { $0 > (uids.last ?? 0) } == true)
                            uids += mapping.destination
                        }
                        return uids
                    }
                }
                return try await group.reduce(into: [UID]()) { $0 += $1 }
            }
            #expect(uids.sorted() == Array(1...60), "60 appends from two nodes: UIDs 1…60, none twice")
            let records = try await nodeB.messages(in: inbox.id)
            #expect(records.map(\.uid) == Array(1...60))
            #expect(zip(records, records.dropFirst()).allSatisfy { $0.modSeq < $1.modSeq }, "modseq grows with the UID: commits in allocation order")
        }
    }

    @Test func changesReachTheOtherNode() async throws {
        try await TestPostgres.withDatabase { location in
            let (databaseA, nodeA) = try TestPostgres.store(location)
            let (databaseB, nodeB) = try TestPostgres.store(location)
            defer { databaseA.shutdown(); databaseB.shutdown() }
            let inbox = try await TestPostgres.aliceInbox(nodeA)

            let subscription = nodeB.changes.subscribe(mailbox: inbox.id)
            let listener = Task { await nodeB.listenForChanges() }
            defer { listener.cancel() }
            var events = subscription.events.makeAsyncIterator()
            _ = await events.next()  // the wake-up every subscriber gets when listening starts

            _ = try await TestPostgres.append(nodeA, "hello", to: inbox.id)
            let event = await events.next()
            let highest = try await nodeA.mailbox(id: inbox.id)?.highestModSeq
            #expect(event == .changed(inbox.id, highestModSeq: try #require(highest)))
        }
    }

    @Test func aDroppedListenerReconnectsAndWakesEverySession() async throws {
        try await TestPostgres.withDatabase { location in
            let (databaseA, nodeA) = try TestPostgres.store(location)
            let (databaseB, nodeB) = try TestPostgres.store(location)
            defer { databaseA.shutdown(); databaseB.shutdown() }
            let inbox = try await TestPostgres.aliceInbox(nodeA)
            let subscription = nodeB.changes.subscribe(mailbox: inbox.id)
            let listener = Task { await nodeB.listenForChanges() }
            defer { listener.cancel() }
            var events = subscription.events.makeAsyncIterator()
            _ = await events.next()  // listening

            // The database ends node B's LISTEN connection (a restart, a failover, a network cut would do the same).
            try await databaseA.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()")
            // A change while B is not listening: its notification is lost, so B wakes every session once it listens again.
            _ = try await TestPostgres.append(nodeA, "during the gap", to: inbox.id)
            #expect(await events.next() != nil, "a wake-up after the reconnect")
            // And B hears changes again.
            while try await databaseA.listeners() == 0 { try await Task.sleep(for: .milliseconds(50)) }
            _ = try await nodeA.setFlags(MessageFlags(system: .seen), operation: .add, uids: [1], in: inbox.id, unchangedSince: nil)
            let highest = try #require(try await nodeA.mailbox(id: inbox.id)?.highestModSeq)
            var seen = false
            while !seen, let event = await events.next() { seen = event == .changed(inbox.id, highestModSeq: highest) }
            #expect(seen)
        }
    }

    @Test func eachQueuedMessageIsClaimedByOneNode() async throws {
        try await TestPostgres.withDatabase { location in
            let (databaseA, nodeA) = try TestPostgres.store(location, claimTimeout: 2)
            let (databaseB, nodeB) = try TestPostgres.store(location, claimTimeout: 2)
            defer { databaseA.shutdown(); databaseB.shutdown() }
            let blob = try await nodeA.blobs.put(Array("Subject: out\r\n\r\nx\r\n".utf8))
            let ids = (0..<50).map { "q\($0)" }
            for id in ids {
                try await nodeA.enqueue(QueueEntry(id: id, sender: "", blob: blob, size: 20, createdAt: 0, nextAttemptAt: 0,
                                                   recipients: [QueuedRecipient(address: "x@remote.test")]))
            }
            try await nodeA.queueHeartbeat()
            try await nodeB.queueHeartbeat()
            async let claimedByA = nodeA.claimQueueEntries(ids: ids)
            async let claimedByB = nodeB.claimQueueEntries(ids: ids)
            let (a, b) = try await (claimedByA, claimedByB)
            #expect(Set(a).isDisjoint(with: b), "no entry held by both nodes")
            #expect(Set(a).union(b) == Set(ids))
            #expect(try await nodeB.dueQueueEntries(now: 10, limit: 100).map(\.id).allSatisfy { !a.contains($0) },
                    "entries held by a live node are not due for the others")

            // Node A stops its heartbeat (as if killed): after the timeout, B takes A's entries over.
            try await Task.sleep(for: .seconds(3.5))
            try await nodeB.queueHeartbeat()
            #expect(Set(try await nodeB.claimQueueEntries(ids: a)) == Set(a))
            // Released entries are free for anyone.
            try await nodeB.releaseQueueEntries(ids: ids)
            try await nodeA.queueHeartbeat()
            #expect(Set(try await nodeA.claimQueueEntries(ids: ids)) == Set(ids))
        }
    }

    @Test func connectsOverVerifiedTLS() async throws {
        let ca = try #require(TestPostgres.ca)
        try await TestPostgres.withDatabase { location in
            var verified = location
            verified.host = "localhost"  // the name in the server's certificate, so the host name is checked too
            verified.tls = .verifyFull
            verified.rootCertificate = ca
            let (database, mail) = try TestPostgres.store(verified)
            defer { database.shutdown() }
            try await PostgresDirectoryStore(store: mail).addDomain(DomainName("tls.test")!)
            #expect(try await database.connectionIsEncrypted())

            var wrongCA = location
            wrongCA.tls = .verifyFull
            wrongCA.rootCertificate = nil  // the system roots do not know the test CA
            let (refused, _) = try TestPostgres.store(wrongCA)
            defer { refused.shutdown() }
            await #expect(throws: MailStoreError.self) { try await refused.ready() }
        }
    }
}

@Suite struct PostgresLocationTests {
    @Test(arguments: [
        ("postgres://mail:s%40cret@db.example:6543/letterbox?sslmode=verify-full&sslrootcert=/etc/ca.pem",
         "db.example", 6543, "mail", "s@cret", "letterbox", PostgresLocation.TLSMode.verifyFull, "/etc/ca.pem"),
        ("postgresql://postgres@localhost/mail", "localhost", 5432, "postgres", nil, "mail", .prefer, nil),
        ("postgres://u:p@[::1]:5433/d?sslmode=disable", "::1", 5433, "u", "p", "d", .disable, nil),
        ("postgres://u@127.0.0.1", "127.0.0.1", 5432, "u", nil, "u", .prefer, nil),
    ] as [(String, String, Int, String, String?, String, PostgresLocation.TLSMode, String?)])
    func parses(_ url: String, host: String, port: Int, user: String, password: String?, database: String,
                tls: PostgresLocation.TLSMode, root: String?) throws {
        let location = try PostgresLocation(url: url)
        #expect(location.host == host && location.port == port && location.user == user && location.password == password)
        #expect(location.database == database && location.tls == tls && location.rootCertificate == root)
        #expect(!location.description.contains("cret"), "the password never appears in messages")
    }

    @Test(arguments: ["mysql://x@y/z", "postgres://u@h:99999/d", "postgres://u@h/d?sslmode=sometimes"])
    func refuses(_ url: String) {
        #expect(throws: MailStoreError.self) { try PostgresLocation(url: url) }
    }

    @Test func requiresTheServerInCI() {
        if ProcessInfo.processInfo.environment["LETTERBOX_REQUIRE_POSTGRES"] == "1" {
            #expect(TestPostgres.available, "scripts/test must start PostgreSQL and export LETTERBOX_TEST_POSTGRES_URL")
        }
    }
}
