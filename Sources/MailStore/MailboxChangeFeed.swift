import Synchronization

/// What a session is told: "this mailbox changed; its highest modseq is now at least N". Sessions then ask the store for
/// `changes(in:since:)`, so a lost or coalesced event never loses a change — the modseq is the truth, the event only a wake-up.
public enum MailboxEvent: Sendable, Hashable {
    case changed(MailboxID, highestModSeq: ModSeq)
    /// Mailboxes of the account were created, deleted or renamed.
    case mailboxListChanged(AccountID)
}

/// In-process publish/subscribe of mailbox changes. A backend publishes after commit; the PostgreSQL backend also publishes
/// what it hears through LISTEN/NOTIFY from other nodes.
///
/// Each subscriber holds a stream that keeps only the newest pending event per subscription (a slow session cannot make the
/// feed grow without bound: it resynchronises from the modseq anyway).
public final class MailboxChangeFeed: Sendable {
    private struct Subscriber {
        let mailbox: MailboxID?
        let account: AccountID?
        let continuation: AsyncStream<MailboxEvent>.Continuation
    }

    private let subscribers = Mutex<[Int: Subscriber]>([:])
    private let nextID = Atomic<Int>(0)

    public init() {}

    /// Events for one mailbox (IMAP selected state / IDLE) and, when `account` is given, that account's mailbox-list changes.
    /// The stream ends when the returned subscription is cancelled or released.
    public func subscribe(mailbox: MailboxID?, account: AccountID? = nil) -> MailboxSubscription {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<MailboxEvent>.makeStream(bufferingPolicy: .bufferingNewest(8))
        subscribers.withLock { $0[id] = Subscriber(mailbox: mailbox, account: account, continuation: continuation) }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        return MailboxSubscription(events: stream, cancel: { continuation.finish() })
    }

    public func publish(_ event: MailboxEvent) {
        let targets = subscribers.withLock { subscribers in
            subscribers.values.filter { subscriber in
                switch event {
                case .changed(let mailbox, _): return subscriber.mailbox == mailbox
                case .mailboxListChanged(let account): return subscriber.account == account
                }
            }.map(\.continuation)
        }
        for continuation in targets { continuation.yield(event) }
    }

    /// Wakes every subscriber, as if each of its mailboxes had changed: after notifications may have been lost (a
    /// PostgreSQL listener reconnected), every session resynchronises from its own modseq.
    public func wakeAll() {
        let targets = subscribers.withLock { subscribers in
            subscribers.values.flatMap { subscriber -> [(AsyncStream<MailboxEvent>.Continuation, MailboxEvent)] in
                var events: [(AsyncStream<MailboxEvent>.Continuation, MailboxEvent)] = []
                if let mailbox = subscriber.mailbox { events.append((subscriber.continuation, .changed(mailbox, highestModSeq: 0))) }
                if let account = subscriber.account { events.append((subscriber.continuation, .mailboxListChanged(account))) }
                return events
            }
        }
        for (continuation, event) in targets { continuation.yield(event) }
    }

    public var subscriberCount: Int { subscribers.withLock { $0.count } }
}

/// A live subscription; cancel it (or let it go) to stop receiving events.
public final class MailboxSubscription: Sendable {
    public let events: AsyncStream<MailboxEvent>
    private let cancelAction: @Sendable () -> Void

    init(events: AsyncStream<MailboxEvent>, cancel: @escaping @Sendable () -> Void) {
        self.events = events
        self.cancelAction = cancel
    }

    public func cancel() { cancelAction() }
    deinit { cancelAction() }
}
