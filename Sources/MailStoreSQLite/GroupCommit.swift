import GRDB
import MailStore
import Synchronization

/// Group commit for the message writes of `SQLiteMailStore` (deliveries, appends, flag changes, expunges).
///
/// With `synchronous = FULL` every SQLite commit is a WAL fsync, and SQLite has one writer: N messages arriving at once
/// cost N fsyncs in a row. Here, writes that arrive while a transaction is running wait, and the next transaction runs
/// all of them (up to `maximumBatch`), each in its own savepoint, then commits once.
///
/// Invariants:
/// - A caller resumes only after the transaction holding its work has committed (or has failed): nothing a caller
///   acknowledges (SMTP 250, IMAP OK) is acknowledged before it is durable. A failed commit fails every write in it.
/// - One write's error rolls back its savepoint only; the others in the batch still commit. If the transaction itself
///   is gone after a write (SQLite rolls back on some I/O errors), the whole batch fails and nothing more runs in it.
/// - Writes run in the order they arrived; their callers publish change events after resuming, i.e. after commit.
final class GroupCommitter: Sendable {
    /// Writes one transaction may carry.
    static let maximumBatch = 64

    private struct Job: Sendable {
        /// Runs the write inside the batch's transaction, keeping its outcome.
        let run: @Sendable (Database) -> Void
        /// Resumes the caller: with the commit's error, or with the write's own outcome.
        let finish: @Sendable ((any Error)?) -> Void
    }

    private struct Queue {
        var pending: [Job] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let queue = Mutex(Queue())
    private let commits = Atomic<Int>(0)

    /// Transactions committed so far (each holding one or more writes).
    var committedTransactions: Int { commits.load(ordering: .relaxed) }

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Runs `body` in a transaction shared with concurrent writes; returns once that transaction has committed.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let outcome = Outcome<T>()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(
                run: { db in
                    do {
                        var value: T?
                        try db.inSavepoint {
                            value = try body(db)
                            return .commit
                        }
                        outcome.set(.success(value!))
                    } catch {
                        outcome.set(.failure(error))
                    }
                },
                finish: { commitError in
                    if let commitError { continuation.resume(throwing: commitError) } else { continuation.resume(with: outcome.take()) }
                })
            let startDrain = queue.withLock { queue in
                queue.pending.append(job)
                guard !queue.draining else { return false }
                queue.draining = true
                return true
            }
            if startDrain { Task { await self.drain() } }
        }
    }

    /// Runs batches until no write is waiting.
    private func drain() async {
        while true {
            let batch: [Job] = queue.withLock { queue in
                guard !queue.pending.isEmpty else {
                    queue.draining = false
                    return []
                }
                let batch = Array(queue.pending.prefix(Self.maximumBatch))
                queue.pending.removeFirst(batch.count)
                return batch
            }
            if batch.isEmpty { return }
            do {
                try await pool.write { db in
                    for job in batch {
                        job.run(db)
                        guard db.isInsideTransaction else { throw TransactionLost() }
                    }
                }
                commits.add(1, ordering: .relaxed)
                for job in batch { job.finish(nil) }
            } catch {
                for job in batch { job.finish(error) }
            }
        }
    }

    /// The batch's transaction was rolled back by SQLite while a write ran in it.
    struct TransactionLost: Error {}
}

/// A write's result, held from the moment it ran until its transaction commits.
private final class Outcome<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)

    func set(_ value: Result<T, any Error>) { result.withLock { $0 = value } }

    func take() -> Result<T, any Error> {
        result.withLock { $0 } ?? .failure(GroupCommitter.TransactionLost())
    }
}
