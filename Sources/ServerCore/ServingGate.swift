import Synchronization

/// Holds back the work of a server until it may begin: listeners bind at once but accept no connection, and gated
/// services do not start, until `open()` — e.g. until the process has given up root (`[server] user`), so that no
/// connection is ever served and no file is ever written with root's rights.
///
/// Invariants: opens once and stays open; `wait()` returns when the gate opens or when the waiting task is cancelled
/// (a server that fails before opening must still shut down).
public final class ServingGate: Sendable {
    private enum State {
        case closed(next: UInt64, waiters: [UInt64: CheckedContinuation<Void, Never>])
        case open
    }

    private let state = Mutex(State.closed(next: 0, waiters: [:]))

    /// `open: true` makes a gate that never holds anything back.
    public init(open: Bool = false) {
        if open { state.withLock { $0 = .open } }
    }

    public var isOpen: Bool { state.withLock { if case .open = $0 { true } else { false } } }

    /// Lets every waiter, present and future, go on.
    public func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard case .closed(_, let waiters) = state else { return [] }
            state = .open
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the gate is open, or at once when the calling task is (or becomes) cancelled.
    public func wait() async {
        let id = state.withLock { state -> UInt64? in
            guard case .closed(let next, let waiters) = state else { return nil }
            state = .closed(next: next + 1, waiters: waiters)
            return next
        }
        guard let id else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    guard case .closed(let next, var waiters) = state, !Task.isCancelled else { return true }
                    waiters[id] = continuation
                    state = .closed(next: next, waiters: waiters)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard case .closed(let next, var waiters) = state else { return nil }
                let waiter = waiters.removeValue(forKey: id)
                state = .closed(next: next, waiters: waiters)
                return waiter
            }
            waiter?.resume()
        }
    }
}
