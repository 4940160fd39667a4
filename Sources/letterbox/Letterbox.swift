/// `letterbox`: the command-line interface — `serve` and the administration commands. Parses arguments and nothing else;
/// everything it does is in LetterboxServer.
import ArgumentParser
import Foundation
import LetterboxServer

struct Letterbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "letterbox",
        abstract: "A complete, self-hosted mail server: SMTP, IMAP and storage in one binary.",
        subcommands: [Serve.self, DomainCommand.self, UserCommand.self, AliasCommand.self, QueueCommand.self, DKIMCommand.self, DNSCommand.self, DoctorCommand.self, MigrateStoreCommand.self, GCCommand.self]
    )
}

/// `--data-dir DIR | --config FILE`, shared by every administration command. Run as root on a data directory that
/// belongs to the server's user, the command becomes that user once the configuration is read (so what it creates —
/// a SQLite WAL, a DKIM key, a lock file — is the server's; see `ServerUser.adoptDataDirectoryOwner`).
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Data directory of the server.", valueName: "DIR"))
    var dataDir: String?

    @Option(name: .long, help: ArgumentHelp("Configuration file (its data_dir is used).", valueName: "FILE"))
    var config: String?

    func configuration() throws -> LetterboxConfiguration {
        var configuration = LetterboxConfiguration()
        if let config { configuration = try LetterboxConfiguration.load(path: config) }
        if let dataDir { configuration.dataDirectory = dataDir }
        try ServerUser.adoptDataDirectoryOwner(configuration.dataDirectory)
        return configuration
    }

    func open(_ mode: MailSystem.OpenMode) throws -> MailSystem {
        try MailSystem(configuration: configuration(), mode: mode)
    }
}

/// An administration error: printed as one line on standard error, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension AsyncParsableCommand {
    /// Runs an administration action and turns any error into one clear line.
    func administer(_ action: () async throws -> Void) async throws {
        do {
            try await action()
        } catch let error as CommandFailure {
            throw error
        } catch let error as any CustomStringConvertible & Error {
            throw CommandFailure(error.description)
        }
    }
}
