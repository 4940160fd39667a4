import Directory
import Logging
import MailCore
import MailStore
import MailStoreSQLite
import MailTestSupport
import NIOCore
import SMTPProtocol
import Testing

@testable import Delivery

/// DNS as data for the queue runner.
struct Resolver: DNSResolving {
    var mxAnswers: [String: Result<[MXRecord], DNSError>] = [:]
    func mx(_ domain: DomainName) async throws(DNSError) -> [MXRecord] { try (mxAnswers[domain.name] ?? .failure(.nameNotFound)).get() }
    func a(_ name: DomainName) async throws(DNSError) -> [IPv4Address] { throw .noData }
    func aaaa(_ name: DomainName) async throws(DNSError) -> [IPv6Address] { throw .noData }
    func txt(_ name: DomainName) async throws(DNSError) -> [String] { throw .noData }
    func ptr(_ address: IPAddress) async throws(DNSError) -> [String] { throw .noData }
    func tlsa(_ name: DomainName) async throws(DNSError) -> TLSAAnswer { throw .noData }
}

@Suite struct RetryScheduleTests {
    @Test func doublesFromFiveMinutesUpToFourHoursAndExpiresAfterFiveDays() {
        let schedule = RetrySchedule()
        #expect((1...9).map { schedule.delay(afterAttempts: $0) } == [300, 600, 1200, 2400, 4800, 9600, 14400, 14400, 14400])
        #expect(!schedule.hasExpired(createdAt: 0, now: 5 * 86_400 - 1))
        #expect(schedule.hasExpired(createdAt: 0, now: 5 * 86_400))
        #expect(!schedule.shouldWarn(createdAt: 0, now: 4 * 3600 - 1) && schedule.shouldWarn(createdAt: 0, now: 4 * 3600))
        var never = RetrySchedule()
        never.delayWarningAfter = .zero
        #expect(!never.shouldWarn(createdAt: 0, now: 10 * 86_400))
    }
}

@Suite struct OutcomeMappingTests {
    let job = QueueRunner.Job(
        entry: QueueEntry(id: "q1", sender: "a@local.test", blob: BlobID(hex: String(repeating: "0", count: 64))!, size: 1, createdAt: 0,
                          nextAttemptAt: 0, recipients: []),
        domain: "remote.test",
        recipients: [QueuedRecipient(address: "ok@remote.test"), QueuedRecipient(address: "gone@remote.test"), QueuedRecipient(address: "later@remote.test")])

    func reply(_ code: Int, _ enhanced: SMTPEnhancedStatusCode?, _ text: String) -> SMTPReply {
        SMTPReply(code: code, enhanced: enhanced, lines: [text])
    }

    func recipientResult(_ address: String, _ reply: SMTPReply) -> SMTPRecipientResult {
        SMTPRecipientResult(recipient: SMTPRecipient(address: EmailAddress(address)!), reply: reply)
    }

    @Test func perRecipientRepliesDecideEachRecipient() throws {
        let result = SMTPClientResult(
            outcome: .delivered,
            recipients: [recipientResult("ok@remote.test", reply(250, .init(2, 0, 0), "queued")),
                         recipientResult("gone@remote.test", reply(550, .init(5, 1, 1), "no such user")),
                         recipientResult("later@remote.test", reply(451, .init(4, 3, 0), "try later"))],
            messageReply: reply(250, .init(2, 0, 0), "queued"), tlsActive: true)
        guard case .definite(let outcomes) = QueueRunner.outcomes(of: result, job: job, remote: "mx.remote.test[192.0.2.1]") else {
            Issue.record("expected a definite outcome")
            return
        }
        #expect(outcomes["ok@remote.test"]?.kind == .delivered)
        #expect(outcomes["gone@remote.test"]?.kind == .failed && outcomes["gone@remote.test"]?.status == "5.1.1")
        #expect(outcomes["later@remote.test"]?.kind == .deferred && outcomes["later@remote.test"]?.status == "4.3.0")
        #expect(outcomes["gone@remote.test"]?.remoteMTA == "mx.remote.test[192.0.2.1]")
    }

