import Delivery
import Directory
import Foundation
import Logging
import MailAuth
import Metrics
import MailCore
import MailStore
import NIOCore
import SASL
import ServerCore
import SMTPProtocol

/// Runs one SMTP connection: reads client input, frames it with `SMTPInputFramer` for the session's input mode, feeds
/// `SMTPServerSession` and carries out its actions in order (SMTPProtocol.swift, "How a server module drives…").
///
/// Reading: command and AUTH lines come through `Connection.readLineOrWakeUp` (so a graceful shutdown interrupts an idle
/// client), message data through `readAvailable`. Output is flushed when no complete input is buffered any more and the
/// connection holds no unread bytes (RFC 2920 batching), before a TLS upgrade, and on close.
final class SMTPSessionDriver {
    let connection: Connection
    let service: SMTPService
    var session: SMTPServerSession
    var framer: SMTPInputFramer
    /// Bytes taken from the connection and not yet framed.
    var input = ByteBuffer()
    /// The body of the open transaction; nil when none.
    var body: [UInt8]?
    /// Where each accepted recipient of the open transaction goes, by normalized address.
    var routes: [String: Route] = [:]
    /// The running AUTH exchange.
    var exchange: Authenticator.Exchange?
    /// The account that authenticated on this connection.
    var account: AccountRecord?
    /// The verb of the last command (EHLO, MAIL, DATA…), for the commands metric.
    var commandVerb = "-"
    /// This connection in the authenticator's session registry, once authenticated.
    var registration: SessionRegistry.Registration?
    var finished = false

    enum Route {
        case local(accounts: [AccountRecord], forward: [EmailAddress])
        case remote
    }

    init(connection: Connection, service: SMTPService) {
        self.connection = connection
        self.service = service
        self.session = SMTPServerSession(configuration: service.configuration.sessionConfiguration(tlsActive: connection.isTLS))
        self.framer = SMTPInputFramer(limits: service.configuration.framerLimits)
    }

    var configuration: SMTPService.Configuration { service.configuration }
    var clientAddress: String? { connection.remoteAddress?.ipAddress }

    func run() async {
        connection.idleTimeout = configuration.idleTimeout
        defer { if let registration { service.authenticator.sessions.unregister(registration) } }
        do throws(ConnectionError) {
            try await perform(session.start())
            while !finished {
                if let unit = framer.next(from: &input, mode: session.inputMode) {
                    switch unit {
                    case .command(let command): commandVerb = command.verb
                    case .invalidCommand: commandVerb = "-"
                    default: break
                    }
                    try await perform(session.receive(unit))
                    continue
                }
                if connection.bufferedByteCount == 0 { try await connection.flush() }
                if connection.isShutdownRequested, session.transaction == nil, session.inputMode == .command {
                    try await perform(session.shutdown())
                    continue
                }
                try await readMore()
            }
        } catch .idleTimeout {
            _ = session.connectionClosed()
            body = nil
            try? await connection.send("421 4.4.2 \(configuration.hostname.name) Idle timeout, closing connection\r\n")
            await connection.close()
        } catch {
            // The client went away (or the transport failed): RFC 5321 §4.1.1.5, treat as QUIT; an open body is dropped.
            _ = session.connectionClosed()
            body = nil
            if case .transport(let underlying) = error {
                connection.logger.debug("connection ended", metadata: ["error": "\(underlying)"])
            }
            await connection.close()
        }
    }

    /// Takes more bytes from the connection into `input`, in the way the session's input mode needs.
    private func readMore() async throws(ConnectionError) {
        switch session.inputMode {
        case .command, .authenticationLine:
            let limit = session.inputMode == .command ? configuration.commandLineLimit : configuration.authenticationLineLimit
            do throws(ConnectionError) {
                switch try await connection.readLineOrWakeUp(maxLength: limit) {
                case .line(let line):
                    input.writeImmutableBuffer(line.bytes)
                    input.writeBytes(line.terminator == .crlf ? [13, 10] : [10])
                case .wokenUp, .shutdownRequested:
                    break  // the loop looks at the shutdown flag
                }
            } catch .lineTooLong {
                input.clear()
                let unit: SMTPServerInput = session.inputMode == .command ? .invalidCommand(.lineTooLong) : .authenticationLineTooLong
                try await perform(session.receive(unit))
            }
        case .data, .chunk:
            var bytes = try await connection.readAvailable(max: 64 * 1024)
            input.writeBuffer(&bytes)
        case .none:
            finished = true
        }
    }

