import Directory
import Foundation
import MailCore
import MailStore
import MailStoreSQLite
import SASL
import Testing

@Suite struct AccountDirectoryTests {
    let temporary: String
    let directory: AccountDirectory

    init() throws {
        temporary = NSTemporaryDirectory() + "letterbox-directory-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        let mail = SQLiteMailStore(database: try SQLiteDatabase(path: temporary + "/db.sqlite"), blobs: try FileBlobStore(directory: temporary + "/blobs"))
        var configuration = DirectoryConfiguration()
        configuration.credentialIterations = 4096  // fast tests; production uses 100,000
        directory = AccountDirectory(store: SQLiteDirectoryStore(store: mail), configuration: configuration)
    }

    @Test func passwordPolicy() async throws {
        _ = try await directory.addDomain("example.test")
        for (password, reason) in [("", "empty"), ("short1", "shorter"), ("aaaaaaaaaa", "fewer than 4"), ("password123", "common"),
                                   ("alice-secret-9", "user name")] {
            await #expect(throws: DirectoryError.self, "\(reason)") { try await directory.addUser("alice@example.test", password: password) }
            do { try await directory.addUser("alice@example.test", password: password) } catch {
                #expect(error.description.contains(reason), "\(error.description)")
            }
        }
        try await directory.addUser("alice@example.test", password: "correct horse battery")
        await #expect(throws: DirectoryError.userExists("ALICE@example.test")) {
            try await directory.addUser("ALICE@example.test", password: "another good one")
        }
    }

    @Test func badInputIsRefusedWithAClearError() async throws {
        await #expect(throws: DirectoryError.invalidDomain("not a domain")) { _ = try await directory.addDomain("not a domain") }
        await #expect(throws: DirectoryError.invalidAddress("nobody")) { try await directory.addUser("nobody", password: "good password 1") }
        await #expect(throws: DirectoryError.unknownDomain("nowhere.test")) {
            try await directory.addUser("x@nowhere.test", password: "good password 1")
        }
        #expect(DirectoryError.unknownDomain("nowhere.test").description.contains("letterbox domain add nowhere.test"))
    }

    @Test func storedCredentialIsNotThePasswordAndVerifiesEachWay() async throws {
        _ = try await directory.addDomain("example.test")
        let account = try await directory.addUser("bob@example.test", password: "tr0ub4dor&3x")
        #expect(!account.credential.contains("tr0ub4dor"))
        let credentials = try #require(SCRAMCredentials(encoded: account.credential))
        #expect(credentials.iterations == 4096 && credentials.salt.count == 16)
        #expect(await directory.authenticate(username: "bob@example.test", password: "tr0ub4dor&3x")?.id == account.id)
        #expect(await directory.authenticate(username: "BOB@EXAMPLE.TEST", password: "tr0ub4dor&3x")?.id == account.id)
        #expect(await directory.authenticate(username: "bob@example.test", password: "wrong") == nil)
        #expect(await directory.authenticate(username: "nobody@example.test", password: "tr0ub4dor&3x") == nil)
        #expect(await directory.scramCredentials(username: "bob@example.test")?.1 == credentials)
    }

    @Test func passwordChangeInvalidatesTheLoginCache() async throws {
        _ = try await directory.addDomain("example.test")
        try await directory.addUser("carol@example.test", password: "first password 1")
        #expect(await directory.authenticate(username: "carol@example.test", password: "first password 1") != nil)
        #expect(await directory.authenticate(username: "carol@example.test", password: "first password 1") != nil, "cached")
        try await directory.setPassword("carol@example.test", password: "second password 2")
        #expect(await directory.authenticate(username: "carol@example.test", password: "first password 1") == nil)
        #expect(await directory.authenticate(username: "carol@example.test", password: "second password 2") != nil)
    }

    @Test func recipientResolution() async throws {
        _ = try await directory.addDomain("example.test")
        let dave = try await directory.addUser("dave@example.test", password: "a long passphrase")
        let erin = try await directory.addUser("erin@example.test", password: "a long passphrase")
        try await directory.addAlias("team@example.test", targets: ["dave@example.test", "erin@example.test", "out@remote.test"])
        let cases: [(String, RecipientResolution)] = [
            ("dave@example.test", .deliver(accounts: [dave], forward: [])),
            ("Dave+news@Example.TEST", .deliver(accounts: [dave], forward: [])),
            ("team@example.test", .deliver(accounts: [dave, erin], forward: [EmailAddress("out@remote.test")!])),
            ("nobody@example.test", .unknownUser),
            ("dave@remote.test", .notLocal),
        ]
        for (address, expected) in cases {
            #expect(try await directory.resolve(EmailAddress(address)!) == expected, "\(address)")
        }
        try await directory.addAlias("@example.test", targets: ["erin@example.test"])
        #expect(try await directory.resolve(EmailAddress("anything@example.test")!) == .deliver(accounts: [erin], forward: []))
        #expect(try await directory.resolve(EmailAddress("dave@example.test")!) == .deliver(accounts: [dave], forward: []), "exact beats catch-all")
    }

    @Test func aliasLoopsTerminate() async throws {
        _ = try await directory.addDomain("example.test")
        try await directory.addAlias("a@example.test", targets: ["b@example.test"])
        try await directory.addAlias("b@example.test", targets: ["a@example.test"])
        #expect(try await directory.resolve(EmailAddress("a@example.test")!) == .unknownUser)
    }

    @Test func sendAsOwnAddressesOnly() async throws {
        _ = try await directory.addDomain("example.test")
        let frank = try await directory.addUser("frank@example.test", password: "a long passphrase")
        try await directory.addAlias("support@example.test", targets: ["frank@example.test"])
        try await directory.addAlias("@example.test", targets: ["frank@example.test"])
        for (sender, allowed) in [("frank@example.test", true), ("Frank+x@example.test", true), ("support@example.test", true),
                                  ("support+tag@example.test", true), ("ceo@example.test", false), ("frank@other.test", false)] {
            #expect(try await directory.may(frank, sendAs: EmailAddress(sender)!) == allowed, "\(sender)")
        }
    }
}

@Suite struct PasswordPreparationTests {
    @Test func saslPrepMakesEquivalentSpellingsMatch() async throws {
        let temporary = NSTemporaryDirectory() + "letterbox-saslprep-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        let mail = SQLiteMailStore(database: try SQLiteDatabase(path: temporary + "/db.sqlite"), blobs: try FileBlobStore(directory: temporary + "/blobs"))
        var configuration = DirectoryConfiguration()
        configuration.credentialIterations = 4096
        let directory = AccountDirectory(store: SQLiteDirectoryStore(store: mail), configuration: configuration)
        _ = try await directory.addDomain("example.test")
        // U+00A0 (no-break space) maps to a space under SASLprep (RFC 4013 §2.1), as a PLAIN or SCRAM client sends it.
        try await directory.addUser("ines@example.test", password: "open\u{00A0}sesame now")
        #expect(await directory.authenticate(username: "ines@example.test", password: "open sesame now") != nil)
        await #expect(throws: DirectoryError.self) { try await directory.addUser("jo@example.test", password: "bell\u{0007}ringing") }
    }
}