    @Test func refusedMessageAppliesToTheAcceptedRecipients() {
        let result = SMTPClientResult(
            outcome: .failed(stage: .message, reply: reply(554, .init(5, 6, 0), "content refused")),
            recipients: [recipientResult("ok@remote.test", reply(554, .init(5, 6, 0), "content refused"))],
            messageReply: reply(554, .init(5, 6, 0), "content refused"), tlsActive: false)
        guard case .definite(let outcomes) = QueueRunner.outcomes(of: result, job: job, remote: "mx") else {
            Issue.record("expected a definite outcome")
            return
        }
        #expect(outcomes.values.allSatisfy { $0.kind == .failed && $0.status == "5.6.0" })
    }

    @Test func greetingAndTLSFailuresTryTheNextHost() {
        for outcome in [SMTPClientOutcome.failed(stage: .greeting, reply: reply(421, nil, "busy")), .tlsUnavailable, .protocolError] {
            let result = SMTPClientResult(outcome: outcome, recipients: [], messageReply: nil, tlsActive: false)
            guard case .tryNextHop(let error) = QueueRunner.outcomes(of: result, job: job, remote: "mx") else {
                Issue.record("\(outcome) should move on to the next MX")
                continue
            }
            #expect(error.kind == .deferred)
        }
    }

    @Test func capabilityMismatchesFailPermanently() {
        let cases: [(SMTPClientOutcome, String)] = [(.messageTooLarge(limit: 10), "5.3.4"), (.needs8BitMIME, "5.6.3"),
                                                    (.needsSMTPUTF8, "5.6.7"), (.requireTLSUnsupported, "5.7.30")]
        for (outcome, status) in cases {
            let result = SMTPClientResult(outcome: outcome, recipients: [], messageReply: nil, tlsActive: false)
            guard case .definite(let outcomes) = QueueRunner.outcomes(of: result, job: job, remote: "mx") else {
                Issue.record("\(outcome) should be definite")
                continue
            }
            #expect(outcomes.values.allSatisfy { $0.kind == .failed && $0.status == status }, "\(outcome)")
        }
    }

    @Test func dsnParameters() {
        #expect(QueueRunner.notify("NEVER") == .never)
        #expect(QueueRunner.notify("SUCCESS,DELAY") == .conditions(success: true, failure: false, delay: true))
        #expect(QueueRunner.allows(nil, failure: true) && QueueRunner.allows(nil, delay: true))
        #expect(!QueueRunner.allows(.never, failure: true))
        #expect(!QueueRunner.allows(.conditions(success: true, failure: false, delay: false), failure: true))
        #expect(QueueRunner.originalRecipient("rfc822;x@y.test") == SMTPOriginalRecipient(addressType: "rfc822", address: "x@y.test"))
    }
}

@Suite struct DeliveryStatusNotificationTests {
    let original = Array("From: a@local.test\r\nSubject: the original\r\n\r\nsecret body\r\n".utf8)

    func notification(full: Bool) -> String {
        let dsn = DeliveryStatusNotification(
            reportingMTA: "mx.local.test", sender: "a@local.test", envelopeID: "env-1", arrivalDate: 1_700_000_000,
            recipients: [.init(address: "gone@remote.test", originalRecipient: "rfc822;gone@remote.test", action: .failed,
                               status: "5.1.1", remoteMTA: "mx.remote.test[192.0.2.1]", diagnostic: "550 5.1.1 no such user")],
            original: original, returnFullMessage: full)
        return String(decoding: dsn.render(now: 1_700_000_100, uniqueID: "u1"), as: UTF8.self)
    }

    @Test func bounceIsAMultipartReportWithTheOriginalHeader() {
        let text = notification(full: false)
        for needle in ["To: <a@local.test>", "Auto-Submitted: auto-replied", "Content-Type: multipart/report; report-type=delivery-status;",
                       "Reporting-MTA: dns; mx.local.test", "Original-Envelope-Id: env-1", "Final-Recipient: rfc822; gone@remote.test",
                       "Original-Recipient: rfc822; gone@remote.test", "Action: failed", "Status: 5.1.1",
                       "Remote-MTA: dns; mx.remote.test[192.0.2.1]", "Diagnostic-Code: smtp; 550 5.1.1 no such user",
                       "Content-Type: text/rfc822-headers", "Subject: the original", "--=_letterbox_dsn_u1--"] {
            #expect(text.contains(needle), "\(needle)")
        }
        #expect(!text.contains("secret body"), "RET=HDRS (the default) returns the header only")
        #expect(!text.contains("\n") || !text.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "CRLF line endings only")
    }

