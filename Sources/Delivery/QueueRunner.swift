import DNS
import Directory
import Foundation
import Logging
import MailCore
import MailStore
import NIOCore
import SMTPProtocol
import Synchronization

/// The outbound queue's scheduler: finds due messages, groups their pending recipients by destination domain, sends each
/// group over as few connections as possible (several messages per connection, a bounded number of connections per
/// domain and in all), and records every outcome durably before the next step.
///
/// Exactly-once: a recipient is marked delivered in the same transaction that records the remote 250, right after it
/// arrives. A crash between the remote 250 and that commit makes the message go again (a duplicate, which RFC 5321 §6.1
/// accepts over a loss); that window is one SQLite commit long. A DSN is stored before the attempt that caused it is
/// recorded, so a crash may repeat a DSN but never lose one.
public final class QueueRunner: Sendable {
    let queue: any QueueStore
    let blobs: any BlobStore
    let agent: DeliveryAgent
    let directory: AccountDirectory
    let resolver: any DNSResolving
    public let configuration: OutboundConfiguration
    let logger: Logger
    private let busy = Mutex<Busy>(Busy())

    private struct Busy {
        /// "queue id|domain" being delivered now.
        var jobs: Set<String> = []
        var perDomain: [String: Int] = [:]
        var workers = 0
    }

