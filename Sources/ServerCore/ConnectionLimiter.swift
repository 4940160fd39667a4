/// Counts open connections per listener and per remote address and decides admissions.
///
/// A plain state machine: the listener keeps it behind a lock, asks `admit` for every accepted socket and calls `release`
/// exactly once for every admitted one.
struct ConnectionLimiter: Sendable {
    enum Admission: Equatable {
        case admitted
        case refused(RefusalReason)
    }

    let maxTotal: Int
    let maxPerAddress: Int
    private(set) var total = 0
    private var perAddress: [String: Int] = [:]
    private(set) var isClosed = false

    init(maxTotal: Int, maxPerAddress: Int) {
        self.maxTotal = maxTotal
        self.maxPerAddress = maxPerAddress
    }

    /// Open connections from `address` (0 when none).
    func count(from address: String) -> Int { perAddress[address, default: 0] }

    /// Admits a connection from `address` (nil when the peer address is unknown: only the total limit applies).
    mutating func admit(address: String?) -> Admission {
        if isClosed { return .refused(.shuttingDown) }
        if total >= maxTotal { return .refused(.tooManyConnections) }
        if let address {
            let current = perAddress[address, default: 0]
            if current >= maxPerAddress { return .refused(.tooManyConnectionsFromAddress) }
            perAddress[address] = current + 1
        }
        total += 1
        return .admitted
    }

    /// Releases one admitted connection from `address`.
    mutating func release(address: String?) {
        precondition(total > 0, "release without admit")
        total -= 1
        guard let address, let current = perAddress[address] else { return }
        if current <= 1 { perAddress[address] = nil } else { perAddress[address] = current - 1 }
    }

    /// From now on every admission is refused with `.shuttingDown`.
    mutating func close() { isClosed = true }
}