    @Test func fullReturnAttachesTheWholeMessage() {
        let text = notification(full: true)
        #expect(text.contains("Content-Type: message/rfc822") && text.contains("secret body"))
    }
}

@Suite struct QueueRunnerTests {
    let temporary = TemporaryDirectory()
    let store: SQLiteMailStore
    let directoryStore: SQLiteDirectoryStore

    init() throws {
        store = SQLiteMailStore(database: try SQLiteDatabase(path: temporary.path + "/db.sqlite"), blobs: try FileBlobStore(directory: temporary.path + "/blobs"))
        directoryStore = SQLiteDirectoryStore(store: store)
    }

    func runner(_ resolver: Resolver, configure: (inout OutboundConfiguration) -> Void = { _ in }) -> (QueueRunner, DeliveryAgent) {
        var configuration = OutboundConfiguration(hostname: "mx.local.test")
        configuration.connectTimeout = .seconds(2)
        configure(&configuration)
        let agent = DeliveryAgent(store: store, queue: store)
        let runner = QueueRunner(queue: store, blobs: store.blobs, agent: agent, directory: AccountDirectory(store: directoryStore),
                                 resolver: resolver, configuration: configuration, logger: Logger(label: "test"))
        return (runner, agent)
    }

    func queueOne(_ agent: DeliveryAgent, to recipient: String, notify: String? = nil) async throws -> String {
        let plan = DeliveryPlan(sender: EmailAddress("alice@local.test"), localAccounts: [],
                                remoteRecipients: [DeliveryRecipient(address: EmailAddress(recipient)!, notify: notify)])
        let receipt = try await agent.accept(Array("Subject: out\r\n\r\nbody\r\n".utf8), plan: plan, receivedAt: InternalDate(secondsSince1970: 0))
        return try #require(receipt.queueID)
    }

    @Test func nullMXBouncesAtOnceToTheLocalSender() async throws {
        try await directoryStore.addDomain(DomainName("local.test")!)
        let alice = try await directoryStore.addAccount(address: EmailAddress("alice@local.test")!, credential: "x", mailboxes: defaultMailboxes)
        let (runner, agent) = runner(Resolver(mxAnswers: ["nomail.test": .success([MXRecord(preference: 0, exchange: "")])]))
        let id = try await queueOne(agent, to: "bob@nomail.test")
        await runner.runOnce()
        #expect(try await store.queueEntry(id: id) == nil, "a permanent failure leaves the queue")
        let inbox = try #require(try await store.mailbox(of: alice.id, named: "INBOX"))
        let messages = try await store.messages(in: inbox.id)
        #expect(messages.count == 1)
        let dsn = String(decoding: try await store.blobs.get(messages[0].blob), as: UTF8.self)
        #expect(dsn.hasPrefix("Return-Path: <>\r\n"))
        #expect(dsn.contains("Status: 5.1.10") && dsn.contains("null MX"))
        let history = try await store.queueHistory(limit: 10)
        #expect(history.map(\.outcome) == [.failed, .bounced])
    }

    @Test func unreachableHostDefersWithTheReasonAndNoBounce() async throws {
        let (runner, agent) = runner(Resolver()) { $0.routes["remote.test"] = OutboundRoute(host: "127.0.0.1", port: 9, tls: .opportunistic) }
        let id = try await queueOne(agent, to: "bob@remote.test")
        await runner.runOnce()
        let entry = try #require(try await store.queueEntry(id: id))
        #expect(entry.attempts == 1 && entry.recipients[0].status == .pending)
        #expect(entry.lastError?.hasPrefix("4.4.1 cannot connect to 127.0.0.1") == true, "\(entry.lastError ?? "")")
        #expect(entry.nextAttemptAt >= entry.createdAt + 300 - 5)
        // Not due again yet: a second run does nothing.
        await runner.runOnce()
        #expect(try await store.queueEntry(id: id)?.attempts == 1)
        #expect(try await store.flushQueue(id: id, now: 0) == 1)
        await runner.runOnce()
        #expect(try await store.queueEntry(id: id)?.attempts == 2)
    }

