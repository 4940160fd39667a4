import Directory
import MailCore
import MailStore
import SMTPProtocol

/// Bookkeeping after an attempt: expiry, DSNs (bounce, delay warning, success), the queue update and the history.
extension QueueRunner {
    func record(_ job: Job, outcomes: [String: RecipientOutcome], original: [UInt8]?) async {
        let now = Self.now()
        let entry = job.entry
        let expired = configuration.retry.hasExpired(createdAt: entry.createdAt, now: now)
        var updates: [String: (QueuedRecipient.Status, String?)] = [:]
        var events: [QueueEvent] = []
        var failed: [DeliveryStatusNotification.Recipient] = []
        var relayed: [DeliveryStatusNotification.Recipient] = []
        var delayed: [DeliveryStatusNotification.Recipient] = []
        var lastError: String?
        for recipient in job.recipients {
            guard var outcome = outcomes[recipient.address] else { continue }
            if outcome.kind == .deferred, expired {
                outcome = RecipientOutcome(kind: .failed, status: "4.4.7",
                                           detail: "gave up after \(configuration.retry.expireAfter.components.seconds / 3600) hours; last error: \(outcome.detail)",
                                           remoteMTA: outcome.remoteMTA)
            }
            let notify = recipient.notify.flatMap(Self.notify)
            // The reason with its status code in front, as administrators expect ("4.4.1 cannot connect …").
            let reason = outcome.detail.first?.isNumber == true ? outcome.detail : "\(outcome.status) \(outcome.detail)"
            let dsn = DeliveryStatusNotification.Recipient(
                address: recipient.address, originalRecipient: recipient.originalRecipient, action: .failed, status: outcome.status,
                remoteMTA: outcome.remoteMTA, diagnostic: outcome.detail)
            switch outcome.kind {
            case .delivered:
                updates[recipient.address] = (.delivered, nil)
                events.append(QueueEvent(queueID: entry.id, at: now, recipient: recipient.address, outcome: .delivered, detail: outcome.detail))
                logger.info("delivered", metadata: ["id": "\(entry.id)", "to": "\(recipient.address)", "reply": "\(outcome.detail)"])
                if case .conditions(true, _, _)? = notify { relayed.append(withAction(dsn, .relayed)) }
            case .failed:
                updates[recipient.address] = (.failed, reason)
                events.append(QueueEvent(queueID: entry.id, at: now, recipient: recipient.address, outcome: expired ? .expired : .failed, detail: reason))
                logger.notice("delivery failed", metadata: ["id": "\(entry.id)", "to": "\(recipient.address)", "reason": "\(outcome.detail)"])
                if Self.allows(notify, failure: true) { failed.append(dsn) }
            case .deferred:
                updates[recipient.address] = (.pending, reason)
                lastError = reason
                events.append(QueueEvent(queueID: entry.id, at: now, recipient: recipient.address, outcome: .deferred, detail: reason))
                logger.info("delivery deferred", metadata: ["id": "\(entry.id)", "to": "\(recipient.address)", "reason": "\(outcome.detail)"])
                if !entry.delayWarned, configuration.retry.shouldWarn(createdAt: entry.createdAt, now: now), Self.allows(notify, delay: true) {
                    delayed.append(withAction(dsn, .delayed))
                }
            }
        }
        // DSNs first: once stored they survive a crash; the attempt's record may then be repeated, never the reverse.
        for (recipients, kind) in [(failed, QueueEvent.Outcome.bounced), (delayed, .warned), (relayed, .delivered)] where !recipients.isEmpty {
            guard !entry.sender.isEmpty, let original else { continue }  // never a DSN to the null sender (RFC 3461 §6.2)
            if await sendNotification(entry, recipients: recipients, original: original, now: now), kind != .delivered {
                events.append(QueueEvent(queueID: entry.id, at: now, recipient: entry.sender, outcome: kind,
                                         detail: "\(kind == .bounced ? "bounce" : "delay warning") sent to <\(entry.sender)>"))
            }
        }
        let attempt = QueueAttempt(
            queueID: entry.id, recipients: updates,
            nextAttemptAt: now + configuration.retry.delay(afterAttempts: entry.attempts + 1), lastError: lastError, events: events,
            delayWarned: !delayed.isEmpty)
        do {
            try await queue.recordQueueAttempt(attempt)
        } catch {
            logger.error("cannot record a delivery attempt", metadata: ["id": "\(entry.id)", "error": "\(error)"])
        }
    }

    private func withAction(_ recipient: DeliveryStatusNotification.Recipient, _ action: DeliveryStatusNotification.Action) -> DeliveryStatusNotification.Recipient {
        var copy = recipient
        copy.action = action
        return copy
    }

    /// RFC 3461 §4.1: without NOTIFY, failures are reported and delays may be; NEVER reports nothing.
    static func allows(_ notify: SMTPDSNNotify?, failure: Bool = false, delay: Bool = false) -> Bool {
        switch notify {
        case nil: return true
        case .never?: return false
        case .conditions(_, let onFailure, let onDelay)?: return (failure && onFailure) || (delay && onDelay)
        }
    }

    /// Stores a DSN for the message's sender: locally when the sender is ours, else in the queue with the null sender.
    func sendNotification(_ entry: QueueEntry, recipients: [DeliveryStatusNotification.Recipient], original: [UInt8], now: Int64) async -> Bool {
        guard let sender = EmailAddress(entry.sender) else { return false }
        let notification = DeliveryStatusNotification(
            reportingMTA: configuration.hostname, sender: entry.sender, envelopeID: entry.parameters["ENVID"], arrivalDate: entry.createdAt,
            recipients: recipients, original: original, returnFullMessage: entry.parameters["RET"] == "FULL")
        let message = notification.render(now: now, uniqueID: DeliveryAgent.makeTransactionID())
        let plan: DeliveryPlan
        do {
            switch try await directory.resolve(sender) {
            case .deliver(let accounts, let forward):
                plan = DeliveryPlan(sender: nil, localAccounts: accounts.map(\.id), remoteRecipients: forward.map { DeliveryRecipient(address: $0) })
            case .notLocal:
                plan = DeliveryPlan(sender: nil, localAccounts: [], remoteRecipients: [DeliveryRecipient(address: sender)])
            case .unknownUser:
                logger.notice("no one to send a DSN to", metadata: ["id": "\(entry.id)", "sender": "\(entry.sender)"])
                return false
            }
            _ = try await agent.accept(message, plan: plan, receivedAt: InternalDate(secondsSince1970: now))
            return true
        } catch {
            logger.error("cannot store a DSN", metadata: ["id": "\(entry.id)", "error": "\(error)"])
            return false
        }
    }
}
