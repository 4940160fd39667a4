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

    public init(
        id: String, sender: String, blob: BlobID, size: Int, parameters: [String: String] = [:], createdAt: Int64,
        attempts: Int = 0, nextAttemptAt: Int64, lastError: String? = nil, recipients: [QueuedRecipient]
    ) {
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

/// The durable outbound queue. `enqueue` commits before it returns; the blob must already be stored.
public protocol QueueStore: Sendable {
    func enqueue(_ entry: QueueEntry) async throws
    func queueEntries() async throws -> [QueueEntry]
    func queueEntry(id: String) async throws -> QueueEntry?
    func removeQueueEntry(id: String) async throws
}
