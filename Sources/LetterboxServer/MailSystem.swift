/// LetterboxServer: the wiring. Reads the configuration, picks the storage backend, builds each module's configuration
/// and runs every service in one ServiceGroup. The only module that names concrete backends.
import Directory
import Foundation
import MailCore
import MailStore
import MailStorePostgres
import MailStoreSQLite

/// The opened data directory: the store, the blob files and the account directory — what both `serve` and the admin
/// commands work on. Admin commands open it next to a running server: SQLite in WAL mode with a busy timeout lets both write.
public final class MailSystem: Sendable {
    public let configuration: LetterboxConfiguration
    public let mailStore: any MailStore
    public let directoryStore: any DirectoryStore
    public let queueStore: any QueueStore
    public let directory: AccountDirectory
    /// The one authentication path of every protocol `serve` runs (lockouts count across them).
    public let authenticator: Authenticator
    /// The shared database when the backend is PostgreSQL (nil for SQLite).
    public let postgres: PostgresMailStore?

    public enum OpenMode: Sendable { case createIfMissing, mustExist }

    public init(configuration: LetterboxConfiguration, mode: OpenMode) throws(ConfigurationError) {
        self.configuration = configuration
        let root = configuration.dataDirectory
        switch configuration.store.backend {
        case .sqlite:
            let store = try Self.openSQLite(root: root, mode: mode)
            (mailStore, queueStore, directoryStore, postgres) = (store, store, SQLiteDirectoryStore(store: store), nil)
        case .postgres:
            try Self.prepareDataDirectory(root)
            let store = try Self.openPostgres(configuration.store)
            (mailStore, queueStore, directoryStore, postgres) = (store, store, PostgresDirectoryStore(store: store), store)
        }
        var directoryConfiguration = DirectoryConfiguration()
        directoryConfiguration.credentialIterations = configuration.credentialIterations
        directoryConfiguration.loginCacheSize = configuration.loginCacheSize
        directoryConfiguration.minimumPasswordLength = configuration.minimumPasswordLength
        directory = AccountDirectory(store: directoryStore, configuration: directoryConfiguration)
        var throttle = AuthenticationThrottle.Configuration()
        throttle.lockoutThreshold = configuration.lockoutThreshold
        throttle.lockoutDuration = .seconds(configuration.lockoutSeconds)
        // Several nodes share one PostgreSQL database: the lockout must hold on all of them, so failures go to the store.
        authenticator = Authenticator(
            directory: directory, throttle: AuthenticationThrottle(configuration: throttle),
            sharedLockout: configuration.store.backend == .postgres)
    }

    static func openSQLite(root: String, mode: OpenMode) throws(ConfigurationError) -> SQLiteMailStore {
        let databasePath = root + "/letterbox.sqlite"
        if mode == .mustExist && !FileManager.default.fileExists(atPath: databasePath) {
            throw ConfigurationError(key: "data_dir", value: root,
                                     problem: "no Letterbox data here (start `letterbox serve` or add a domain first)")
        }
        try prepareDataDirectory(root)
        do {
            let database = try SQLiteDatabase(path: databasePath)
            return SQLiteMailStore(database: database, blobs: try FileBlobStore(directory: root + "/blobs"))
        } catch {
            throw ConfigurationError(key: "data_dir", value: root, problem: "cannot open the store: \(error)")
        }
    }

