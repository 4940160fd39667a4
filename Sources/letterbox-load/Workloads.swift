import Foundation
import Histogram
import NIOCore
import Synchronization

/// Latencies (microseconds) from every connection, and counters, shared by the workers.
final class Recorder: Sendable {
    private let state = Mutex<(histogram: Histogram<UInt64>, operations: Int, errors: Int, perOperation: [String: Histogram<UInt64>])>(
        (Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three), 0, 0, [:]))

    func record(_ name: String, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let micros = UInt64(max(1, elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000))
        state.withLock { state in
            _ = state.histogram.record(micros)
            state.operations += 1
            if state.perOperation[name] == nil {
                state.perOperation[name] = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
            }
            _ = state.perOperation[name]!.record(micros)
        }
    }

    func error() { state.withLock { $0.errors += 1 } }

    func report(title: String, seconds: Double, json: Bool) -> String {
        state.withLock { state in
            let rate = Double(state.operations) / max(seconds, 0.001)
            func ms(_ histogram: Histogram<UInt64>, _ percentile: Double) -> Double { Double(histogram.valueAtPercentile(percentile)) / 1000 }
            if json {
                var fields = ["\"workload\": \"\(title)\"", "\"operations\": \(state.operations)", "\"errors\": \(state.errors)",
                              "\"seconds\": \(String(format: "%.3f", seconds))", "\"per_second\": \(String(format: "%.1f", rate))",
                              "\"p50_ms\": \(ms(state.histogram, 50))", "\"p99_ms\": \(ms(state.histogram, 99))", "\"p999_ms\": \(ms(state.histogram, 99.9))"]
                fields.append("\"per_operation\": {" + state.perOperation.sorted { $0.key < $1.key }.map {
                    "\"\($0.key)\": {\"count\": \($0.value.totalCount), \"p50_ms\": \(ms($0.value, 50)), \"p99_ms\": \(ms($0.value, 99))}"
                }.joined(separator: ", ") + "}")
                return "{" + fields.joined(separator: ", ") + "}"
            }
            var lines = [String(format: "%@: %d operations in %.2f s = %.1f/s, %d errors; latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms",
                                title, state.operations, seconds, rate, state.errors, ms(state.histogram, 50), ms(state.histogram, 99), ms(state.histogram, 99.9))]
            for (name, histogram) in state.perOperation.sorted(by: { $0.key < $1.key }) {
                lines.append(String(format: "  %-12@ %8llu  p50 %8.2f ms  p99 %8.2f ms", name, histogram.totalCount, ms(histogram, 50), ms(histogram, 99)))
            }
            return lines.joined(separator: "\n")
        }
    }
}

/// SMTP: each connection sends `messages` messages after one EHLO, MAIL/RCPT/DATA pipelined (RFC 2920).
struct SMTPWorkload {
    var host: String
    var port: Int
    var tls: Bool
    var from: String
    var recipients: [String]
    var seed: UInt64

    func run(connection index: Int, messages: Int, recorder: Recorder) async {
        do {
            let channel = try await LoadConnection.open(host: host, port: port, tls: tls)
            try await channel.executeThenClose { inbound, outbound in
                var reader = LineReader(inbound)
                guard try await reader.smtpReply() == 220 else { throw LoadError("no 220 greeting") }
                try await outbound.write(ByteBuffer(string: "EHLO letterbox-load.test\r\n"))
                guard try await reader.smtpReply() == 250 else { throw LoadError("EHLO refused") }
                var generator = MessageGenerator(seed: seed &+ UInt64(index) &* 1_000_003)
                for n in 0..<messages {
                    let number = index * messages + n
                    let recipient = recipients[number % recipients.count]
                    let body = generator.message(number: number, from: from, to: recipient)
                    let start = ContinuousClock.now
                    try await outbound.write(ByteBuffer(string: "MAIL FROM:<\(from)> SIZE=\(body.count)\r\nRCPT TO:<\(recipient)>\r\nDATA\r\n"))
                    let mail = try await reader.smtpReply(), rcpt = try await reader.smtpReply(), data = try await reader.smtpReply()
                    guard mail == 250, rcpt == 250, data == 354 else {
                        recorder.error()
                        if data == 354 { try await outbound.write(ByteBuffer(string: ".\r\n")); _ = try await reader.smtpReply() }
                        try await outbound.write(ByteBuffer(string: "RSET\r\n"))
                        _ = try await reader.smtpReply()
                        continue
                    }
                    var buffer = ByteBuffer(bytes: body)
                    buffer.writeString(".\r\n")
                    try await outbound.write(buffer)
                    if try await reader.smtpReply() == 250 { recorder.record("message", since: start) } else { recorder.error() }
                }
                try await outbound.write(ByteBuffer(string: "QUIT\r\n"))
                _ = try? await reader.smtpReply()
            }
        } catch {
            recorder.error()
            FileHandle.standardError.write(Data("smtp connection \(index): \(error)\n".utf8))
        }
    }
}

