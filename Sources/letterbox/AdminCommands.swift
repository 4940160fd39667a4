import ArgumentParser
import Foundation
import LetterboxServer
import Synchronization

struct DomainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domain", abstract: "Manage the mail domains this server receives mail for.",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a domain.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The domain, e.g. example.org.") var domain: String
        func run() async throws {
            try await administer {
                let added = try await store.open(.createIfMissing).addDomain(domain)
                print("added domain \(added) (DKIM keys made; publish the records from: letterbox dns \(added))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List domains.")
        @OptionGroup var store: StoreOptions
        func run() async throws {
            try await administer {
                for domain in try await store.open(.mustExist).directory.domains() { print(domain) }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a domain that has no users or aliases left.")
        @OptionGroup var store: StoreOptions
        @Argument var domain: String
        func run() async throws {
            try await administer {
                try await store.open(.mustExist).directory.removeDomain(domain)
                print("removed domain \(domain.lowercased())")
            }
        }
    }
}

/// `--password P | --password-stdin`.
struct PasswordOptions: ParsableArguments {
    @Option(help: "The password (visible in the process list and shell history; prefer --password-stdin).")
    var password: String?

    @Flag(help: "Read the password from the first line of standard input.")
    var passwordStdin = false

    func read() throws -> String {
        switch (password, passwordStdin) {
        case (let password?, false): return password
        case (nil, true):
            guard let line = Swift.readLine(strippingNewline: true) else { throw CommandFailure("no password on standard input") }
            return line.hasSuffix("\r") ? String(line.dropLast()) : line
        case (nil, false): throw CommandFailure("give the password with --password or --password-stdin")
        case (_?, true): throw CommandFailure("give either --password or --password-stdin, not both")
        }
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage user accounts (one mailbox set per address).",
        subcommands: [Add.self, List.self, Passwd.self, Quota.self, Remove.self, Disable.self, Enable.self, Update.self, SendAs.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user; the domain must exist.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The user's email address.") var email: String
        @OptionGroup var password: PasswordOptions
        func run() async throws {
            try await administer {
                let secret = try password.read()
                let account = try await store.open(.mustExist).directory.addUser(email, password: secret)
                print("added user \(account.address)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users, optionally of one domain.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Only users of this domain.") var domain: String?
        func run() async throws {
            try await administer {
                for account in try await store.open(.mustExist).directory.users(in: domain) {
                    let marks = [account.disabled ? "disabled" : nil, account.trustedRelay ? "trusted relay" : nil].compactMap { $0 }
                    print(marks.isEmpty ? account.address.description : "\(account.address) (\(marks.joined(separator: ", ")))")
                }
            }
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's password.")
        @OptionGroup var store: StoreOptions
        @Argument var email: String
        @OptionGroup var password: PasswordOptions
        func run() async throws {
            try await administer {
                let secret = try password.read()
                try await store.open(.mustExist).directory.setPassword(email, password: secret)
                print("password changed for \(email)")
            }
        }
    }

    struct Quota: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a user's storage use and quota, or set the quota.",
            discussion: "SIZE is octets or a K/M/G suffix (\"2G\"), \"unlimited\", or \"default\" (the configured quota.default).")
        @OptionGroup var store: StoreOptions
        @Argument var email: String
        @Argument(help: "The new quota.") var size: String?
        func run() async throws {
            try await administer {
                let system = try store.open(.mustExist)
                if let size {
                    let quota: Int64?
                    switch size.lowercased() {
                    case "default": quota = nil
                    case "unlimited": quota = 0
                    default:
                        guard let octets = LetterboxConfiguration.parseSize(size), octets > 0 else {
                            throw CommandFailure("'\(size)' is not a size (e.g. 2G, 500M, unlimited, default)")
                        }
                        quota = octets
                    }
                    try await system.directory.setQuota(email, quota: quota)
                }
                let report = try await system.quotaReport(email)
                let limit = report.quota > 0 ? "\(report.quota) octets" : "unlimited"
                print("\(report.address): \(report.used) octets used of \(limit)\(report.isDefault ? " (default)" : "")")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user with all their mailboxes and messages.")
        @OptionGroup var store: StoreOptions
        @Argument var email: String
        func run() async throws {
            try await administer {
                try await store.open(.mustExist).directory.removeUser(email)
                print("removed user \(email)")
            }
        }
    }
}

extension UserCommand {
    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a user: no login on any protocol, open sessions end within a second; mail is still accepted.")
        @OptionGroup var store: StoreOptions
        @Argument var email: String
        func run() async throws {
            try await administer {
                try await store.open(.mustExist).directory.setDisabled(email, true)
                print("disabled \(email)")
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled user again.")
        @OptionGroup var store: StoreOptions
        @Argument var email: String
        func run() async throws {
            try await administer {
                try await store.open(.mustExist).directory.setDisabled(email, false)
                print("enabled \(email)")
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a user's settings.",
            discussion: """
                --trusted-relay exempts the account from submission's sender checks (envelope, From and Sender), for an \
                application that legitimately sends for many addresses; --no-trusted-relay ends that. Off by default; \
                `user list` shows it.
                """)
        @OptionGroup var store: StoreOptions
        @Argument var email: String
        @Flag(inversion: .prefixedNo, help: "May send as any address (an application, not a person).") var trustedRelay: Bool?
        func run() async throws {
            try await administer {
                guard let trustedRelay else { throw CommandFailure("nothing to change (give --trusted-relay or --no-trusted-relay)") }
                try await store.open(.mustExist).directory.setTrustedRelay(email, trustedRelay)
                print(trustedRelay ? "\(email) is a trusted relay" : "\(email) is not a trusted relay")
            }
        }
    }

    struct SendAs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "send-as", abstract: "Let a user send as another address or a whole domain (From, Sender and envelope).",
            subcommands: [Add.self, Remove.self, List.self])

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Grant: ACCOUNT may send as ADDRESS (user@domain or @domain).")
            @OptionGroup var store: StoreOptions
            @Argument var account: String
            @Argument var address: String
            func run() async throws {
                try await administer {
                    let grant = try await store.open(.mustExist).directory.addSendAsGrant(account, address)
                    print("\(account) may send as \(grant)")
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a send-as grant.")
            @OptionGroup var store: StoreOptions
            @Argument var account: String
            @Argument var address: String
            func run() async throws {
                try await administer {
                    try await store.open(.mustExist).directory.removeSendAsGrant(account, address)
                    print("\(account) may no longer send as \(address)")
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List what ACCOUNT may send as besides its own address.")
            @OptionGroup var store: StoreOptions
            @Argument var account: String
            func run() async throws {
                try await administer {
                    for grant in try await store.open(.mustExist).directory.sendAsGrants(account) { print(grant) }
                }
            }
        }
    }
}

struct AliasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias",
        abstract: "Manage aliases: ADDRESS (or @domain for a catch-all) delivers to each TARGET.",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an alias with one or more targets.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The alias address, or @domain for a catch-all.") var address: String
        @Argument(help: "Where mail to the alias goes (local users or external addresses).") var targets: [String]
        func run() async throws {
            try await administer {
                guard !targets.isEmpty else { throw CommandFailure("give at least one TARGET address") }
                try await store.open(.mustExist).directory.addAlias(address, targets: targets)
                print("added alias \(address) → \(targets.joined(separator: ", "))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List aliases.")
        @OptionGroup var store: StoreOptions
        func run() async throws {
            try await administer {
                for alias in try await store.open(.mustExist).directory.aliases() { print("\(alias.source) -> \(alias.target)") }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an alias (all its targets, or only those given).")
        @OptionGroup var store: StoreOptions
        @Argument var address: String
        @Argument var targets: [String] = []
        func run() async throws {
            try await administer {
                try await store.open(.mustExist).directory.removeAlias(address, targets: targets)
                print("removed alias \(address)\(targets.isEmpty ? "" : " → " + targets.joined(separator: ", "))")
            }
        }
    }
}

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Look at and manage the outbound queue (mail waiting for other servers).",
        subcommands: [List.self, Flush.self, Remove.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List queued messages: id, sender, recipients with status, attempts, next try, last error.")
        @OptionGroup var store: StoreOptions
        @Flag(help: "Also show the recent delivery history (delivered, deferred, bounced).") var history = false
        func run() async throws {
            try await administer {
                let system = try store.open(.mustExist)
                let lines = try await system.queueListing()
                print(lines.isEmpty ? "the queue is empty" : lines.joined(separator: "\n"))
                if history {
                    print("\nhistory:")
                    for line in try await system.queueHistory() { print(line) }
                }
            }
        }
    }

    struct Flush: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Try one queued message (or all) again now.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Queue id; all messages when omitted.") var id: String?
        func run() async throws {
            try await administer {
                let count = try await store.open(.mustExist).flushQueue(id: id)
                print("\(count) message\(count == 1 ? "" : "s") will be tried again now")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a queued message without sending a bounce.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Queue id.") var id: String
        func run() async throws {
            try await administer {
                try await store.open(.mustExist).removeFromQueue(id: id)
                print("removed \(id) from the queue")
            }
        }
    }
}

struct DKIMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dkim", abstract: "Manage DKIM signing keys.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make new DKIM keys (RSA and Ed25519) for a domain and sign with them from now on.",
            discussion: "Publish the new selectors (letterbox dns DOMAIN) before mail signed with them leaves; keep the old ones published for a few days.")
        @OptionGroup var store: StoreOptions
        @Argument var domain: String
        func run() async throws {
            try await administer {
                let selectors = try await store.open(.mustExist).rotateDKIM(domain)
                print("new DKIM selectors for \(domain): \(selectors.joined(separator: ", ")) (publish them: letterbox dns \(domain))")
            }
        }
    }
}

struct DNSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dns", abstract: "Print the DNS records a domain needs: MX, SPF, DKIM, DMARC, and recommended MTA-STS, TLS-RPT, SRV, autoconfig.")
    @OptionGroup var store: StoreOptions
    @Argument var domain: String
    @Option(help: "table (default) or zone (a BIND zone-file snippet).") var format = "table"
    func run() async throws {
        guard ["table", "zone"].contains(format) else { throw CommandFailure("--format must be table or zone") }
        try await administer { try await printRecords() }
    }

    // A separate function: Swift 6.3.1's optimizer crashed (signal 11) splitting the coroutine when this was inline.
    private func printRecords() async throws {
        let text = try await store.open(.mustExist).dnsRecords(domain, zone: format == "zone")
        print(text, terminator: "")
    }
}

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this server's setup from the outside (listeners, TLS, AUTH, relaying, DNS, a full mail loop) and print the fix for each failure.",
        discussion: "Talks to the running server (DATA_DIR/run/listeners.json, else the configured addresses) and asks the configured dns.servers. Exit status 1 when a check failed.")
    @OptionGroup var store: StoreOptions
    @Option(help: "Check only this local domain's DNS records (default: every local domain).") var domain: String?
    @Option(help: "The host name clients and other servers use (default: the configured hostname).") var host: String?
    @Flag(help: "Print the checks as a JSON array of {name, passed, detail, fix, required}.") var json = false

    func run() async throws {
        let configuration = try store.configuration()
        let checks = await Doctor(configuration: configuration, host: host).run(domain: domain)
        if json {
            print(Doctor.json(checks))
        } else {
            print(Doctor.checklist(checks, colour: isatty(STDOUT_FILENO) == 1), terminator: "")
        }
        if !Doctor.passed(checks) { throw ExitCode.failure }
    }
}

struct MigrateStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-store",
        abstract: "Copy the embedded store (SQLite + blob files) into an empty PostgreSQL database, then verify the copy.",
        discussion: """
            UIDVALIDITY, UIDs and modseqs are kept, so mail clients do not download anything again. Stop the server first.
            Then set [store] backend = "postgres" and url = … in the configuration and start it (or several nodes).
            """)
    @Option(help: ArgumentHelp("The store to copy: sqlite:DATA_DIR.", valueName: "sqlite:DIR")) var from: String
    @Option(help: ArgumentHelp("The empty database: postgres:postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full.", valueName: "postgres:URL"))
    var to: String
    @Option(help: ArgumentHelp("File whose first line is the database password.", valueName: "FILE")) var passwordFile: String?

    func run() async throws {
        try await administer {
            let bar = ProgressBar()
            let migration = try StoreMigration(from: from, to: to) { phase, done, total in bar.show(phase, done, total) }
            var password: String?
            if let passwordFile {
                guard let text = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                    throw CommandFailure("cannot read the password file \(passwordFile)")
                }
                password = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
            }
            let summary = try await migration.run(password: password)
            bar.finish()
            print("copied and verified: \(summary.domains) domains, \(summary.accounts) accounts, \(summary.aliases) aliases, "
                + "\(summary.mailboxes) mailboxes, \(summary.messages) messages (\(summary.blobs) message files), \(summary.queued) queued, "
                + "\(summary.dkimKeys) DKIM keys")
        }
    }
}

/// A one-line progress bar on standard error: redrawn in place on a terminal, a line every 10 % otherwise.
final class ProgressBar: Sendable {
    private let terminal = isatty(2) != 0
    private let lastDecile = Mutex<[String: Int]>([:])

    func show(_ phase: String, _ done: Int, _ total: Int) {
        let fraction = total == 0 ? 1.0 : Double(done) / Double(total)
        if terminal {
            let width = 30, filled = Int(fraction * Double(width))
            let line = "\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(Int(fraction * 100))% \(phase) \(done)/\(total)"
            FileHandle.standardError.write(Data(line.utf8))
        } else {
            let decile = Int(fraction * 10)
            let changed = lastDecile.withLock { last in
                defer { last[phase] = decile }
                return last[phase] != decile
            }
            if changed { FileHandle.standardError.write(Data("\(phase): \(done)/\(total) (\(decile * 10)%)\n".utf8)) }
        }
    }

    func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

struct GCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Reclaim the space of deleted messages now (serve does it every store.gc_interval on its own).",
        discussion: """
            Removes the stored bytes of messages whose last copy (and queue entry) was deleted over an hour ago. With
            --full it also looks at every stored message file (or blob row) and removes those nothing refers to: what a
            crash between storing and committing a message left behind. Safe while the server runs.
            """)
    @OptionGroup var store: StoreOptions
    @Flag(help: "Also sweep every stored blob, not only those of deleted messages.") var full = false
    @Option(help: ArgumentHelp("Keep blobs released or stored less than this many seconds ago.", valueName: "SECONDS"))
    var grace: Int64 = BlobCollection.defaultGrace

    func run() async throws {
        try await administer {
            guard grace >= 0 else { throw CommandFailure("--grace must be 0 or more seconds") }
            let system = try store.open(.mustExist)
            for line in try await BlobCollection(store: system.mailStore, grace: grace).runNow(full: full) { print(line) }
        }
    }
}