    // MARK: Actions

    func perform(_ actions: [SMTPServerAction]) async throws(ConnectionError) {
        for action in actions {
            if finished { return }
            switch action {
            case .reply(let reply):
                // Replies by the command they answer and their class (`/metrics`); intermediate 334/354 count too.
                Counter(label: "letterbox_commands_total", dimensions: [
                    ("protocol", "smtp"), ("command", commandVerb), ("result", "\(reply.code / 100)xx"),
                ]).increment()
                try await connection.write(ByteBuffer(bytes: reply.encodedBytes()))
            case .startTLS(let reply):
                try await startTLS(reply)
            case .authenticate(let mechanism, let initialResponse):
                try await perform(await startAuthentication(mechanism, initialResponse))
            case .authenticationResponse(let response):
                try await perform(await continueAuthentication(response))
            case .cancelAuthentication:
                exchange = nil
            case .checkSender(let sender, _):
                routes = [:]
                try await perform(session.senderChecked(await checkSender(sender)))
            case .checkRecipient(let recipient, _):
                try await perform(session.recipientChecked(await checkRecipient(recipient)))
            case .beginData:
                body = []
            case .appendData(let bytes):
                body?.append(contentsOf: bytes.readableBytesView)
            case .discardData:
                body = nil
            case .deliver(let envelope):
                try await perform(session.deliveryFinished(await deliver(envelope)))
            case .close:
                finished = true
                await connection.close()
            }
        }
    }

    private func startTLS(_ reply: SMTPReply) async throws(ConnectionError) {
        // RFC 3207 §4.2: plaintext pipelined behind STARTTLS is never executed; a client doing that is not trusted further.
        guard input.readableBytes == 0 else {
            connection.logger.notice("plaintext pipelined after STARTTLS, closing", metadata: ["bytes": "\(input.readableBytes)"])
            finished = true
            await connection.close()
            return
        }
        do throws(ConnectionError) {
            try await connection.startTLS(sending: ByteBuffer(bytes: reply.encodedBytes()))
        } catch .plaintextAfterSTARTTLS {
            finished = true
            await connection.close()
            return
        }
        framer = SMTPInputFramer(limits: configuration.framerLimits)
        account = nil
        try await perform(session.tlsEstablished())
    }

    // MARK: Transaction

    private func checkSender(_ sender: EmailAddress?) async -> SMTPSenderVerdict {
        guard configuration.role == .submission else { return .accepted }  // MX: no sender policy yet (SPF: MailAuth)
        guard let account, let sender else { return .notOwned }
        do {
            return try await service.directory.may(account, sendAs: sender) ? .accepted : .notOwned
        } catch {
            connection.logger.error("sender check failed", metadata: ["error": "\(error)"])
            return .temporaryFailure
        }
    }

    private func checkRecipient(_ recipient: SMTPRecipient) async -> SMTPRecipientVerdict {
        let address = recipient.address
        var resolution: RecipientResolution
        do {
            resolution = try await service.directory.resolve(address)
            if address.localPart.lowercased() == "postmaster", !resolution.delivers,
               let postmaster = try await service.postmasterResolution(for: address) {
                resolution = postmaster
            }
        } catch {
            connection.logger.error("recipient lookup failed", metadata: ["error": "\(error)"])
            return .temporaryFailure
        }
        switch resolution {
        case .deliver(let accounts, let forward):
            let declared = Int(clamping: session.transaction?.declaredSize ?? 0)
            for account in accounts where await !service.delivery.hasRoom(account, for: declared) {
                connection.logger.notice("recipient over quota", metadata: ["recipient": "\(address)"])
                return .rejected(.mailboxFull)
            }
            routes[address.normalized] = .local(accounts: accounts, forward: forward)
            return .accepted
        case .unknownUser:
            return .unknownUser
        case .notLocal:
            // Only an authenticated submission client may relay (RFC 6409 §4.3; RFC 5321 §3.6.2, §7.1).
            guard configuration.role == .submission, account != nil else { return .relayDenied }
            routes[address.normalized] = .remote
            return .accepted
        }
    }