    /// The data directory still holds TLS material, DKIM keys and run-time files with a PostgreSQL store.
    static func prepareDataDirectory(_ root: String) throws(ConfigurationError) {
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        } catch {
            throw ConfigurationError(key: "data_dir", value: root, problem: "cannot create the directory (\(error.localizedDescription))")
        }
        guard FileManager.default.isWritableFile(atPath: root) else {
            throw ConfigurationError(key: "data_dir", value: root, problem: "the directory is not writable")
        }
    }

    static func openPostgres(_ settings: LetterboxConfiguration.StoreSettings) throws(ConfigurationError) -> PostgresMailStore {
        var location: PostgresLocation
        do { location = try PostgresLocation(url: settings.url ?? "") } catch {
            throw ConfigurationError(key: "store.url", value: nil, problem: error.description)
        }
        if let file = settings.passwordFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ConfigurationError(key: "store.password_file", value: file, problem: "the file does not exist or is not readable")
            }
            location.password = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        }
        do {
            let database = try PostgresDatabase(location: location, poolSize: settings.poolSize)
            return PostgresMailStore(database: database, claimTimeout: Int64(settings.claimTimeoutSeconds))
        } catch {
            throw ConfigurationError(key: "store.url", value: location.description, problem: "cannot open the database: \(error)")
        }
    }

    /// Waits until the store can be used (PostgreSQL reachable, schema current), so a bad URL or password stops
    /// `serve` at once with the reason instead of failing every client later.
    public func ready() async throws(ConfigurationError) {
        guard let postgres else { return }
        do { try await postgres.database.ready() } catch {
            throw ConfigurationError(key: "store.url", value: postgres.database.location.description, problem: "\(error)")
        }
    }

    /// A user's storage use and the quota that applies (0: unlimited), and whether it is the server default.
    public func quotaReport(_ email: String) async throws -> (address: String, used: Int64, quota: Int64, isDefault: Bool) {
        guard let address = EmailAddress(email) else { throw DirectoryError.invalidAddress(email) }
        guard let account = try await directoryStore.account(address: address) else { throw DirectoryError.unknownUser(email) }
        let used = try await mailStore.usage(of: account.id)
        return (account.address.description, used, account.quota ?? configuration.defaultQuota, account.quota == nil)
    }

    // MARK: The outbound queue, for `letterbox queue`

    /// One line per queued message, then one indented line per recipient:
    /// `ID  SENDER  SIZE  attempts N  next try TIME` / `  -> RECIPIENT  STATUS  LAST ERROR`.
    public func queueListing(now: Int64 = Int64(Date().timeIntervalSince1970)) async throws -> [String] {
        var lines: [String] = []
        for entry in try await queueStore.queueEntries() {
            let wait = entry.nextAttemptAt - now
            let next = wait <= 0 ? "now" : "in \(Self.duration(wait)) (\(MessageDate(secondsSinceEpoch: entry.nextAttemptAt).rfc5322))"
            lines.append("\(entry.id)  <\(entry.sender)>  \(entry.size) octets  queued \(Self.duration(now - entry.createdAt)) ago  attempts \(entry.attempts)  next try \(next)")
            for recipient in entry.recipients {
                lines.append("    -> \(recipient.address)  \(recipient.status.rawValue)\(recipient.lastError.map { "  (\($0))" } ?? "")")
            }
        }
        return lines
    }

    /// The most recent delivery events, oldest first: `TIME  ID  RECIPIENT  OUTCOME  DETAIL`.
    public func queueHistory(limit: Int = 50) async throws -> [String] {
        try await queueStore.queueHistory(limit: limit).map { event in
            "\(MessageDate(secondsSinceEpoch: event.at).rfc5322)  \(event.queueID)  \(event.recipient)  \(event.outcome.rawValue)  \(event.detail)"
        }
    }

    /// Makes one message (or all) due now; the running server picks them up within its poll interval.
    public func flushQueue(id: String?) async throws -> Int {
        try await queueStore.flushQueue(id: id, now: Int64(Date().timeIntervalSince1970))
    }

    /// Removes a message from the queue without a bounce (like `postsuper -d`); the history keeps a line for it.
    public func removeFromQueue(id: String) async throws {
        guard let entry = try await queueStore.queueEntry(id: id) else { throw MailStoreError.queueEntryNotFound(id) }
        let now = Int64(Date().timeIntervalSince1970)
        let events = entry.recipients.filter { $0.status == .pending }.map {
            QueueEvent(queueID: id, at: now, recipient: $0.address, outcome: .removed, detail: "removed by the administrator")
        }
        try await queueStore.recordQueueAttempt(QueueAttempt(
            queueID: id, recipients: Dictionary(uniqueKeysWithValues: entry.recipients.map { ($0.address, (.failed, "removed by the administrator")) }),
            nextAttemptAt: now, lastError: nil, events: events))
    }

    static func duration(_ seconds: Int64) -> String {
        let s = max(0, seconds)
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h\(s % 3600 / 60)m" }
        return "\(s / 86_400)d\(s % 86_400 / 3600)h"
    }

    // MARK: Domains with their DKIM keys

    /// Adds a domain and makes its DKIM keys (RSA-2048 and Ed25519) when it has none yet.
    public func addDomain(_ name: String) async throws -> String {
        let added = try await directory.addDomain(name)
        try await synchronizeDKIMKeys()  // on PostgreSQL, another node may have made this domain's keys already
        let keys = DKIMKeyStore(dataDirectory: configuration.dataDirectory)
        if keys.selectors(domain: "\(added)").isEmpty {
            let selectors = try keys.generate(domain: "\(added)")
            try await dkimSharing?.publish(domain: "\(added)", selectors: selectors)
        }
        return "\(added)"
    }

    /// New DKIM keys for a local domain, signing from now on; the old ones stay published until removed. On
    /// PostgreSQL every node signs with them once its `serve` has read them (within a minute).
    public func rotateDKIM(_ name: String) async throws -> [String] {
        guard let domain = DomainName(name), try await directory.isLocalDomain(domain) else { throw DirectoryError.unknownDomain(name) }
        try await synchronizeDKIMKeys()
        let selectors = try DKIMKeyStore(dataDirectory: configuration.dataDirectory).generate(domain: domain.name)
        try await dkimSharing?.publish(domain: domain.name, selectors: selectors)
        return selectors
    }

    /// On PostgreSQL, the DKIM keys the nodes share (nil for SQLite: the keys on disk are the only ones).
    var dkimSharing: DKIMKeySharing? {
        postgres.map { DKIMKeySharing(store: $0, keys: DKIMKeyStore(dataDirectory: configuration.dataDirectory)) }
    }

    /// On PostgreSQL, makes this node's keys on disk the shared ones (and shares keys only it has); nothing on SQLite.
    public func synchronizeDKIMKeys() async throws {
        try await dkimSharing?.synchronize()
    }

    /// The records `letterbox dns` prints for a local domain.
    public func dnsRecords(_ name: String, zone: Bool) async throws -> String {
        guard let domain = DomainName(name), try await directory.isLocalDomain(domain) else { throw DirectoryError.unknownDomain(name) }
        try await synchronizeDKIMKeys()
        let records = try DNSRecords.records(domain: domain.name, configuration: configuration)
        return zone ? DNSRecords.zone(records) : DNSRecords.table(records)
    }
}
