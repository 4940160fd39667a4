import MailCore

/// The answer cache: positive answers for their TTL, negative ones (NXDOMAIN, NODATA) for the SOA-derived TTL
/// (RFC 2308 §5), each capped by the configuration; bounded in size. Temporary failures are never stored.
actor DNSCache {
    struct Key: Hashable, Sendable {
        var name: String
        var type: UInt16
    }

    struct Entry: Sendable {
        var value: Result<DNSAnswer, DNSError>
        var expires: ContinuousClock.Instant
    }

    let capacity: Int
    private(set) var entries: [Key: Entry] = [:]

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The cached value if it has not expired.
    func value(for key: Key, now: ContinuousClock.Instant) -> Result<DNSAnswer, DNSError>? {
        guard let entry = entries[key] else { return nil }
        guard entry.expires > now else {
            entries[key] = nil
            return nil
        }
        return entry.value
    }

    /// Stores `value` for `ttl`; a zero TTL is not stored (RFC 1035 §3.2.1: TTL 0 means "do not cache").
    func store(_ value: Result<DNSAnswer, DNSError>, for key: Key, ttl: Duration, now: ContinuousClock.Instant) {
        guard ttl > .zero, capacity > 0 else { return }
        if entries.count >= capacity && entries[key] == nil { makeRoom(now: now) }
        entries[key] = Entry(value: value, expires: now + ttl)
    }

    /// Drops expired entries; if that frees nothing, the eighth of the entries closest to expiry.
    private func makeRoom(now: ContinuousClock.Instant) {
        entries = entries.filter { $0.value.expires > now }
        guard entries.count >= capacity else { return }
        let victims = entries.sorted { $0.value.expires < $1.value.expires }.prefix(max(1, capacity / 8))
        for (key, _) in victims { entries[key] = nil }
    }

    var count: Int { entries.count }
}
