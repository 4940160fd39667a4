import Delivery
import Directory
import Foundation
import HTTPServer
import Logging
import MailStorePostgres
import ServerCore
import ServiceLifecycle
import UnixSignals

/// `letterbox serve`: opens the store, prepares TLS material and the development account, starts every listener in one
/// ServiceGroup and runs until SIGTERM/SIGINT (graceful shutdown). SIGHUP reloads the TLS certificate.
///
/// Invariant (`[server] user`): nothing is served and no gated service runs until `ReadyService` has seen every
/// listener bound, given the data directory to the server user and switched to it for good; until then listeners hold
/// accepted connections unserved (`ServingGate`) and HTTP requests wait.
public enum LetterboxService {
    public static func run(configuration: LetterboxConfiguration) async throws(ConfigurationError) {
        let logger = Logger(label: "letterbox")
        let plan = try ServerUser.plan(for: configuration, logger: logger)
        _ = LetterboxMetrics.registry   // bootstraps swift-metrics before any instrument is made (HTTPWiring)
        let system = try MailSystem(configuration: configuration, mode: .createIfMissing)
        let runtime = RuntimeFiles(dataDirectory: configuration.dataDirectory)
        let serveLock = try runtime.lockForServe()
        defer { close(serveLock) }
        try await system.ready()
        do { try await system.synchronizeDKIMKeys() } catch {
            logger.warning("cannot read the shared DKIM keys; signing with the keys on disk", metadata: ["error": "\(error)"])
        }
        var banner: [String] = []
        if configuration.developmentMode {
            let password: String
            do { password = try await DevelopmentSetup.ensureDemoAccount(in: system) } catch {
                throw ConfigurationError(key: "--dev", value: nil, problem: "cannot create the demo account: \(error)")
            }
            banner += [
                "Letterbox is running in development mode (data in \(configuration.dataDirectory)).",
                "  account:  \(DevelopmentSetup.account)",
                "  password: \(password)",
                "  connect a mail client to \(configuration.hostname): IMAP with TLS on the imaps port, SMTP submission with TLS on the submissions port (below).",
            ]
        }
        let certificates = try TLSSetup.certificateStore(for: configuration, logger: logger)
        let queue = MeteredQueueStore(base: system.queueStore)   // queue metrics (HTTPWiring)
        let agent = DeliveryAgent(
            store: system.mailStore, queue: queue, defaultQuota: configuration.defaultQuota,
            summarize: MessageSummaries.summarize)
        let gate = ServingGate()
        let context = ServerContext(configuration: configuration, system: system, delivery: agent, certificates: certificates,
                                    gate: gate, logger: logger)
        let resolver = try DeliveryWiring.resolver(configuration)
        let runner = QueueRunner(
            queue: queue, blobs: system.mailStore.blobs, agent: agent, directory: system.directory,
            resolver: resolver, configuration: try DeliveryWiring.outbound(configuration),
            logger: logger)
        let authentication = MailAuthWiring.authentication(configuration, resolver: resolver, logger: logger)
        let endpoints = try SMTPWiring.endpoints(context, authentication: authentication) + IMAPWiring.endpoints(context)
        var listeners: [(LetterboxConfiguration.Service, Listener)] = []
        for endpoint in endpoints {
            do {
                listeners.append((endpoint.service, try Listener(
                    configuration: endpoint.listener, certificates: certificates, gate: gate, logger: logger, handler: endpoint.handler)))
            } catch {
                throw ConfigurationError(key: "listen.\(endpoint.service.rawValue)", value: nil, problem: error.description)
            }
        }
        let http = try HTTPWiring.endpoint(context, listeners: listeners)
        let ready = ReadyService(runtime: runtime, listeners: listeners, banner: banner, logger: logger, http: http, gate: gate) {
            () throws(ConfigurationError) in
            guard case .switchTo(let account) = plan else { return }
            let report = try ServerUser.takeOwnership(of: configuration.dataDirectory, uid: account.uid, gid: account.gid)
            for path in report.skipped {
                logger.warning("left a hard-linked file's owner alone (a link into the data directory from elsewhere?)", metadata: ["file": "\(path)"])
            }
            try ServerUser.switchTo(account)
            try ServerUser.checkAccess(configuration, account: account, logger: logger)
            logger.notice("switched to the server user", metadata: [
                "user": "\(account.name)", "uid": "\(account.uid)", "gid": "\(account.gid)", "owner_changes": "\(report.changed)"])
        }
        let reload = CertificateReloadService(certificates: certificates, logger: logger)
        let interval = configuration.store.gcIntervalSeconds
        let sharing: [any Service] = system.dkimSharing.map { [$0.service(logger: logger)] } ?? []
        let collection: [any Service] = interval == 0 ? [] : [BlobCollection(store: system.mailStore).service(every: .seconds(interval), logger: logger)]
        let registry = system.authenticator.sessions
        let sessionSweep = PeriodicService(interval: SessionRegistry.sweepInterval, logger: logger,
                                           failure: "cannot check the accounts of open sessions; trying again") {
            let ended = try await registry.sweep()
            if ended > 0 { logger.notice("ended the sessions of disabled or removed accounts", metadata: ["sessions": "\(ended)"]) }
        }
        // The certificate reload is not gated: it traps SIGHUP from the start (a SIGHUP while the data directory is
        // being given to the server user must not end the process), and before the switch it reads what start read.
        let gated: [any Service] = [QueueRunnerService(runner: runner)]
            + (system.postgres.map { [ChangeListenerService(store: $0) as any Service] } ?? []) + collection + sharing + [sessionSweep]
        let group = ServiceGroup(configuration: .init(
            services: listeners.map { $0.1 as any Service } + (http.map { [$0 as any Service] } ?? []) + [ready, reload]
                + gated.map { GatedService(gate: gate, base: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer { runtime.removeListenerFile() }
        do {
            try await group.run()
        } catch let error as ConfigurationError {
            throw error
        } catch let error as ListenerError {
            if case .bindFailed(let name, let host, let port, let reason) = error {
                let hint = reason.lowercased().contains("in use") ? "address already in use (another server is listening there)" : reason
                throw ConfigurationError(key: "listen.\(name)", value: ListenAddress(host: host, port: port).description, problem: hint)
            }
            throw ConfigurationError(key: "serve", value: nil, problem: error.description)
        } catch {
            throw ConfigurationError(key: "serve", value: nil, problem: "\(error)")
        }
        logger.info("letterbox stopped")
    }
}

/// Files in `DATA_DIR/run/` that tell tests and tools what the running server is doing: `listeners.json` maps each service
/// to the address it is bound to (the real port when the configuration said port 0). Written once every listener is bound.
struct RuntimeFiles: Sendable {
    let directory: String

    init(dataDirectory: String) {
        directory = dataDirectory + "/run"
    }

    func writeListeners(_ listeners: [String: String]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Who serves (after any switch to `[server] user`): `letterbox doctor` fails when it is root.
        let object: [String: Any] = [
            "pid": Int(getpid()), "uid": Int(getuid()), "gid": Int(getgid()), "user": ServerUser.passwdEntry(uid: getuid())?.name ?? "",
            "listeners": listeners,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        let temporary = directory + "/listeners.json.tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        _ = rename(temporary, directory + "/listeners.json")
    }

    /// One `serve` per data directory: a second one would run a second queue runner over the same queue (every message
    /// sent twice) and fight over the listeners file. An exclusive `flock` on `run/serve.lock`, held for the life of the
    /// process (the kernel releases it however the process ends, `kill -9` included); the file names the holder's pid.
    /// `migrate-store` takes the same lock on its source, so the copy and a server never run on one store at once.
    func lockForServe() throws(ConfigurationError) -> Int32 {
        guard let fd = try tryLock(for: "serve") else {
            throw ConfigurationError(
                key: "data_dir", value: String(directory.dropLast("/run".count)),
                problem: "\(holderDescription) is using it; stop it first, or give this one a data_dir of its own")
        }
        return fd
    }

    /// The locked descriptor, or nil when a running `serve` (or `migrate-store`) holds the lock. `command` is written
    /// into the file with the pid, for the message the next one gets.
    func tryLock(for command: String) throws(ConfigurationError) -> Int32? {
        let path = directory + "/serve.lock"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else {
            throw ConfigurationError(key: "data_dir", value: nil, problem: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        let holder = Array("\(getpid()) \(command)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = holder.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return fd
    }

    /// "another letterbox serve (pid 123)", from the lock file.
    var holderDescription: String {
        let text = (try? String(contentsOfFile: directory + "/serve.lock", encoding: .utf8)) ?? ""
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2 else { return "another letterbox process" }
        return "another letterbox \(fields[1]) (pid \(fields[0]))"
    }

    func removeListenerFile() {
        try? FileManager.default.removeItem(atPath: directory + "/listeners.json")
    }
}

/// Waits until every listener is bound, runs `beforeServing` (the switch to the server user), opens the gate, announces
/// readiness (listener file, banner), then waits for graceful shutdown. A failing `beforeServing` ends the server.
struct ReadyService: Service {
    let runtime: RuntimeFiles
    let listeners: [(LetterboxConfiguration.Service, Listener)]
    let banner: [String]
    let logger: Logger
    var http: HTTPWiring.Endpoint?
    let gate: ServingGate
    let beforeServing: @Sendable () throws(ConfigurationError) -> Void

    func run() async throws {
        var bound: [String: String] = [:]
        for (service, listener) in listeners {
            guard let address = try? await listener.boundAddress else {
                // The listener failed to bind: its own error ends the group (and names the address). Wait to be
                // cancelled rather than return, which the group would report as a service that ended unexpectedly.
                try? await gracefulShutdown()
                return
            }
            bound[service.rawValue] = "\(address.ipAddress ?? listener.configuration.host):\(address.port ?? listener.configuration.port)"
        }
        if let http {
            guard let address = await http.boundAddress() else { try? await gracefulShutdown(); return }
            bound["http"] = address
        }
        try beforeServing()
        gate.open()
        try runtime.writeListeners(bound)
        var text = banner
        for (service, address) in bound.sorted(by: { $0.key < $1.key }) { text.append("  \(service): \(address)") }
        if !text.isEmpty { FileHandle.standardOutput.write(Data((text.joined(separator: "\n") + "\n").utf8)) }
        logger.info("letterbox ready", metadata: ["listeners": "\(bound.count)"])
        try? await gracefulShutdown()
    }
}

/// A service that starts only once the gate opens (after the switch to the server user): nothing it writes is root's.
/// Shut down before that, it never starts.
struct GatedService: Service {
    let gate: ServingGate
    let base: any Service

    func run() async throws {
        await cancelWhenGracefulShutdown { await gate.wait() }
        if Task.isShuttingDownGracefully { return }
        try Task.checkCancellation()
        try await base.run()
    }
}

/// Carries other nodes' mailbox changes to this node's IMAP sessions (PostgreSQL LISTEN/NOTIFY).
struct ChangeListenerService: Service {
    let store: PostgresMailStore

    func run() async throws {
        await cancelWhenGracefulShutdown { await store.listenForChanges() }
    }
}

/// Reloads the TLS certificate on SIGHUP: new connections get the new certificate, live ones keep theirs.
struct CertificateReloadService: Service {
    let certificates: TLSCertificateStore
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                do {
                    try certificates.reload()
                    logger.notice("TLS certificate reloaded")
                } catch {
                    logger.error("TLS certificate reload failed; keeping the previous one", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