/// IMAP: what a mail client does — log in, select, list flags, read envelopes and bodies, flag, search, append, expunge —
/// in a loop until the deadline. Each client uses user `users[index % users.count]`.
struct IMAPWorkload {
    var host: String
    var port: Int
    var tls: Bool
    var users: [String]
    var password: String
    var seed: UInt64

    func run(client index: Int, until deadline: ContinuousClock.Instant, idle: Bool, recorder: Recorder) async {
        do {
            let channel = try await LoadConnection.open(host: host, port: port, tls: tls)
            try await channel.executeThenClose { inbound, outbound in
                var reader = LineReader(inbound)
                var counter = 0
                func command(_ name: String, _ text: String) async throws -> (String, Int) {
                    counter += 1
                    let tag = "a\(counter)"
                    let start = ContinuousClock.now
                    try await outbound.write(ByteBuffer(string: "\(tag) \(text)\r\n"))
                    let result = try await reader.imapTagged(tag)
                    if result.0.hasPrefix("\(tag) OK") { recorder.record(name, since: start) } else { recorder.error() }
                    return result
                }
                _ = try await reader.line()  // greeting
                let user = users[index % users.count]
                _ = try await command("login", "LOGIN \"\(user)\" \"\(password)\"")
                let (_, selectLines) = try await command("select", "SELECT INBOX")
                _ = selectLines
                if idle {
                    counter += 1
                    try await outbound.write(ByteBuffer(string: "a\(counter) IDLE\r\n"))
                    _ = try await reader.line()  // "+ idling"
                    while ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
                    try await outbound.write(ByteBuffer(string: "DONE\r\n"))
                    _ = try await reader.imapTagged("a\(counter)")
                    _ = try await command("logout", "LOGOUT")
                    return
                }
                var generator = MessageGenerator(seed: seed &+ UInt64(index))
                var round = 0
                while ContinuousClock.now < deadline {
                    round += 1
                    let (_, count) = try await command("fetch-flags", "FETCH 1:* (UID FLAGS)")
                    if count > 0 {
                        let n = generator.uniform(1...count)
                        _ = try await command("fetch-env", "FETCH \(n) (ENVELOPE)")
                        _ = try await command("fetch-body", "FETCH \(n) (BODY.PEEK[])")
                        _ = try await command("store", "STORE \(n) +FLAGS (\\Seen)")
                    }
                    _ = try await command("search", "UID SEARCH TEXT \"letterboxbench\"")
                    // APPEND a small message, then flag it deleted and expunge it: the mailbox keeps its size.
                    let message = generator.message(number: round, from: "load@letterbox-load.test", to: user, size: 3_000)
                    counter += 1
                    let tag = "a\(counter)"
                    let start = ContinuousClock.now
                    try await outbound.write(ByteBuffer(string: "\(tag) APPEND INBOX (\\Seen) {\(message.count)}\r\n"))
                    let continuation = try await reader.line()
                    guard continuation.hasPrefix("+") else { throw LoadError("APPEND refused: \(continuation)") }
                    var buffer = ByteBuffer(bytes: message)
                    buffer.writeString("\r\n")
                    try await outbound.write(buffer)
                    let (appended, _) = try await reader.imapTagged(tag)
                    if appended.hasPrefix("\(tag) OK") { recorder.record("append", since: start) } else { recorder.error() }
                    _ = try await command("noop", "NOOP")
                    let (_, total) = try await command("fetch-last", "FETCH * (UID)")
                    if total > 0 {
                        _ = try await command("store", "STORE * +FLAGS (\\Deleted)")
                        _ = try await command("expunge", "EXPUNGE")
                    }
                }
                _ = try await command("logout", "LOGOUT")
            }
        } catch {
            recorder.error()
            FileHandle.standardError.write(Data("imap client \(index): \(error)\n".utf8))
        }
    }
}