    private func deliver(_ envelope: SMTPEnvelope) async -> SMTPDeliveryResult {
        guard let content = body else { return .failed(.localError) }
        body = nil
        let now = Date()
        let seconds = Int64(now.timeIntervalSince1970)
        let date = MessageDate(secondsSinceEpoch: seconds)
        let id = DeliveryAgent.makeTransactionID()
        let transaction = TraceHeaders.Transaction(
            clientName: session.clientName.map { "\($0)" } ?? "unknown", clientAddress: clientAddress,
            usedEHLO: session.usedEHLO, smtpUTF8: envelope.smtpUTF8, tlsActive: connection.isTLS, tlsVersion: tlsVersionName,
            authenticatedUser: account?.address.description, id: id,
            singleRecipient: envelope.recipients.count == 1 ? envelope.recipients[0].address : nil)
        let received = Array(TraceHeaders.received(transaction, hostname: configuration.hostname, date: date).utf8)
        var message: [UInt8]
        var plan = deliveryPlan(envelope)
        if configuration.role == .submission {
            var addFrom: EmailAddress?
            if let account, configuration.checkFrom {
                switch await checkHeaderSenders(content, account: account) {
                case .allowed: break
                case .addFrom: addFrom = account.address
                case .refused(let reply):
                    Counter(label: "letterbox_messages_rejected_total", dimensions: [("reason", "sender")]).increment()
                    connection.logger.notice("message refused: header sender not owned", metadata: ["id": "\(id)", "reply": "\(reply.lines.first ?? "")"])
                    return .failed(reply)
                }
            } else if let account, !TraceHeaders.headerFieldNames(content).contains("from") {
                addFrom = account.address
            }
            let added = TraceHeaders.missingSubmissionFields(content, hostname: configuration.hostname, date: date, uniqueID: id, from: addFrom)
            let body = Array(added.utf8) + content
            // DKIM over what the user wrote plus the fields we added; the Received field is not signed.
            let signatures = service.authentication?.signatures(for: body, mailFrom: envelope.mailFrom?.description, now: seconds) ?? ""
            message = Array(signatures.utf8) + received + body
        } else if let authentication = service.authentication, authentication.checkInbound {
            // RFC 8601 §5: an Authentication-Results field claiming to be ours that came from outside is a forgery.
            let cleaned = AuthenticationResults.removingFields(claiming: configuration.hostname.name, from: content)
            let verdict = await authentication.check(
                message: cleaned, clientIP: clientAddress, helo: session.clientName.map { "\($0)" } ?? "",
                mailFrom: envelope.mailFrom?.description, hostname: configuration.hostname.name, now: seconds)
            connection.logger.info("mail authentication", metadata: ["id": "\(id)", "result": "\(verdict.summary)"])
            switch verdict.disposition {
            case .deliver: break
            case .junk: plan.localMailbox = "Junk"
            case .reject(let reason):
                Counter(label: "letterbox_messages_rejected_total", dimensions: [("reason", "dmarc")]).increment()
                return .failed(SMTPReply(550, SMTPEnhancedStatusCode(5, 7, 1), reason))
            }
            message = received + Array(verdict.headerField.utf8) + cleaned
        } else {
            message = received + content
        }
        for account in localAccounts(envelope) where await !service.delivery.hasRoom(account, for: message.count) {
            // One reply covers every recipient, so the whole message is deferred; the sender retries (RFC 5321 §4.2.5).
            connection.logger.notice("message over a recipient's quota, answered 452", metadata: ["id": "\(id)", "account": "\(account.address)"])
            Counter(label: "letterbox_messages_rejected_total", dimensions: [("reason", "quota")]).increment()
            return .failed(.mailboxFull)
        }
        do throws(DeliveryError) {
            _ = try await service.delivery.accept(message, plan: plan, receivedAt: InternalDate(secondsSince1970: seconds), id: id)
        } catch {
            switch error {
            case .temporary(let detail):
                Counter(label: "letterbox_messages_rejected_total", dimensions: [("reason", "temporary")]).increment()
                connection.logger.error("delivery failed, answered 451", metadata: ["id": "\(id)", "error": "\(detail)"])
                return .failed(.localError)
            case .permanent(let detail):
                Counter(label: "letterbox_messages_rejected_total", dimensions: [("reason", "permanent")]).increment()
                connection.logger.error("delivery refused, answered 554", metadata: ["id": "\(id)", "error": "\(detail)"])
                return .failed(SMTPReply(554, SMTPEnhancedStatusCode(5, 3, 0), "Transaction failed"))
            }
        }
        Counter(label: "letterbox_messages_accepted_total", dimensions: [("role", "\(configuration.role)")]).increment()
        connection.logger.info("message accepted", metadata: [
            "id": "\(id)", "size": "\(message.count)", "recipients": "\(envelope.recipients.count)",
            "local": "\(plan.localAccounts.count)", "remote": "\(plan.remoteRecipients.count)",
        ])
        return .accepted(queueID: id)
    }

