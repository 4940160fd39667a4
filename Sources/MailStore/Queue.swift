import MailCore

/// One recipient of a queued outbound message, with its own status (RFC 3461 per-recipient DSN data kept).
public struct QueuedRecipient: Hashable, Sendable {
    public enum Status: String, Sendable { case pending, delivered, failed }
    public var address: String
    /// DSN NOTIFY (RFC 3461 §4.1) as given, e.g. "SUCCESS,FAILURE", or nil.
    public var notify: String?
    /// DSN ORCPT (RFC 3461 §4.2) as given, e.g. "rfc822;bob@example.org", or nil.
    public var originalRecipient: String?
    public var status: Status
    public var lastError: String?

    public init(address: String, notify: String? = nil, originalRecipient: String? = nil, status: Status = .pending, lastError: String? = nil) {
        self.address = address
        self.notify = notify
        self.originalRecipient = originalRecipient
        self.status = status
        self.lastError = lastError
    }
}

/// A message waiting in the outbound queue.
public struct QueueEntry: Hashable, Sendable {
    public var id: String
    /// Envelope sender; empty for the null sender `<>` (bounces).
    public var sender: String
    public var blob: BlobID
    public var size: Int
    /// Envelope parameters kept for delivery: ENVID, RET, BODY, SMTPUTF8, REQUIRETLS (name → value).
    public var parameters: [String: String]
    public var createdAt: Int64
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var lastError: String?
    public var recipients: [QueuedRecipient]
    /// A delay warning (RFC 3464 action "delayed") has been sent for this message.
    public var delayWarned: Bool

    public init(
        id: String, sender: String, blob: BlobID, size: Int, parameters: [String: String] = [:], createdAt: Int64,
        attempts: Int = 0, nextAttemptAt: Int64, lastError: String? = nil, recipients: [QueuedRecipient], delayWarned: Bool = false
    ) {
        self.delayWarned = delayWarned
        self.id = id
        self.sender = sender
        self.blob = blob
        self.size = size
        self.parameters = parameters
        self.createdAt = createdAt
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.recipients = recipients
    }
}

/// One line of the queue's history: what happened to one recipient at one attempt.
public struct QueueEvent: Hashable, Sendable {
    public enum Outcome: String, Sendable { case delivered, deferred, failed, expired, bounced, warned, removed }
    public var queueID: String
    public var at: Int64
    public var recipient: String
    public var outcome: Outcome
    /// The remote reply or local reason, e.g. "mx.example.org[127.0.0.3]: 250 2.0.0 Ok".
    public var detail: String

    public init(queueID: String, at: Int64, recipient: String, outcome: Outcome, detail: String) {
        self.queueID = queueID
        self.at = at
        self.recipient = recipient
        self.outcome = outcome
        self.detail = detail
    }
}

/// The bookkeeping of one delivery attempt, written in one transaction.
public struct QueueAttempt: Hashable, Sendable {
    public var queueID: String
    /// New status and last error per recipient address (recipients not named are unchanged).
    public var recipients: [String: (QueuedRecipient.Status, String?)]
    public var nextAttemptAt: Int64
    public var lastError: String?
    public var events: [QueueEvent]
    public var delayWarned: Bool

    public init(queueID: String, recipients: [String: (QueuedRecipient.Status, String?)], nextAttemptAt: Int64, lastError: String?,
                events: [QueueEvent], delayWarned: Bool = false) {
        self.queueID = queueID
        self.recipients = recipients
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.events = events
        self.delayWarned = delayWarned
    }

    public static func == (lhs: QueueAttempt, rhs: QueueAttempt) -> Bool {
        lhs.queueID == rhs.queueID && lhs.nextAttemptAt == rhs.nextAttemptAt && lhs.lastError == rhs.lastError && lhs.events == rhs.events
            && lhs.delayWarned == rhs.delayWarned && lhs.recipients.mapValues { "\($0.0)|\($0.1 ?? "")" } == rhs.recipients.mapValues { "\($0.0)|\($0.1 ?? "")" }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(queueID); hasher.combine(nextAttemptAt) }
}

/// The durable outbound queue. `enqueue` commits before it returns; the blob must already be stored.
public protocol QueueStore: Sendable {
    func enqueue(_ entry: QueueEntry) async throws
    /// The one commit of a message with both local and remote recipients: queues `entry` and delivers `local` (already
    /// in the blob store) to `mailboxes` in one transaction, so either all of it is durable or none of it is — a failure
    /// answered 4xx leaves no local copy for the client's retry to duplicate. Publishes the mailbox changes after commit.
    func enqueue(_ entry: QueueEntry, deliveringLocally local: NewMessage, to mailboxes: [MailboxID]) async throws -> [MailboxID: UID]
    func queueEntries() async throws -> [QueueEntry]
    func queueEntry(id: String) async throws -> QueueEntry?
    func removeQueueEntry(id: String) async throws
    /// Entries with a pending recipient whose next attempt is due at `now`, oldest first, at most `limit`.
    func dueQueueEntries(now: Int64, limit: Int) async throws -> [QueueEntry]
    /// The earliest next attempt time of any entry, or nil when the queue is empty.
    func nextQueueAttempt() async throws -> Int64?
    /// Records an attempt in one transaction; the entry is removed when no recipient is left pending.
    func recordQueueAttempt(_ attempt: QueueAttempt) async throws
    /// Makes one entry (or all) due now; returns how many.
    func flushQueue(id: String?, now: Int64) async throws -> Int
    /// The most recent history lines, oldest first.
    func queueHistory(limit: Int) async throws -> [QueueEvent]

    // MARK: Several nodes on one queue

    /// Marks entries as being delivered by this node so no other node takes them (`FOR UPDATE SKIP LOCKED`); returns the
    /// ids this node now holds, leaving out those another live node holds. A single-node backend holds everything.
    func claimQueueEntries(ids: [String]) async throws -> [String]
    /// Gives claims back once this node has finished with the entries (their outcome is recorded).
    func releaseQueueEntries(ids: [String]) async throws
    /// Tells the other nodes this one is alive; the claims of a node that stops calling this lapse after a timeout.
    func queueHeartbeat() async throws
}

