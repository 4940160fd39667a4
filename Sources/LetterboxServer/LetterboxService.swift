import Directory
import Foundation
import Logging
import ServiceLifecycle

/// `letterbox serve`: opens the store, prepares TLS material and the development account, starts every listener in one
/// ServiceGroup and runs until SIGTERM/SIGINT (graceful shutdown).
public enum LetterboxService {
    public static func run(configuration: LetterboxConfiguration) async throws {
        let logger = Logger(label: "letterbox")
        let system = try MailSystem(configuration: configuration, mode: .createIfMissing)
        var banner: [String] = []
        if configuration.developmentMode {
            let password = try await DevelopmentSetup.ensureDemoAccount(in: system)
            banner += [
                "Letterbox is running in development mode (data in \(configuration.dataDirectory)).",
                "  account:  \(DevelopmentSetup.account)",
                "  password: \(password)",
            ]
        }
        let runtime = RuntimeFiles(dataDirectory: configuration.dataDirectory)
        let ready = ReadyService(runtime: runtime, listeners: [:], banner: banner, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [ready], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        runtime.removeListenerFile()
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
        let data = try JSONSerialization.data(withJSONObject: ["pid": Int(getpid()), "listeners": listeners], options: [.sortedKeys])
        let temporary = directory + "/listeners.json.tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        _ = rename(temporary, directory + "/listeners.json")
    }

    func removeListenerFile() {
        try? FileManager.default.removeItem(atPath: directory + "/listeners.json")
    }
}

/// Announces readiness (listener file, banner) and then waits for graceful shutdown.
struct ReadyService: Service {
    let runtime: RuntimeFiles
    let listeners: [String: String]
    let banner: [String]
    let logger: Logger

    func run() async throws {
        try runtime.writeListeners(listeners)
        var text = banner
        for (service, address) in listeners.sorted(by: { $0.key < $1.key }) { text.append("  \(service): \(address)") }
        if !text.isEmpty { FileHandle.standardOutput.write(Data((text.joined(separator: "\n") + "\n").utf8)) }
        logger.info("letterbox ready", metadata: ["listeners": "\(listeners.count)"])
        try? await gracefulShutdown()
    }
}
