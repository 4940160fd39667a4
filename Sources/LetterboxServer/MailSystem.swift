/// LetterboxServer: the wiring. Reads the configuration, picks the storage backend, builds each module's configuration
/// and runs every service in one ServiceGroup. The only module that names concrete backends.
import Directory
import Foundation
import MailCore
import MailStore
import MailStoreSQLite

/// The opened data directory: the store, the blob files and the account directory — what both `serve` and the admin
/// commands work on. Admin commands open it next to a running server: SQLite in WAL mode with a busy timeout lets both write.
public final class MailSystem: Sendable {
    public let configuration: LetterboxConfiguration
    public let mailStore: any MailStore
    public let directoryStore: any DirectoryStore
    public let queueStore: any QueueStore
    public let directory: AccountDirectory

    public enum OpenMode: Sendable { case createIfMissing, mustExist }

    public init(configuration: LetterboxConfiguration, mode: OpenMode) throws(ConfigurationError) {
        self.configuration = configuration
        let root = configuration.dataDirectory
        let databasePath = root + "/letterbox.sqlite"
        if mode == .mustExist && !FileManager.default.fileExists(atPath: databasePath) {
            throw ConfigurationError(key: "data_dir", value: root,
                                     problem: "no Letterbox data here (start `letterbox serve` or add a domain first)")
        }
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        } catch {
            throw ConfigurationError(key: "data_dir", value: root, problem: "cannot create the directory (\(error.localizedDescription))")
        }
        guard FileManager.default.isWritableFile(atPath: root) else {
            throw ConfigurationError(key: "data_dir", value: root, problem: "the directory is not writable")
        }
        do {
            let database = try SQLiteDatabase(path: databasePath)
            let store = SQLiteMailStore(database: database, blobs: try FileBlobStore(directory: root + "/blobs"))
            mailStore = store
            queueStore = store
            directoryStore = SQLiteDirectoryStore(store: store)
        } catch {
            throw ConfigurationError(key: "data_dir", value: root, problem: "cannot open the store: \(error)")
        }
        var directoryConfiguration = DirectoryConfiguration()
        directoryConfiguration.credentialIterations = configuration.credentialIterations
        directoryConfiguration.loginCacheSize = configuration.loginCacheSize
        directoryConfiguration.minimumPasswordLength = configuration.minimumPasswordLength
        directory = AccountDirectory(store: directoryStore, configuration: directoryConfiguration)
    }

    /// A user's storage use and the quota that applies (0: unlimited), and whether it is the server default.
    public func quotaReport(_ email: String) async throws -> (address: String, used: Int64, quota: Int64, isDefault: Bool) {
        guard let address = EmailAddress(email) else { throw DirectoryError.invalidAddress(email) }
        guard let account = try await directoryStore.account(address: address) else { throw DirectoryError.unknownUser(email) }
        let used = try await mailStore.usage(of: account.id)
        return (account.address.description, used, account.quota ?? configuration.defaultQuota, account.quota == nil)
    }
}
