import MailStore
import MailStoreSQLite
import MailTestSupport
import Testing

/// The shared store conformance suite, run against SQLite files in fresh temp directories.
@Suite struct SQLiteConformanceTests {
    static let names = MailStoreConformance.checks.map(\.name)

    @Test(arguments: names)
    func conformance(_ name: String) async throws {
        let directory = TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path + "/letterbox.sqlite")
        let mail = SQLiteMailStore(database: database, blobs: try FileBlobStore(directory: directory.path + "/blobs"))
        let store = StoreUnderTest(mail: mail, directory: SQLiteDirectoryStore(store: mail), queue: mail)
        let check = try #require(MailStoreConformance.checks.first { $0.name == name })
        try await check.run(store)
        withExtendedLifetime(directory) {}
    }

    @Test func reopeningKeepsData() async throws {
        let directory = TemporaryDirectory()
        do {
            let database = try SQLiteDatabase(path: directory.path + "/letterbox.sqlite")
            let mail = SQLiteMailStore(database: database, blobs: try FileBlobStore(directory: directory.path + "/blobs"))
            try await SQLiteDirectoryStore(store: mail).addDomain(.init("example.test")!)
        }
        let database = try SQLiteDatabase(path: directory.path + "/letterbox.sqlite")
        let mail = SQLiteMailStore(database: database, blobs: try FileBlobStore(directory: directory.path + "/blobs"))
        #expect(try await SQLiteDirectoryStore(store: mail).domains().map(\.name) == ["example.test"])
    }
}
