import Synchronization

#if canImport(Glibc)
/// glibc's `int malloc_trim(size_t pad)` (malloc.h, which the Glibc module does not export).
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
#endif

/// Gives memory that many connections freed back to the kernel, at most once per `interval`.
///
/// glibc's malloc keeps freed memory in its arenas: when ten thousand IMAP sessions drop their message caches on
/// entering IDLE, the resident size stays where it was, because the freed chunks sit between live allocations and the
/// heap top cannot shrink. `malloc_trim(0)` returns every whole free page in every arena (`MADV_DONTNEED`). It walks
/// the arenas, so it is not called per connection: `requestTrim()` only marks that memory was released, and one
/// background task trims when it next wakes and the mark is set.
public final class HeapTrimmer: Sendable {
    public static let shared = HeapTrimmer(interval: .seconds(5))

    private let requested = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let interval: Duration

    init(interval: Duration) {
        self.interval = interval
    }

    /// Notes that a large allocation (a session's mailbox cache) was just freed; starts the trimming task on first use.
    public func requestTrim() {
        requested.store(true, ordering: .relaxed)
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Task.detached(priority: .background) { [self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if requested.exchange(false, ordering: .acquiringAndReleasing) { Self.trim() }
            }
        }
    }

    /// Returns free heap pages to the kernel now (a no-op where the C library has no `malloc_trim`).
    public static func trim() {
        #if canImport(Glibc)
        _ = glibcMallocTrim(0)
        #endif
    }
}
