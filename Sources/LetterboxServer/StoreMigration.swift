import Crypto
import Foundation
import MailCore
import MailStore
import MailStorePostgres
import MailStoreSQLite

/// `letterbox migrate-store --from sqlite:DIR --to postgres:URL`: copies an embedded store into an empty PostgreSQL
/// database — domains, accounts (with their credentials), aliases, mailboxes with UIDVALIDITY, UIDs, modseqs and expunge
/// logs, subscriptions, messages with their bytes, the outbound queue and its history — then verifies the copy.
///
/// The source must be at rest: it refuses to start while a `serve` holds the source's data directory, and holds that
/// lock itself meanwhile, so no server starts on it during the copy.
public struct StoreMigration: Sendable {
    public let sourceDirectory: String
    public let target: PostgresLocation
    /// Progress lines ("copying messages 1200/5000"); the CLI draws them as a bar.
    public let progress: @Sendable (_ phase: String, _ done: Int, _ total: Int) -> Void

    public init(from: String, to: String, progress: @escaping @Sendable (String, Int, Int) -> Void) throws(ConfigurationError) {
        guard from.hasPrefix("sqlite:") else {
            throw ConfigurationError(key: "--from", value: from, problem: "expected sqlite:DATA_DIR (the data directory of the embedded store)")
        }
        guard to.hasPrefix("postgres:") else {
            throw ConfigurationError(key: "--to", value: nil, problem: "expected postgres:postgres://USER@HOST/DATABASE")
        }
        sourceDirectory = String(from.dropFirst("sqlite:".count))
        do { target = try PostgresLocation(url: String(to.dropFirst("postgres:".count))) } catch {
            throw ConfigurationError(key: "--to", value: nil, problem: error.description)
        }
        self.progress = progress
    }

    public struct Summary: Sendable {
        public var domains = 0, accounts = 0, aliases = 0, mailboxes = 0, messages = 0, blobs = 0, queued = 0, dkimKeys = 0
    }

    /// Copies, then verifies; throws at the first difference found.
    public func run(password: String? = nil) async throws -> Summary {
        var location = target
        if let password { location.password = password }
        guard FileManager.default.fileExists(atPath: sourceDirectory + "/letterbox.sqlite") else {
            throw ConfigurationError(key: "--from", value: sourceDirectory, problem: "no letterbox.sqlite in this directory")
        }
        // The copy needs the source at rest: hold the lock `serve` takes, so neither runs while the other does.
        let runtime = RuntimeFiles(dataDirectory: sourceDirectory)
        guard let lock = try runtime.tryLock(for: "migrate-store") else {
            throw ConfigurationError(key: "--from", value: sourceDirectory,
                                     problem: "\(runtime.holderDescription.replacingOccurrences(of: "another ", with: "")) is using this store; stop it first (the copy needs the store at rest)")
        }
        defer { close(lock) }
        let source = SQLiteMailStore(database: try SQLiteDatabase(path: sourceDirectory + "/letterbox.sqlite"),
                                     blobs: try FileBlobStore(directory: sourceDirectory + "/blobs"))
        let sourceDirectoryStore = SQLiteDirectoryStore(store: source)
        let database = try PostgresDatabase(location: location, poolSize: 4)
        defer { database.shutdown() }
        try await database.ready()
        let destination = PostgresMailStore(database: database)
        let destinationDirectory = PostgresDirectoryStore(store: destination)
        guard try await destination.isEmptyForImport() else {
            throw ConfigurationError(key: "--to", value: location.description, problem: "the database already holds domains or accounts; migrate into an empty one")
        }

        var summary = Summary()
        for domain in try await sourceDirectoryStore.domains() {
            try await destinationDirectory.addDomain(domain)
            summary.domains += 1
        }
        let accounts = try await sourceDirectoryStore.accounts(in: nil)
        var pairs: [(source: MailboxInfo, destination: MailboxID)] = []
        var total = 0
        for account in accounts { for mailbox in try await source.mailboxes(of: account.id) { total += try await source.status(of: mailbox.id).messages } }
        var copied = 0
        var copiedBlobs: Set<BlobID> = []
        for account in accounts {
            let newAccount = try await destination.importAccount(account)
            summary.accounts += 1
            for grant in try await sourceDirectoryStore.sendAsGrants(account: account.id) {
                try await destinationDirectory.addSendAsGrant(account: newAccount, grant: grant)
            }
            try await destination.importSubscriptions(try await source.subscriptions(of: account.id), account: newAccount)
            for mailbox in try await source.mailboxes(of: account.id) {
                let newMailbox = try await destination.importMailbox(mailbox, account: newAccount)
                pairs.append((mailbox, newMailbox))
                summary.mailboxes += 1
                let records = try await source.messages(in: mailbox.id)
                for chunk in stride(from: 0, to: records.count, by: 200).map({ records[$0..<min($0 + 200, records.count)] }) {
                    var batch: [ImportedMessage] = []
                    for record in chunk {
                        if copiedBlobs.insert(record.blob).inserted {
                            try await copyBlob(record.blob, from: source.blobs, to: destination.blobs)
                            summary.blobs += 1
                        }
                        let summaryViews = try await source.summary(in: mailbox.id, uid: record.uid) ?? MessageSummary()
                        batch.append(ImportedMessage(record: record, summary: summaryViews))
                    }
                    try await destination.importMessages(batch, into: newMailbox)
                    copied += batch.count
                    summary.messages += batch.count
                    progress("messages", copied, total)
                }
                try await destination.importExpunged(try await source.expungeLog(in: mailbox.id), into: newMailbox)
                try await destination.importRecent(try await source.recentUIDs(in: mailbox.id), into: newMailbox)
            }
        }
        for alias in try await sourceDirectoryStore.aliases() {
            try await destinationDirectory.addAlias(alias)
            summary.aliases += 1
        }
        for entry in try await source.queueEntries() {
            if copiedBlobs.insert(entry.blob).inserted {
                try await copyBlob(entry.blob, from: source.blobs, to: destination.blobs)
                summary.blobs += 1
            }
            try await destination.enqueue(entry)
            summary.queued += 1
        }
        try await destination.importQueueHistory(try await source.queueHistory(limit: 1_000_000))
        try await destination.finishImport()
        // The DKIM keys, which the nodes share through the database (and mirror to their data directories).
        let keys = DKIMKeyStore(dataDirectory: sourceDirectory).allKeys()
            .map { StoredDKIMKey(domain: $0.domain, selector: $0.selector, pem: $0.pem, isActive: $0.isActive) }
        try await destination.importDKIMKeys(keys)
        guard Set(try await destination.dkimKeys()) == Set(keys) else {
            throw ConfigurationError(key: "--to", value: nil, problem: "the copied DKIM keys differ from the source's")
        }
        summary.dkimKeys = keys.count

        try await verify(source: source, sourceDirectory: sourceDirectoryStore, destination: destination,
                         destinationDirectory: destinationDirectory, pairs: pairs, blobs: copiedBlobs)
        return summary
    }

