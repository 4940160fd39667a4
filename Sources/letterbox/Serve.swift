import ArgumentParser
import Foundation
import LetterboxServer
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the mail server (every configured listener) until SIGTERM or SIGINT.",
        discussion: "Flags override the configuration file. A listener address of 'off' disables that service.")

    @Option(help: ArgumentHelp("Configuration file (TOML).", valueName: "FILE")) var config: String?
    @Option(help: ArgumentHelp("Data directory.", valueName: "DIR")) var dataDir: String?
    @Option(help: ArgumentHelp("Host name for greetings, Received headers and the certificate.", valueName: "NAME")) var hostname: String?
    @Option(help: ArgumentHelp("MX listener (inbound mail).", valueName: "ADDR:PORT")) var smtp: String?
    @Option(help: ArgumentHelp("Submission listener (STARTTLS).", valueName: "ADDR:PORT")) var submission: String?
    @Option(help: ArgumentHelp("Submission listener (implicit TLS).", valueName: "ADDR:PORT")) var submissions: String?
    @Option(help: ArgumentHelp("IMAP listener (STARTTLS).", valueName: "ADDR:PORT")) var imap: String?
    @Option(help: ArgumentHelp("IMAP listener (implicit TLS).", valueName: "ADDR:PORT")) var imaps: String?
    @Option(help: ArgumentHelp("HTTP listener (autoconfig, MTA-STS, metrics).", valueName: "ADDR:PORT")) var http: String?
    @Option(help: ArgumentHelp("TLS certificate chain (PEM).", valueName: "PEM")) var tlsCert: String?
    @Option(help: ArgumentHelp("TLS private key (PEM).", valueName: "PEM")) var tlsKey: String?
    @Option(help: ArgumentHelp("DNS resolver for MX/SPF/DKIM/DMARC lookups (repeatable).", valueName: "ADDR:PORT")) var dns: [String] = []
    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical.", valueName: "LEVEL")) var logLevel: String?
    @Flag(help: "Development mode: loopback ports 2525/2587/2465/2143/2993/8080, ./letterbox-data, self-signed certificate, demo account.")
    var dev = false

    func run() async throws {
        do {
            let configuration = try resolvedConfiguration()
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
                return handler
            }
            try await LetterboxService.run(configuration: configuration)
        } catch {
            throw CommandFailure(error.description)
        }
    }

    func resolvedConfiguration() throws(ConfigurationError) -> LetterboxConfiguration {
        var configuration = dev ? LetterboxConfiguration.development() : LetterboxConfiguration()
        if let config { configuration = try LetterboxConfiguration.load(path: config, base: configuration) }
        if let dataDir { configuration.dataDirectory = dataDir }
        if let hostname { configuration.hostname = hostname }
        let overrides: [(LetterboxConfiguration.Service, String?)] = [
            (.smtp, smtp), (.submission, submission), (.submissions, submissions), (.imap, imap), (.imaps, imaps), (.http, http),
        ]
        for (service, value) in overrides {
            guard let value else { continue }
            if value == "off" || value.isEmpty { configuration.listeners[service] = nil; continue }
            guard let address = ListenAddress(value) else {
                throw ConfigurationError(key: "--\(service.rawValue)", value: value, problem: "expected ADDR:PORT (or 'off')")
            }
            configuration.listeners[service] = address
        }
        if let tlsCert { configuration.tlsCertificate = tlsCert }
        if let tlsKey { configuration.tlsKey = tlsKey }
        for server in dns where ListenAddress(server) == nil {
            throw ConfigurationError(key: "--dns", value: server, problem: "expected ADDR:PORT, e.g. 127.0.0.1:53")
        }
        if !dns.isEmpty { configuration.dnsServers = dns }
        if let logLevel {
            guard Logger.Level(rawValue: logLevel) != nil else {
                throw ConfigurationError(key: "--log-level", value: logLevel, problem: "must be one of trace, debug, info, notice, warning, error, critical")
            }
            configuration.logLevel = logLevel
        }
        try configuration.validate()
        return configuration
    }
}
