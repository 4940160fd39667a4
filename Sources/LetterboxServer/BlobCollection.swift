import Foundation
import Logging
import MailStore
import ServiceLifecycle

/// Reclaims the space of deleted messages. Deleting a message (expunge, move, a deleted mailbox or account) or finishing
/// a queue entry records its blob as released, in the same transaction; `collectReleased` removes the blobs released
/// more than `grace` ago that nothing references again, with their cached summaries. The grace is the time a blob may
/// sit between the `put` that stored it and the commit that references it; a `put` of the same bytes meanwhile keeps
/// it (`BlobStore.remove(_:unlessPutSince:)`). `sweep` is the full pass for what no release recorded: blobs of a
/// transaction a crash cut short, and blobs released before the store kept track (SQLite v6, PostgreSQL migration 4).
public struct BlobCollection: Sendable {
    /// One hour: far longer than any gap between a `put` and its commit.
    public static let defaultGrace: Int64 = 3600
    static let batch = 500
    /// Releases looked at in one run at most; the rest wait for the next run.
    static let maximumPerRun = 100_000

    let store: any MailStore
    let grace: Int64

    public init(store: any MailStore, grace: Int64 = defaultGrace) {
        self.store = store
        self.grace = grace
    }

    /// Removes the released blobs that nothing references again; returns how many releases it looked at and how many
    /// blobs it removed.
    public func collectReleased() async throws -> (examined: Int, removed: Int) {
        let cutoff = Int64(Date().timeIntervalSince1970) - grace
        var total = (examined: 0, removed: 0)
        while total.examined < Self.maximumPerRun {
            let run = try await store.collectReleasedBlobs(releasedBefore: cutoff, limit: Self.batch)
            total = (total.examined + run.examined, total.removed + run.removed)
            if run.examined < Self.batch { break }
        }
        return total
    }

    /// `letterbox gc`: the routine collection now, and with `full` the sweep; one line to print for each.
    public func runNow(full: Bool) async throws -> [String] {
        let released = try await collectReleased()
        var lines = ["deleted messages: \(released.examined) released blobs looked at, \(released.removed) removed"]
        if full {
            let swept = try await sweep()
            lines.append("full sweep: \(swept) unreferenced blobs removed")
        }
        return lines
    }

    /// Looks at every stored blob and removes those nothing references; returns how many it removed.
    public func sweep() async throws -> Int {
        let store = self.store
        return try await store.blobs.collectGarbage(isReferenced: { try await store.isBlobReferenced($0) }, olderThanSeconds: Int(grace))
    }
}

/// A piece of `serve` that does one thing every `interval` until shutdown (the first time one interval after start). A
/// failed run is logged with `failure` and the next one comes as usual.
struct PeriodicService: Service {
    let interval: Duration
    let logger: Logger
    let failure: Logger.Message
    let work: @Sendable () async throws -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while true {
                do { try await Task.sleep(for: interval) } catch { return }
                do { try await work() } catch { logger.warning(failure, metadata: ["error": "\(error)"]) }
            }
        }
    }
}

extension BlobCollection {
    /// `serve`'s part: `collectReleased` every `store.gc_interval`.
    func service(every interval: Duration, logger: Logger) -> PeriodicService {
        PeriodicService(interval: interval, logger: logger, failure: "reclaiming the space of deleted messages failed; trying again later") {
            let (examined, removed) = try await collectReleased()
            if examined > 0 {
                logger.info("reclaimed the space of deleted messages", metadata: ["released": "\(examined)", "removed": "\(removed)"])
            }
        }
    }
}