    private func copyBlob(_ id: BlobID, from source: any BlobStore, to destination: any BlobStore) async throws {
        let bytes = try await source.get(id)
        let stored = try await destination.put(bytes)
        guard stored == id else { throw MailStoreError.storage("blob \(id.hex) changed while copying (now \(stored.hex))") }
    }

    /// Compares everything again, reading from both stores: directory, every mailbox's counters, every message's record
    /// and expunge log, and every blob's bytes by their SHA-256.
    private func verify(
        source: SQLiteMailStore, sourceDirectory: SQLiteDirectoryStore, destination: PostgresMailStore, destinationDirectory: PostgresDirectoryStore,
        pairs: [(source: MailboxInfo, destination: MailboxID)], blobs: Set<BlobID>
    ) async throws {
        func mismatch(_ what: String) -> MailStoreError { .storage("verification failed: \(what) differs after the copy") }
        guard try await sourceDirectory.domains() == destinationDirectory.domains() else { throw mismatch("the domain list") }
        func described(_ directory: any DirectoryStore) async throws -> [[String]] {
            var rows: [[String]] = []
            for account in try await directory.accounts(in: nil) {
                let grants = try await directory.sendAsGrants(account: account.id).joined(separator: " ")
                rows.append([account.address.description, account.credential, "\(account.disabled)", "\(account.quota ?? -1)",
                             "\(account.trustedRelay)", grants])
            }
            return rows
        }
        guard try await described(sourceDirectory) == described(destinationDirectory) else { throw mismatch("the account list") }
        guard try await sourceDirectory.aliases() == destinationDirectory.aliases() else { throw mismatch("the alias list") }
        var checked = 0
        for (index, pair) in pairs.enumerated() {
            guard let copy = try await destination.mailbox(id: pair.destination),
                  copy.name == pair.source.name, copy.uidValidity == pair.source.uidValidity, copy.uidNext == pair.source.uidNext,
                  copy.highestModSeq == pair.source.highestModSeq, copy.specialUse == pair.source.specialUse else {
                throw mismatch("mailbox \(pair.source.name)")
            }
            guard try await source.messages(in: pair.source.id) == destination.messages(in: pair.destination) else {
                throw mismatch("the messages of \(pair.source.name)")
            }
            let expungedBefore = try await source.expungeLog(in: pair.source.id).map { "\($0.uid):\($0.modSeq)" }
            let expungedAfter = try await destination.expungeLog(in: pair.destination).map { "\($0.uid):\($0.modSeq)" }
            guard expungedBefore == expungedAfter else { throw mismatch("the expunge log of \(pair.source.name)") }
            checked = index + 1
            progress("verifying mailboxes", checked, pairs.count)
        }
        guard try await source.queueEntries() == destination.queueEntries() else { throw mismatch("the outbound queue") }
        var verified = 0
        for blob in blobs {
            let bytes = try await destination.blobs.get(blob)
            let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            guard digest == blob.hex else { throw mismatch("message data \(blob.hex)") }
            verified += 1
            if verified % 100 == 0 || verified == blobs.count { progress("verifying message data", verified, blobs.count) }
        }
    }
}