    private func checkHeaderSenders(_ content: [UInt8], account: AccountRecord) async -> SenderCheck.Verdict {
        do {
            return try await SenderCheck.check(content, account: account, directory: service.directory)
        } catch {
            connection.logger.error("header sender check failed", metadata: ["error": "\(error)"])
            return .refused(.localError)
        }
    }

    private func localAccounts(_ envelope: SMTPEnvelope) -> [AccountRecord] {
        var accounts: [AccountRecord] = []
        for recipient in envelope.recipients {
            guard case .local(let found, _)? = routes[recipient.address.normalized] else { continue }
            for account in found where !accounts.contains(where: { $0.id == account.id }) { accounts.append(account) }
        }
        return accounts
    }

    private func deliveryPlan(_ envelope: SMTPEnvelope) -> DeliveryPlan {
        var local: [AccountID] = []
        var remote: [DeliveryRecipient] = []
        func addRemote(_ address: EmailAddress, _ recipient: SMTPRecipient?) {
            guard !remote.contains(where: { $0.address.normalized == address.normalized }) else { return }
            remote.append(DeliveryRecipient(
                address: address, notify: recipient?.notify?.encoded,
                originalRecipient: recipient?.originalRecipient.map { "\($0.addressType);\($0.address)" }))
        }
        for recipient in envelope.recipients {
            switch routes[recipient.address.normalized] {
            case .local(let accounts, let forward)?:
                for id in accounts.map(\.id) where !local.contains(id) { local.append(id) }
                for address in forward { addRemote(address, nil) }
            case .remote?:
                addRemote(recipient.address, recipient)
            case nil:
                continue
            }
        }
        var parameters: [String: String] = [:]
        if let envelopeID = envelope.envelopeID { parameters["ENVID"] = envelopeID }
        if let ret = envelope.dsnReturn { parameters["RET"] = ret.rawValue }
        if let bodyType = envelope.body { parameters["BODY"] = bodyType.rawValue }
        if envelope.smtpUTF8 { parameters["SMTPUTF8"] = "yes" }
        if envelope.requireTLS { parameters["REQUIRETLS"] = "yes" }
        return DeliveryPlan(sender: envelope.mailFrom, localAccounts: local, remoteRecipients: remote, parameters: parameters)
    }

    /// "TLSv1.3" / "TLSv1.2" from the negotiated version.
    var tlsVersionName: String? {
        guard let version = connection.tls?.version else { return connection.isTLS ? "TLS" : nil }
        switch String(describing: version) {
        case "tlsv13": return "TLSv1.3"
        case "tlsv12": return "TLSv1.2"
        case "tlsv11": return "TLSv1.1"
        case "tlsv1": return "TLSv1.0"
        case let other: return other
        }
    }
}
