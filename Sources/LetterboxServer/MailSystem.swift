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
        let keys = DKIMKeyStore(dataDirectory: configuration.dataDirectory)
        if keys.selectors(domain: "\(added)").isEmpty { try keys.generate(domain: "\(added)") }
        return "\(added)"
    }

    /// New DKIM keys for a local domain, signing from now on; the old ones stay published until removed.
    public func rotateDKIM(_ name: String) async throws -> [String] {
        guard let domain = DomainName(name), try await directory.isLocalDomain(domain) else { throw DirectoryError.unknownDomain(name) }
        return try DKIMKeyStore(dataDirectory: configuration.dataDirectory).generate(domain: domain.name)
    }

    /// The records `letterbox dns` prints for a local domain.
    public func dnsRecords(_ name: String, zone: Bool) async throws -> String {
        guard let domain = DomainName(name), try await directory.isLocalDomain(domain) else { throw DirectoryError.unknownDomain(name) }
        let records = try DNSRecords.records(domain: domain.name, configuration: configuration)
        return zone ? DNSRecords.zone(records) : DNSRecords.table(records)
    }
}
