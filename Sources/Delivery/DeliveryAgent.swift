/// Delivery: the delivery transaction every accepted message goes through — local delivery into mailboxes and, for
/// other domains, the durable outbound queue (the queue runner, MX routing, SMTP client and bounces come with issue 6).
///
/// Invariant: `accept` returns only when every byte and row it promises is durable (blob fsync'd, transaction committed).
/// A failure before that leaves no visible message; the caller answers 4xx and the sender retries.
import Foundation
import MailCore
import MailStore
import Metrics

/// One envelope recipient with the DSN parameters it came with (RFC 3461).
public struct DeliveryRecipient: Hashable, Sendable {
    public var address: EmailAddress
    public var notify: String?
    public var originalRecipient: String?

    public init(address: EmailAddress, notify: String? = nil, originalRecipient: String? = nil) {
        self.address = address
        self.notify = notify
        self.originalRecipient = originalRecipient
    }
}

/// Where a message goes once accepted: resolved local accounts' INBOXes and remote recipients for the queue.
public struct DeliveryPlan: Sendable {
    /// Envelope sender; nil is the null sender `<>`.
    public var sender: EmailAddress?
    public var localAccounts: [AccountID]
    public var remoteRecipients: [DeliveryRecipient]
    /// Envelope parameters to keep with queued mail: ENVID, RET, BODY, SMTPUTF8, REQUIRETLS.
    public var parameters: [String: String]
    /// The local accounts' mailbox to file into ("Junk" for DMARC quarantine); INBOX when the account has no such mailbox.
    public var localMailbox = "INBOX"

    public init(sender: EmailAddress?, localAccounts: [AccountID], remoteRecipients: [DeliveryRecipient], parameters: [String: String] = [:]) {
        self.sender = sender
        self.localAccounts = localAccounts
        self.remoteRecipients = remoteRecipients
        self.parameters = parameters
    }
}

public struct DeliveryReceipt: Sendable, Equatable {
    public var localUIDs: [MailboxID: UID]
    public var queueID: String?
}

public enum DeliveryError: Error, Equatable, Sendable {
    /// Try again later (storage fault, disk full): SMTP 451 4.3.0.
    case temporary(String)
    /// Will never work (e.g. the account has no INBOX): SMTP 554 5.3.0.
    case permanent(String)
}

/// Computes the cached views (ENVELOPE, BODYSTRUCTURE, search text) of a message at delivery; supplied by the wiring so
/// this module does not fix the parser.
public typealias MessageSummarizer = @Sendable ([UInt8]) -> MessageSummary

public final class DeliveryAgent: Sendable {
    let store: any MailStore
    let queue: any QueueStore
    let summarize: MessageSummarizer
    /// Quota of accounts without their own, in octets; 0 is unlimited.
    let defaultQuota: Int64

    public init(
        store: any MailStore, queue: any QueueStore, defaultQuota: Int64 = 0,
        summarize: @escaping MessageSummarizer = { _ in MessageSummary() }
    ) {
        self.store = store
        self.queue = queue
        self.defaultQuota = defaultQuota
        self.summarize = summarize
    }

    /// The quota that applies to `account` in octets, or nil when it is unlimited.
    public func quota(of account: AccountRecord) -> Int64? {
        let quota = account.quota ?? defaultQuota
        return quota > 0 ? quota : nil
    }

    /// False when storing `octets` more would take `account` over its quota. A store error answers true: the delivery
    /// itself will then fail temporarily if the store is really broken, and a quota never loses mail.
    public func hasRoom(_ account: AccountRecord, for octets: Int) async -> Bool {
        guard let quota = quota(of: account) else { return true }
        guard let used = try? await store.usage(of: account.id) else { return true }
        return used + Int64(octets) <= quota && (octets > 0 || used < quota)
    }

    /// Stores `message` (its trace headers already added by the receiving server) for every recipient of the plan.
    /// Local copies get a `Return-Path:` header (RFC 5321 §4.4); the queued copy does not (the final hop adds it).
    ///
    /// Everything is committed in one store transaction — every local row and the queue row — so a failure leaves
    /// nothing behind and the client's retry cannot duplicate. `id` names the transaction: it is the queue id of the
    /// remote part, the id the SMTP server puts in Received and its 250 reply, and what `letterbox queue list` shows.
    public func accept(
        _ message: [UInt8], plan: DeliveryPlan, receivedAt: InternalDate, id: String = DeliveryAgent.makeTransactionID()
    ) async throws(DeliveryError) -> DeliveryReceipt {
        var receipt = DeliveryReceipt(localUIDs: [:], queueID: nil)
        do {
            var local: (message: NewMessage, mailboxes: [MailboxID])?
            if !plan.localAccounts.isEmpty {
                let bytes = Array("Return-Path: <\(plan.sender?.description ?? "")>\r\n".utf8) + message
                let blob = try await store.blobs.put(bytes)
                var inboxes: [MailboxID] = []
                for account in Set(plan.localAccounts) {
                    let chosen = plan.localMailbox == "INBOX" ? nil : try await store.mailbox(of: account, named: plan.localMailbox)
                    if let chosen { inboxes.append(chosen.id); continue }
                    guard let inbox = try await store.mailbox(of: account, named: "INBOX") else {
                        throw DeliveryError.permanent("\(account) has no INBOX")
                    }
                    inboxes.append(inbox.id)
                }
                local = (NewMessage(blob: blob, size: bytes.count, internalDate: receivedAt, summary: summarize(bytes)), inboxes)
            }
            var entry: QueueEntry?
            if !plan.remoteRecipients.isEmpty {
                let blob = try await store.blobs.put(message)
                let now = Int64(Date().timeIntervalSince1970)
                entry = QueueEntry(
                    id: id, sender: plan.sender?.description ?? "", blob: blob, size: message.count, parameters: plan.parameters,
                    createdAt: now, nextAttemptAt: now,
                    recipients: plan.remoteRecipients.map {
                        QueuedRecipient(address: $0.address.description, notify: $0.notify, originalRecipient: $0.originalRecipient)
                    })
            }
            switch (local, entry) {
            case (let local?, let entry?):
                receipt.localUIDs = try await queue.enqueue(entry, deliveringLocally: local.message, to: local.mailboxes)
                receipt.queueID = entry.id
            case (let local?, nil):
                receipt.localUIDs = try await store.deliver(local.message, to: local.mailboxes)
            case (nil, let entry?):
                try await queue.enqueue(entry)
                receipt.queueID = entry.id
            case (nil, nil):
                break
            }
            if let local {
                Counter(label: "letterbox_messages_delivered_total", dimensions: [("destination", "local")]).increment(by: local.mailboxes.count)
            }
        } catch let error as DeliveryError {
            throw error
        } catch {
            throw .temporary("\(error)")
        }
        return receipt
    }

    /// Transaction (and queue) ids: time-ordered and unique without coordination (12 hex digits of milliseconds + 8
    /// random).
    public static func makeTransactionID() -> String {
        let milliseconds = UInt64(Date().timeIntervalSince1970 * 1000)
        let random = UInt32.random(in: .min ... .max)
        return String(milliseconds, radix: 16).leftPadded(to: 12) + String(random, radix: 16).leftPadded(to: 8)
    }
}

extension String {
    func leftPadded(to length: Int) -> String { count >= length ? self : String(repeating: "0", count: length - count) + self }
}
