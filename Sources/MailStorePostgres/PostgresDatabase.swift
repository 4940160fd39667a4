/// MailStorePostgres: the multi-node backend — metadata, the outbound queue and message bytes in one PostgreSQL database
/// that several `letterbox` nodes share (postgres-nio).
///
/// - UIDs and modseqs are allocated under the mailbox row's lock (`UPDATE mailbox … RETURNING`), so commit order equals
///   allocation order and every node sees them strictly ascending.
/// - Changes are announced with `NOTIFY letterbox_changes` inside the changing transaction (PostgreSQL delivers it only at
///   commit); each node's listener republishes them into its local `MailboxChangeFeed`. After a dropped listener every
///   local subscriber is woken, and resynchronises from its modseq.
/// - Queue entries are claimed per node (`FOR UPDATE SKIP LOCKED`); a node's claims lapse when its heartbeat stops.
/// - Schema migrations run under a transaction-level advisory lock, so nodes starting together migrate once.
import Logging
import MailCore
import MailStore
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// Where the database is and how to reach it: `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=…&sslrootcert=…`
/// (libpq's URL form). `sslmode` is `disable`, `prefer` (the default, as in libpq), `require` (encrypted, unverified) or
/// `verify-full` (encrypted, certificate and host name verified against `sslrootcert` or the system roots).
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    public enum TLSMode: String, Sendable { case disable, prefer, require, verifyFull = "verify-full" }
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    public var rootCertificate: String?

    /// Parses a connection URL; the error text names what is wrong.
    public init(url: String) throws(MailStoreError) {
        let scheme = ["postgres://", "postgresql://"].first { url.hasPrefix($0) }
        guard let scheme else { throw .storage("the PostgreSQL URL must start with postgres:// (got \(Self.redacted(url)))") }
        var rest = Substring(url.dropFirst(scheme.count))
        var query: [String: String] = [:]
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                query[String(parts[0])] = parts.count > 1 ? Self.percentDecoded(parts[1]) : ""
            }
            rest = rest[..<mark]
        }
        var path = ""
        if let slash = rest.firstIndex(of: "/") {
            path = String(rest[rest.index(after: slash)...])
            rest = rest[..<slash]
        }
        var userInfo: Substring = ""
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        let credentials = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        user = credentials.first.map(Self.percentDecoded) ?? ""
        password = credentials.count > 1 ? Self.percentDecoded(credentials[1]) : nil
        if user.isEmpty { user = "postgres" }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            port = rest.hasPrefix(":") ? Int(rest.dropFirst()) ?? -1 : 5432
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            port = Int(rest[rest.index(after: colon)...]) ?? -1
        } else {
            host = String(rest)
            port = 5432
        }
        if host.isEmpty { host = "localhost" }
        guard (1...65535).contains(port) else { throw .storage("the port in the PostgreSQL URL is not a number from 1 to 65535") }
        database = path.isEmpty ? user : Self.percentDecoded(Substring(path))
        let mode = query["sslmode"] ?? "prefer"
        guard let tls = TLSMode(rawValue: mode == "verify-ca" ? "verify-full" : mode) else {
            throw .storage("sslmode=\(mode) is not one of disable, prefer, require, verify-full")
        }
        self.tls = tls
        rootCertificate = query["sslrootcert"]
    }

    /// The URL with the password replaced by `***`, for logs and error messages.
    public var description: String {
        "postgres://\(user)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }

    static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let colon = url[..<at].lastIndex(of: ":"), url[..<colon].hasSuffix("/") == false else { return url }
        return String(url[...colon]) + "***" + url[at...]
    }

    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
               let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The TLS settings for `tls` (nil: no TLS). `require` encrypts without checking the certificate, as libpq does;
    /// `verify-full` checks the chain and, when `host` is a name, that the certificate is for it (an IP address cannot be
    /// checked that way, so with one only the chain is verified).
    func tlsConfiguration() -> TLSConfiguration? {
        guard tls != .disable else { return nil }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if tls == .verifyFull {
            configuration.certificateVerification = .fullVerification
            if let rootCertificate { configuration.trustRoots = .file(rootCertificate) }
        } else {
            configuration.certificateVerification = .none
        }
        return configuration
    }

    func clientConfiguration(poolSize: Int) -> PostgresClient.Configuration {
        let tlsSetting: PostgresClient.Configuration.TLS
        switch (tls, tlsConfiguration()) {
        case (.prefer, let configuration?): tlsSetting = .prefer(configuration)
        case (_, let configuration?): tlsSetting = .require(configuration)
        case (_, nil): tlsSetting = .disable
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tlsSetting)
        configuration.options.maximumConnections = max(2, poolSize)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    /// One direct connection attempt: the pool retries failed connections with back-off for a minute, this answers at
    /// once with the reason (wrong password, certificate not trusted, nothing listening).
    func probe(logger: Logger) async throws {
        let tlsSetting: PostgresConnection.Configuration.TLS
        switch (tls, tlsConfiguration()) {
        case (.prefer, let configuration?): tlsSetting = .prefer(try NIOSSLContext(configuration: configuration))
        case (_, let configuration?): tlsSetting = .require(try NIOSSLContext(configuration: configuration))
        case (_, nil): tlsSetting = .disable
        }
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: user, password: password, database: database, tls: tlsSetting)
        configuration.options.connectTimeout = .seconds(10)
        let connection = try await PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 0, logger: logger).get()
        try await connection.close()
    }
}