    public init(
        queue: any QueueStore, blobs: any BlobStore, agent: DeliveryAgent, directory: AccountDirectory, resolver: any DNSResolving,
        configuration: OutboundConfiguration, logger: Logger
    ) {
        self.queue = queue
        self.blobs = blobs
        self.agent = agent
        self.directory = directory
        self.resolver = resolver
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until the task is cancelled. Work found at each poll starts at once; the poll interval bounds how long a
    /// message made due by another process (`letterbox queue flush`) waits.
    public func run() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                do { try await queue.queueHeartbeat() } catch {
                    logger.warning("cannot record this node's heartbeat", metadata: ["error": "\(error)"])
                }
                for batch in await dispatchable() {
                    group.addTask { await self.deliver(batch) }
                }
                try? await Task.sleep(for: configuration.pollInterval)
            }
        }
    }

    /// Delivers everything due now and waits for it (for tests and `queue flush` without a server).
    public func runOnce() async {
        await withDiscardingTaskGroup { group in
            for batch in await dispatchable() { group.addTask { await self.deliver(batch) } }
        }
    }

    /// One message's pending recipients in one domain.
    struct Job: Sendable {
        var entry: QueueEntry
        var domain: String
        var recipients: [QueuedRecipient]
        var key: String { "\(entry.id)|\(domain)" }
    }

    /// Due jobs, grouped into batches that go over one connection each, within the concurrency limits; marks them busy.
    private func dispatchable() async -> [[Job]] {
        let due: [QueueEntry]
        do {
            due = try await queue.dueQueueEntries(now: Self.now(), limit: 1000)
        } catch {
            logger.error("cannot read the queue", metadata: ["error": "\(error)"])
            return []
        }
        var byDomain: [String: [Job]] = [:]
        var order: [String] = []
        for entry in due {
            let pending = entry.recipients.filter { $0.status == .pending }
            for (domain, recipients) in Dictionary(grouping: pending, by: { Self.domain(of: $0.address) }) {
                if byDomain[domain] == nil { order.append(domain) }
                byDomain[domain, default: []].append(Job(entry: entry, domain: domain, recipients: recipients))
            }
        }
        let batches = busy.withLock { busy in
            var batches: [[Job]] = []
            for domain in order {
                var jobs = byDomain[domain, default: []].filter { !busy.jobs.contains($0.key) }
                while !jobs.isEmpty, busy.workers < configuration.maxConcurrentDeliveries,
                      busy.perDomain[domain, default: 0] < configuration.maxConnectionsPerDomain {
                    let batch = Array(jobs.prefix(configuration.maxMessagesPerConnection))
                    jobs.removeFirst(batch.count)
                    for job in batch { busy.jobs.insert(job.key) }
                    busy.perDomain[domain, default: 0] += 1
                    busy.workers += 1
                    batches.append(batch)
                }
            }
            return batches
        }
        return await claimed(batches)
    }

    /// Keeps only the jobs whose messages this node could claim (on a shared queue another node may hold some); the
    /// others are marked idle again without being released.
    private func claimed(_ batches: [[Job]]) async -> [[Job]] {
        guard !batches.isEmpty else { return [] }
        let ids = Array(Set(batches.joined().map(\.entry.id)))
        var held: Set<String> = []
        do {
            held = Set(try await queue.claimQueueEntries(ids: ids))
        } catch {
            logger.error("cannot claim queue entries", metadata: ["error": "\(error)"])
        }
        var result: [[Job]] = []
        for batch in batches {
            let (mine, others) = (batch.filter { held.contains($0.entry.id) }, batch.filter { !held.contains($0.entry.id) })
            if mine.isEmpty {
                finished(batch, release: false)
            } else {
                if !others.isEmpty { busy.withLock { busy in for job in others { busy.jobs.remove(job.key) } } }
                result.append(mine)
            }
        }
        return result
    }

    /// Marks the batch's jobs idle and gives back the claims of messages this node no longer works on.
    private func finished(_ batch: [Job], release: Bool = true) {
        let done: [String] = busy.withLock { busy in
            for job in batch { busy.jobs.remove(job.key) }
            if let domain = batch.first?.domain { busy.perDomain[domain, default: 1] -= 1 }
            busy.workers -= 1
            let stillBusy = Set(busy.jobs.map { String($0[..<($0.firstIndex(of: "|") ?? $0.endIndex)]) })
            return Set(batch.map(\.entry.id)).filter { !stillBusy.contains($0) }
        }
        guard release, !done.isEmpty else { return }
        let queue = queue, logger = logger
        Task {
            do { try await queue.releaseQueueEntries(ids: done) } catch {
                logger.warning("cannot release queue claims", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: One batch

    /// A next hop to try: host name (or IP), port, TLS and credentials.
    struct Hop: Sendable {
        var host: String
        var port: Int
        var tls: OutboundTLS
        var credentials: SMTPClientCredentials?
    }

    /// What happened to one recipient.
    struct RecipientOutcome: Sendable {
        enum Kind: Sendable { case delivered, deferred, failed }
        var kind: Kind
        /// RFC 3463 status for DSNs.
        var status: String
        var detail: String
        var remoteMTA: String?
    }

    private func deliver(_ batch: [Job]) async {
        defer { finished(batch) }
        guard let domain = batch.first?.domain else { return }
        var outcomes: [String: [String: RecipientOutcome]] = [:]  // job key → address → outcome
        var messages: [SMTPOutboundMessage] = []
        var originals: [String: [UInt8]] = [:]
        for job in batch {
            do {
                let bytes = try await blobs.get(job.entry.blob)
                originals[job.entry.id] = bytes
                messages.append(Self.outbound(job, body: bytes))
            } catch {
                logger.error("queued message unreadable", metadata: ["id": "\(job.entry.id)", "error": "\(error)"])
                outcomes[job.key] = Self.all(job, RecipientOutcome(kind: .deferred, status: "4.3.0", detail: "local error: message unreadable", remoteMTA: nil))
            }
        }
        for job in batch {
            guard let outcome = outcomes[job.key] else { continue }
            await record(job, outcomes: outcome, original: originals[job.entry.id])
        }
        let attempted = batch.filter { outcomes[$0.key] == nil }
        if !attempted.isEmpty {
            await send(attempted, messages: messages, domain: domain) { job, outcome in
                await self.record(job, outcomes: outcome, original: originals[job.entry.id])
            }
        }
    }

    /// Tries each hop and address in turn until every job has a definite or per-recipient answer; `record` commits each
    /// job's outcome as soon as it is known (definite), or at the end (deferred with the last error).
    private func send(
        _ jobs: [Job], messages: [SMTPOutboundMessage], domain: String, record: (Job, [String: RecipientOutcome]) async -> Void
    ) async {
        var done = Array(repeating: false, count: jobs.count)
        let hops: [Hop]
        switch await self.hops(for: domain) {
        case .success(let found): hops = found
        case .failure(let outcome):
            for job in jobs { await record(job, Self.all(job, outcome)) }
            return
        }
        var lastError = RecipientOutcome(kind: .deferred, status: "4.4.1", detail: "no mail server for \(domain) answered", remoteMTA: nil)
        hopLoop: for hop in hops {
            let addresses: [SocketAddress]
            do {
                addresses = try await self.addresses(of: hop)
            } catch {
                lastError = RecipientOutcome(kind: .deferred, status: "4.4.3", detail: "\(hop.host): \(error)", remoteMTA: nil)
                continue
            }
            for address in addresses {
                let open = done.indices.filter { !done[$0] }
                if open.isEmpty { break hopLoop }
                let connection = OutboundConnection(
                    host: hop.host, address: address, port: hop.port, tls: hop.tls, configuration: configuration, logger: logger)
                let remote = "\(hop.host)[\(address.ipAddress ?? "?")]"
                do {
                    try await connection.deliver(open.map { messages[$0] }, credentials: hop.credentials) { position, result in
                        let index = open[position]
                        switch Self.outcomes(of: result, job: jobs[index], remote: remote) {
                        case .definite(let outcome):
                            done[index] = true
                            await record(jobs[index], outcome)
                        case .tryNextHop(let error):
                            lastError = error
                        }
                    }
                } catch {
                    logger.info("delivery attempt failed", metadata: ["host": "\(remote)", "error": "\(error)"])
                    lastError = RecipientOutcome(kind: .deferred, status: "4.4.1", detail: error.description, remoteMTA: remote)
                }
            }
        }
        for index in done.indices where !done[index] { await record(jobs[index], Self.all(jobs[index], lastError)) }
    }

    enum HopsResult: Sendable {
        case success([Hop])
        case failure(RecipientOutcome)
    }

    private func hops(for domain: String) async -> HopsResult {
        if let route = configuration.route(for: domain) {
            return .success([Hop(host: route.host, port: route.port, tls: route.tls, credentials: route.credentials)])
        }
        guard let name = DomainName(domain) else {
            return .failure(RecipientOutcome(kind: .failed, status: "5.1.2", detail: "invalid domain \(domain)", remoteMTA: nil))
        }
        do {
            switch try await MailExchangers.resolve(name, using: resolver) {
            case .nullMX:
                return .failure(RecipientOutcome(kind: .failed, status: "5.1.10", detail: "\(domain) accepts no mail (null MX, RFC 7505)", remoteMTA: nil))
            case .hosts(let hosts):
                let tls = configuration.tls(for: domain)
                return .success(hosts.map { Hop(host: $0.host, port: configuration.mxPort, tls: tls, credentials: nil) })
            }
        } catch {
            if error.isTemporary {
                return .failure(RecipientOutcome(kind: .deferred, status: "4.4.3", detail: "DNS lookup for \(domain) failed: \(error)", remoteMTA: nil))
            }
            return .failure(RecipientOutcome(kind: .failed, status: "5.1.2", detail: "\(domain): \(error)", remoteMTA: nil))
        }
    }

    private func addresses(of hop: Hop) async throws -> [SocketAddress] {
        if hop.host.isIPAddress { return [try SocketAddress(ipAddress: hop.host, port: hop.port)] }
        guard let name = DomainName(hop.host) else { throw OutboundConnectionError(description: "invalid host name") }
        var found: [SocketAddress] = []
        var firstError: (any Error)?
        do { found += try await resolver.a(name).map { try SocketAddress(ipAddress: $0.description, port: hop.port) } } catch { firstError = error }
        do { found += try await resolver.aaaa(name).map { try SocketAddress(ipAddress: $0.description, port: hop.port) } } catch {
            if found.isEmpty, let dnsError = error as? DNSError, dnsError.isTemporary { firstError = error }
        }
        if found.isEmpty { throw firstError ?? OutboundConnectionError(description: "no address") }
        return found
    }

    enum AttemptOutcome: Sendable {
        case definite([String: RecipientOutcome])
        case tryNextHop(RecipientOutcome)
    }

    /// Maps one transaction's result to per-recipient outcomes.
    static func outcomes(of result: SMTPClientResult, job: Job, remote: String) -> AttemptOutcome {
        func from(_ reply: SMTPReply) -> RecipientOutcome {
            let kind: RecipientOutcome.Kind = reply.isPositive ? .delivered : (reply.isPermanentFailure ? .failed : .deferred)
            let status = reply.enhancedCode?.description ?? (reply.isPositive ? "2.0.0" : reply.isPermanentFailure ? "5.0.0" : "4.0.0")
            return RecipientOutcome(kind: kind, status: status, detail: reply.description, remoteMTA: remote)
        }
        var byAddress: [String: SMTPReply] = [:]
        for recipient in result.recipients { byAddress[recipient.recipient.address.description.lowercased()] = recipient.reply }
        func perRecipient(default fallback: RecipientOutcome) -> [String: RecipientOutcome] {
            var outcomes: [String: RecipientOutcome] = [:]
            for recipient in job.recipients {
                if let reply = byAddress[recipient.address.lowercased()], !reply.isPositive || result.messageReply != nil {
                    outcomes[recipient.address] = from(reply)
                } else {
                    outcomes[recipient.address] = fallback
                }
            }
            return outcomes
        }
        switch result.outcome {
        case .delivered, .allRecipientsRefused:
            return .definite(perRecipient(default: RecipientOutcome(kind: .deferred, status: "4.0.0", detail: "no reply", remoteMTA: remote)))
        case .failed(let stage, let reply):
            switch stage {
            case .greeting, .hello, .startTLS, .authentication:
                return .tryNextHop(RecipientOutcome(kind: .deferred, status: reply.enhancedCode.map { "4.\($0.subject).\($0.detail)" } ?? "4.4.0",
                                                    detail: "\(stage): \(reply)", remoteMTA: remote))
            case .mail, .data, .message:
                return .definite(perRecipient(default: from(reply)))
            }
        case .messageTooLarge(let limit):
            return .definite(all(job, RecipientOutcome(kind: .failed, status: "5.3.4", detail: "message too big for \(remote) (limit \(limit) octets)", remoteMTA: remote)))
        case .needs8BitMIME:
            return .definite(all(job, RecipientOutcome(kind: .failed, status: "5.6.3", detail: "\(remote) does not accept 8-bit messages (no 8BITMIME)", remoteMTA: remote)))
        case .needsSMTPUTF8:
            return .definite(all(job, RecipientOutcome(kind: .failed, status: "5.6.7", detail: "\(remote) does not support SMTPUTF8", remoteMTA: remote)))
        case .requireTLSUnsupported:
            return .definite(all(job, RecipientOutcome(kind: .failed, status: "5.7.30", detail: "REQUIRETLS not supported by \(remote)", remoteMTA: remote)))
        case .tlsUnavailable:
            return .tryNextHop(RecipientOutcome(kind: .deferred, status: "4.7.5", detail: "TLS required but not available at \(remote)", remoteMTA: remote))
        case .protocolError:
            return .tryNextHop(RecipientOutcome(kind: .deferred, status: "4.5.0", detail: "protocol error with \(remote)", remoteMTA: remote))
        }
    }

    static func all(_ job: Job, _ outcome: RecipientOutcome) -> [String: RecipientOutcome] {
        Dictionary(uniqueKeysWithValues: job.recipients.map { ($0.address, outcome) })
    }

    static func outbound(_ job: Job, body: [UInt8]) -> SMTPOutboundMessage {
        let recipients = job.recipients.compactMap { recipient -> SMTPRecipient? in
            guard let address = EmailAddress(recipient.address) else { return nil }
            return SMTPRecipient(address: address, notify: recipient.notify.flatMap(Self.notify), originalRecipient: recipient.originalRecipient.flatMap(Self.originalRecipient))
        }
        var parameters = SMTPMailParameters()
        parameters.envelopeID = job.entry.parameters["ENVID"]
        parameters.dsnReturn = job.entry.parameters["RET"].flatMap(SMTPDSNReturn.init(rawValue:))
        parameters.requireTLS = job.entry.parameters["REQUIRETLS"] != nil
        return SMTPOutboundMessage(
            mailFrom: job.entry.sender.isEmpty ? nil : EmailAddress(job.entry.sender), recipients: recipients, parameters: parameters,
            body: ByteBuffer(bytes: body), needsSMTPUTF8: job.entry.parameters["SMTPUTF8"] != nil ? true : nil)
    }

    static func notify(_ text: String) -> SMTPDSNNotify? {
        let parts = Set(text.uppercased().split(separator: ",").map(String.init))
        if parts == ["NEVER"] { return .never }
        guard !parts.isEmpty else { return nil }
        return .conditions(success: parts.contains("SUCCESS"), failure: parts.contains("FAILURE"), delay: parts.contains("DELAY"))
    }

    static func originalRecipient(_ text: String) -> SMTPOriginalRecipient? {
        guard let semicolon = text.firstIndex(of: ";") else { return nil }
        return SMTPOriginalRecipient(addressType: String(text[..<semicolon]), address: String(text[text.index(after: semicolon)...]))
    }

    static func domain(of address: String) -> String {
        guard let at = address.lastIndex(of: "@") else { return "" }
        return address[address.index(after: at)...].lowercased()
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}
