import Foundation
import HTTPServer
import MailStore
import Metrics

/// The outbound queue with metrics: wraps the real `QueueStore` so that every queue operation is timed
/// (`letterbox_store_operation_duration_seconds{operation="queue.…"}`) and every recorded delivery attempt counts its
/// per-recipient outcomes — delivered, deferred, and bounced (failed or expired) — for remote recipients.
/// Notices (`bounced`/`warned` events: a DSN was sent) and administrative removals are not counted.
struct MeteredQueueStore: QueueStore {
    let base: any QueueStore

    func enqueue(_ entry: QueueEntry) async throws {
        try await timed("queue.enqueue") { try await base.enqueue(entry) }
        Counter(label: LetterboxMetrics.messagesQueued).increment()
    }

    func enqueue(_ entry: QueueEntry, deliveringLocally local: NewMessage, to mailboxes: [MailboxID]) async throws -> [MailboxID: UID] {
        let uids = try await timed("queue.enqueue") { try await base.enqueue(entry, deliveringLocally: local, to: mailboxes) }
        Counter(label: LetterboxMetrics.messagesQueued).increment()
        return uids
    }

    func queueEntries() async throws -> [QueueEntry] {
        try await timed("queue.entries") { try await base.queueEntries() }
    }

    func queueEntry(id: String) async throws -> QueueEntry? {
        try await timed("queue.entry") { try await base.queueEntry(id: id) }
    }

    func removeQueueEntry(id: String) async throws {
        try await timed("queue.remove") { try await base.removeQueueEntry(id: id) }
    }

    func dueQueueEntries(now: Int64, limit: Int) async throws -> [QueueEntry] {
        try await timed("queue.due") { try await base.dueQueueEntries(now: now, limit: limit) }
    }

    func nextQueueAttempt() async throws -> Int64? {
        try await timed("queue.next") { try await base.nextQueueAttempt() }
    }

    func recordQueueAttempt(_ attempt: QueueAttempt) async throws {
        try await timed("queue.record") { try await base.recordQueueAttempt(attempt) }
        for event in attempt.events {
            switch event.outcome {
            case .delivered: Counter(label: LetterboxMetrics.messagesDelivered, dimensions: [("destination", "remote")]).increment()
            case .deferred: Counter(label: LetterboxMetrics.messagesDeferred).increment()
            case .failed, .expired: Counter(label: LetterboxMetrics.messagesBounced, dimensions: [("reason", event.outcome.rawValue)]).increment()
            case .bounced, .warned, .removed: break
            }
        }
    }

    func flushQueue(id: String?, now: Int64) async throws -> Int {
        try await timed("queue.flush") { try await base.flushQueue(id: id, now: now) }
    }

    func queueHistory(limit: Int) async throws -> [QueueEvent] {
        try await timed("queue.history") { try await base.queueHistory(limit: limit) }
    }

    func claimQueueEntries(ids: [String]) async throws -> [String] {
        try await timed("queue.claim") { try await base.claimQueueEntries(ids: ids) }
    }

    func releaseQueueEntries(ids: [String]) async throws {
        try await timed("queue.release") { try await base.releaseQueueEntries(ids: ids) }
    }

    func queueHeartbeat() async throws {
        try await base.queueHeartbeat()
    }

    private func timed<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        let start = DispatchTime.now()
        defer {
            Timer(label: LetterboxMetrics.storeLatency, dimensions: [("operation", operation)]).recordInterval(since: start)
        }
        return try await body()
    }
}
