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
    /// The mailbox's messages as of `modSeq` (see `MessageCache` for its invariants); nil while the session IDLEs, so
    /// an idle connection holds no copy of its mailbox (`IMAPSession.loadMessages` reads it again when needed).
    var messages: MessageCache?
    let readOnly: Bool
    /// Every change up to this modseq is in `view` (announced or pending).
    var modSeq: ModSeq
    /// While expunges are held back: a modseq below all of theirs (the `modSeq` the sync that found the first of them
    /// started from). A QRESYNC client, which may meanwhile see MODSEQs above it, is told this as HIGHESTMODSEQ after
    /// each such command, so a lost connection cannot make it skip the held expunges (RFC 7162 §3.2).
    var heldExpungesFloor: ModSeq?
    let signal: ChangeSignal
    private let subscription: MailboxSubscription

    init(info: MailboxInfo, view: SelectedMailboxView, messages: MessageCache?, readOnly: Bool, modSeq: ModSeq,
         subscription: MailboxSubscription, signal: ChangeSignal) {
        self.info = info
        self.view = view
        self.messages = messages
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
        // \Recent (RFC 3501): the first session to learn of a message claims it; a read-only one sees it unclaimed.
        var recent: Set<UID> = []
        if hasNew, current.readOnly {
            recent = Set(try await store.recentUIDs(in: current.id))
        } else if hasNew {
            recent = Set(try await store.claimRecent(in: current.id))
        }
        for record in changes.changed {
            let flags = Conversions.flags(record.flags)
            if record.uid > current.view.largestUID {
                current.view.apply(.appended(SelectedMailboxView.Message(uid: record.uid, flags: flags, isRecent: recent.contains(record.uid))))
            } else {
                current.view.apply(.flagsChanged(uid: record.uid, flags: flags, modSeq: UInt64(record.modSeq)))
            }
        }
        current.messages?.apply(changed: changes.changed, expunged: changes.expunged)
        let hadHeldExpunges = current.view.hasPendingExpunges
        for uid in changes.expunged { current.view.apply(.expunged(uid: uid)) }
        if !hadHeldExpunges, current.view.hasPendingExpunges { current.heldExpungesFloor = current.modSeq }
        current.modSeq = max(current.modSeq, changes.highestModSeq)
        current.info.uidNext = changes.uidNext
        selected = current
    }

    /// Synchronises, then makes sure the selected mailbox's message cache is there (after IDLE it is read again: the
    /// records as the store has them now, which is what every command read before the cache existed) and returns it.
    func loadMessages() async throws -> SelectedMailbox {
        try await synchronize()
        guard let current = selected else { throw CommandFailure.bad("no mailbox selected") }
        if current.messages != nil { return current }
        let cache = MessageCache(ascending: try await mailboxStates.states(of: current.info).states)
        selected?.messages = cache
        return try requireSelected()
    }

    /// Sends what the view may announce now (after a command's own responses, before its tagged completion).
    func announceUpdates(expungesAllowed: Bool) async throws {
        guard selected != nil else { return }
        try await synchronize()
        guard var current = selected, current.view.hasPendingChanges else { return }
        var responses = current.view.pendingResponses(expungesAllowed: expungesAllowed)
        if !current.view.hasPendingExpunges {
            current.heldExpungesFloor = nil
        } else if let floor = current.heldExpungesFloor, state.qresyncEnabled {
            // This command's FETCH responses (or these) may carry MODSEQs above held expunges.
            responses.append(.status(.ok, code: .highestModSeq(UInt64(floor)), text: "expunges pending"))
        }
        selected = current
        for response in responses { try await send(response) }
    }
}