/// The shared PostgreSQL database: a connection pool whose run loop this object owns, the schema migrations, and the
/// transaction helper every store method goes through.
public final class PostgresDatabase: Sendable {
    public let location: PostgresLocation
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>
    /// Completes when the schema is current; every operation waits for it first.
    private let migrated: Task<Void, any Error>

    /// Opens the pool (connections are made on demand) and starts the migrations in the background (unless `migrate` is
    /// false: a connection for administration, e.g. to create a database).
    public init(location: PostgresLocation, poolSize: Int = 20, migrate: Bool = true, logger: Logger = Logger(label: "letterbox.postgres")) throws {
        self.location = location
        self.logger = logger
        let client = PostgresClient(configuration: location.clientConfiguration(poolSize: poolSize), backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
        migrated = Task {
            do { try await location.probe(logger: logger) } catch {
                throw MailStoreError.storage("cannot connect to PostgreSQL at \(location): \(Self.storageError(error).description.replacingOccurrences(of: "storage error: PostgreSQL: ", with: ""))")
            }
            if migrate { try await PostgresSchema.migrate(client, logger: logger) }
        }
    }

    deinit { runner.cancel() }

    /// Waits for the schema; throws the migration's error (e.g. the database cannot be reached) as a storage error.
    public func ready() async throws {
        do { try await migrated.value } catch let error as MailStoreError { throw error } catch { throw Self.storageError(error) }
    }

    /// Stops the pool's run loop (its connections close).
    public func shutdown() { runner.cancel() }

    /// Runs one SQL statement given as text (administration: `CREATE DATABASE …`); nothing is bound.
    public func execute(_ sql: String) async throws {
        _ = try await rows(PostgresQuery(unsafeSQL: sql))
    }

    /// Whether this node's connections to the database are encrypted (`pg_stat_ssl`), for `doctor` and the tests.
    public func connectionIsEncrypted() async throws -> Bool {
        try await rows("SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)").first?.decode(Bool.self) ?? false
    }

    /// The server settings an acknowledged message's durability depends on, as this node's sessions see them.
    public func durabilitySettings() async throws -> (fsync: String, synchronousCommit: String) {
        let row = try await rows("SELECT current_setting('fsync'), current_setting('synchronous_commit')").first
        return try row?.decode((String, String).self) ?? ("?", "?")
    }

    /// How many sessions are listening for changes (`pg_stat_activity`), for `doctor` and the tests.
    public func listeners() async throws -> Int {
        try await rows("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = current_database()").first?.decode(Int.self) ?? 0
    }

    /// The schema version this database is at.
    public func schemaVersion() async throws -> Int {
        try await rows("SELECT coalesce(max(version), 0)::bigint FROM schema_migration").first?.decode(Int.self) ?? 0
    }

    /// Runs `body` in one transaction, retrying (up to 5 times) when PostgreSQL aborts it for a serialization failure or
    /// a deadlock: the body must be safe to run again from the start.
    func transaction<T: Sendable>(_ body: @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await ready()
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
            } catch let error as MailStoreError {
                throw error
            } catch let error as PostgresTransactionError {
                if let closureError = error.closureError as? MailStoreError { throw closureError }
                let underlying = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError
                if attempt < 5, let underlying, Self.isRetryable(underlying) { continue }
                throw Self.storageError(underlying ?? error)
            } catch {
                if attempt < 5, Self.isRetryable(error) { continue }
                throw Self.storageError(error)
            }
        }
    }

    /// Runs one statement outside a transaction and returns its rows.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await ready()
        do { return try await client.query(query, logger: logger).collect() } catch { throw Self.storageError(error) }
    }

    static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }


    static func storageError(_ error: any Error) -> MailStoreError {
        if let error = error as? MailStoreError { return error }
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                return .storage("PostgreSQL: \(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))")
            }
            return .storage("PostgreSQL: \(error.code)\(error.underlying.map { ": \($0)" } ?? "")")
        }
        return .storage("PostgreSQL: \(error)")
    }
}

extension PostgresConnection {
    /// All rows of one statement.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).collect()
    }

    /// Runs a statement for its effect.
    func run(_ query: PostgresQuery, logger: Logger) async throws {
        _ = try await self.query(query, logger: logger).collect()
    }
}
