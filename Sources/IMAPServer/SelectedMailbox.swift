import IMAPProtocol
import MailStore
import ServerCore
import Synchronization

/// Set by the change feed's forwarding task, taken by the session: "the mailbox changed since you last looked".
final class ChangeSignal: Sendable {
    private let raised = Atomic<Bool>(false)

    func raise() { raised.store(true, ordering: .releasing) }

    /// True once per raise.
    func take() -> Bool { raised.exchange(false, ordering: .acquiringAndReleasing) }
}

/// The session's selected mailbox: the client's view of it, how far the session has synchronised (modseq), and the live
/// change-feed subscription that wakes the session (an IDLE in particular) when another session or delivery changes it.
struct SelectedMailbox {
    var info: MailboxInfo
    var view: SelectedMailboxView
    let readOnly: Bool
    /// Every change up to this modseq is in `view` (announced or pending).
    var modSeq: ModSeq
    let signal: ChangeSignal
    private let subscription: MailboxSubscription

    init(info: MailboxInfo, view: SelectedMailboxView, readOnly: Bool, modSeq: ModSeq, subscription: MailboxSubscription,
         signal: ChangeSignal) {
        self.info = info
        self.view = view
        self.readOnly = readOnly
        self.modSeq = modSeq
        self.subscription = subscription
        self.signal = signal
    }

    var id: MailboxID { info.id }

    /// Subscribes to `mailbox`'s changes; each event raises `signal` and wakes the connection.
    static func subscribe(to mailbox: MailboxID, feed: MailboxChangeFeed, waker: ConnectionWaker) -> (MailboxSubscription, ChangeSignal) {
        let subscription = feed.subscribe(mailbox: mailbox)
        let signal = ChangeSignal()
        let events = subscription.events
        Task {
            for await _ in events {
                signal.raise()
                waker.wakeUp()
            }
        }
        return (subscription, signal)
    }

    func close() { subscription.cancel() }
}

extension IMAPSession {
    /// Brings the view up to date with the store when the feed said something changed (or when `force`d).
    func synchronize(force: Bool = false) async throws {
        guard var current = selected else { return }
        guard current.signal.take() || force else { return }
        let changes = try await store.changes(in: current.id, since: current.modSeq)
        let hasNew = changes.changed.contains { $0.uid > current.view.largestUID }
        // \Recent (RFC 3501): the first session to learn of a message claims it.
        var recent: Set<UID> = []
        if hasNew, !current.readOnly { recent = Set(try await store.claimRecent(in: current.id)) }
        for record in changes.changed {
            let flags = Conversions.flags(record.flags)
            if record.uid > current.view.largestUID {
                current.view.apply(.appended(SelectedMailboxView.Message(uid: record.uid, flags: flags, isRecent: recent.contains(record.uid))))
            } else {
                current.view.apply(.flagsChanged(uid: record.uid, flags: flags, modSeq: UInt64(record.modSeq)))
            }
        }
        for uid in changes.expunged { current.view.apply(.expunged(uid: uid)) }
        current.modSeq = max(current.modSeq, changes.highestModSeq)
        current.info.uidNext = changes.uidNext
        selected = current
    }

    /// Sends what the view may announce now (after a command's own responses, before its tagged completion).
    func announceUpdates(expungesAllowed: Bool) async throws {
        guard selected != nil else { return }
        try await synchronize()
        guard var current = selected, current.view.hasPendingChanges else { return }
        let responses = current.view.pendingResponses(expungesAllowed: expungesAllowed)
        selected = current
        for response in responses { try await send(response) }
    }
}
