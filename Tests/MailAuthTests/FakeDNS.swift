import MailCore

/// DNS described as data: each table maps a lower-case name (or, for PTR, an address's text) to its answers. A name in
/// no table is NXDOMAIN; a name present in another table is NODATA; names in `failing` give SERVFAIL.
struct FakeDNS: DNSResolving {
    var txt: [String: [String]] = [:]
    var a: [String: [String]] = [:]
    var aaaa: [String: [String]] = [:]
    var mx: [String: [(UInt16, String)]] = [:]
    var ptr: [String: [String]] = [:]
    var failing: Set<String> = []

    private func exists(_ name: String) -> Bool {
        txt[name] != nil || a[name] != nil || aaaa[name] != nil || mx[name] != nil
    }

    private func answer<T>(_ table: [String: [T]], _ name: String) throws(DNSError) -> [T] {
        if failing.contains(name) { throw .serverFailure("SERVFAIL (fake)") }
        if let records = table[name], !records.isEmpty { return records }
        throw exists(name) ? .noData : .nameNotFound
    }

    func mx(_ domain: DomainName) async throws(DNSError) -> [MXRecord] {
        try answer(mx, domain.name).map { MXRecord(preference: $0.0, exchange: $0.1) }
    }
    func txt(_ name: DomainName) async throws(DNSError) -> [String] { try answer(txt, name.name) }
    func a(_ name: DomainName) async throws(DNSError) -> [IPv4Address] { try answer(a, name.name).compactMap { IPv4Address($0) } }
    func aaaa(_ name: DomainName) async throws(DNSError) -> [IPv6Address] {
        try answer(aaaa, name.name).compactMap { IPv6Address($0) }
    }
    func ptr(_ address: IPAddress) async throws(DNSError) -> [String] {
        if failing.contains(address.description) { throw .serverFailure("SERVFAIL (fake)") }
        guard let names = ptr[address.description] else { throw .nameNotFound }
        return names
    }
    func tlsa(_ name: DomainName) async throws(DNSError) -> TLSAAnswer { throw .nameNotFound }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}
