/// letterbox-load: a load generator for SMTP and IMAP servers — Letterbox or any standards-compliant peer (Postfix,
/// Dovecot). Latencies go into HdrHistograms; it prints throughput and p50/p99/p99.9 (or one JSON line with --json).
import ArgumentParser
import Foundation

@main
struct LetterboxLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "letterbox-load", abstract: "Drive SMTP or IMAP load against a mail server and report throughput and latency.",
        subcommands: [SMTP.self, IMAP.self, Maildir.self])

    struct SMTP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send messages over N concurrent connections (pipelined MAIL/RCPT/DATA, several messages per connection).")
        @Option var host = "127.0.0.1"
        @Option var port: Int
        @Flag(help: "Implicit TLS.") var tls = false
        @Option(help: "Concurrent connections.") var connections = 8
        @Option(help: "Messages per connection.") var messages = 100
        @Option var from = "load@letterbox-load.test"
        @Option(help: "Recipient (repeatable; messages go round-robin).") var to: [String]
        @Option(help: "Seed of the deterministic message mix.") var seed: UInt64 = 1
        @Flag(help: "Print one JSON line.") var json = false

        func run() async throws {
            guard !to.isEmpty else { throw ValidationError("give at least one --to") }
            let workload = SMTPWorkload(host: host, port: port, tls: tls, from: from, recipients: to, seed: seed)
            let recorder = Recorder()
            let start = ContinuousClock.now
            await withTaskGroup(of: Void.self) { group in
                for index in 0..<connections {
                    group.addTask { await workload.run(connection: index, messages: messages, recorder: recorder) }
                }
            }
            let elapsed = ContinuousClock.now - start
            print(recorder.report(title: "smtp \(connections) connections", seconds: seconds(elapsed), json: json))
        }
    }

    struct Maildir: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the messages `smtp` sends (same seed, connections, count and recipients) into a Maildir's cur/ directory.",
            discussion: """
                Fills a peer's large mailbox without its delivery path: Dovecot's LMTP delivery into one Maildir slows to a \
                few messages per second above 85,000 messages, while the benchmark measures reading the mailbox, not filling it.
                """)
        @Option(help: "The Maildir (cur/, new/ and tmp/ are created).") var directory: String
        @Option(help: "As for smtp: the message mix depends on it.") var connections = 8
        @Option(help: "Messages per connection.") var messages = 100
        @Option var from = "load@letterbox-load.test"
        @Option(help: "Recipient written into the To: header (repeatable, round-robin as for smtp).") var to: [String]
        @Option var seed: UInt64 = 1

        func run() throws {
            guard !to.isEmpty else { throw ValidationError("give at least one --to") }
            let root = URL(fileURLWithPath: directory)
            for sub in ["cur", "new", "tmp"] {
                try FileManager.default.createDirectory(at: root.appendingPathComponent(sub), withIntermediateDirectories: true)
            }
            let stamp = Int(Date().timeIntervalSince1970)
            for index in 0..<connections {
                var generator = MessageGenerator(seed: seed &+ UInt64(index) &* 1_000_003)
                for n in 0..<messages {
                    let number = index * messages + n
                    let body = generator.message(number: number, from: from, to: to[number % to.count])
                    // Maildir name: time.unique.host,S=size:2, (no flags yet).
                    let name = "\(stamp).M\(number)P\(ProcessInfo.processInfo.processIdentifier).letterbox-load,S=\(body.count):2,"
                    try Data(body).write(to: root.appendingPathComponent("cur").appendingPathComponent(name))
                }
            }
            print("wrote \(connections * messages) messages to \(root.path)/cur")
        }
    }

    struct IMAP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run N IMAP clients doing a realistic mix (or IDLE) for a while.")
        @Option var host = "127.0.0.1"
        @Option var port: Int
        @Flag(help: "Implicit TLS.") var tls = false
        @Option(help: "Concurrent clients.") var clients = 10
        @Option(help: "How long to run.") var seconds = 20
        @Option(help: "User (repeatable; clients go round-robin).") var user: [String]
        @Option var password: String
        @Flag(help: "Log in, select INBOX and IDLE until the time is up (for memory per connection).") var idle = false
        @Option var seed: UInt64 = 1
        @Flag(help: "Print one JSON line.") var json = false

        func run() async throws {
            guard !user.isEmpty else { throw ValidationError("give at least one --user") }
            let workload = IMAPWorkload(host: host, port: port, tls: tls, users: user, password: password, seed: seed)
            let recorder = Recorder()
            let start = ContinuousClock.now
            let deadline = start + .seconds(self.seconds)
            // A client the server never answers (a dropped SYN, a stalled reply) must not hold the run forever: 60 s after
            // the deadline the stragglers are cancelled and counted as errors.
            await withTaskGroup(of: Bool.self) { group in
                for index in 0..<clients {
                    group.addTask { await workload.run(client: index, until: deadline, idle: idle, recorder: recorder); return false }
                }
                group.addTask { try? await Task.sleep(until: deadline + .seconds(60), clock: .continuous); return true }
                var remaining = clients
                while remaining > 0, let isWatchdog = await group.next() {
                    if isWatchdog {
                        for _ in 0..<remaining { recorder.error() }
                        FileHandle.standardError.write(Data("letterbox-load: \(remaining) clients still waiting 60 s after the end; cancelled\n".utf8))
                        break
                    }
                    remaining -= 1
                }
                group.cancelAll()
            }
            let elapsed = ContinuousClock.now - start
            print(recorder.report(title: "imap \(clients) clients\(idle ? " idle" : "")", seconds: LetterboxLoad.seconds(elapsed), json: json))
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

func seconds(_ duration: Duration) -> Double { LetterboxLoad.seconds(duration) }