    @Test func nxdomainFailsButNeverBouncesToTheNullSender() async throws {
        let (runner, agent) = runner(Resolver())
        let plan = DeliveryPlan(sender: nil, localAccounts: [], remoteRecipients: [DeliveryRecipient(address: EmailAddress("x@nowhere.test")!)])
        let receipt = try await agent.accept(Array("Subject: bounce\r\n\r\n".utf8), plan: plan, receivedAt: InternalDate(secondsSince1970: 0))
        await runner.runOnce()
        #expect(try await store.queueEntry(id: receipt.queueID!) == nil)
        #expect(try await store.queueHistory(limit: 10).map(\.outcome) == [.failed], "no bounce of a bounce")
        #expect(try await store.queueEntries().isEmpty)
    }

    /// A message queued `age` seconds ago by alice@local.test for bob@remote.test, whose route is a closed port.
    func queueOld(age: Int64, notify: String? = nil) async throws -> (QueueRunner, AccountID, String) {
        try await directoryStore.addDomain(DomainName("local.test")!)
        let alice = try await directoryStore.addAccount(address: EmailAddress("alice@local.test")!, credential: "x", mailboxes: defaultMailboxes)
        let (runner, _) = runner(Resolver()) { $0.routes["remote.test"] = OutboundRoute(host: "127.0.0.1", port: 9, tls: .opportunistic) }
        let blob = try await store.blobs.put(Array("Subject: old news\r\n\r\nbody\r\n".utf8))
        let now = QueueRunner.now()
        try await store.enqueue(QueueEntry(id: "old1", sender: "alice@local.test", blob: blob, size: 30, createdAt: now - age,
                                           attempts: 3, nextAttemptAt: now, recipients: [QueuedRecipient(address: "bob@remote.test", notify: notify)]))
        return (runner, alice.id, "old1")
    }

    func inboxTexts(_ account: AccountID) async throws -> [String] {
        let inbox = try #require(try await store.mailbox(of: account, named: "INBOX"))
        var texts: [String] = []
        for record in try await store.messages(in: inbox.id) { texts.append(String(decoding: try await store.blobs.get(record.blob), as: UTF8.self)) }
        return texts
    }

    @Test func delayWarningIsSentOnceAndTheMessageStays() async throws {
        let (runner, alice, id) = try await queueOld(age: 5 * 3600)
        await runner.runOnce()
        var texts = try await inboxTexts(alice)
        #expect(texts.count == 1 && texts[0].contains("Action: delayed") && texts[0].contains("Delayed Mail"))
        let entry = try #require(try await store.queueEntry(id: id))
        #expect(entry.delayWarned && entry.recipients[0].status == .pending)
        _ = try await store.flushQueue(id: id, now: 0)
        await runner.runOnce()
        texts = try await inboxTexts(alice)
        #expect(texts.count == 1, "one warning per message")
    }

    @Test func notifyNeverSuppressesTheWarning() async throws {
        let (runner, alice, _) = try await queueOld(age: 5 * 3600, notify: "NEVER")
        await runner.runOnce()
        #expect(try await inboxTexts(alice).isEmpty)
    }

    @Test func expiredMessageBouncesWithTheLastError() async throws {
        let (runner, alice, id) = try await queueOld(age: 5 * 86_400 + 60)
        await runner.runOnce()
        #expect(try await store.queueEntry(id: id) == nil)
        let texts = try await inboxTexts(alice)
        #expect(texts.count == 1)
        #expect(texts[0].contains("Action: failed") && texts[0].contains("Status: 4.4.7") && texts[0].contains("cannot connect"))
        #expect(try await store.queueHistory(limit: 10).map(\.outcome) == [.expired, .bounced])
    }
}
