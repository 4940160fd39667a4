/// What several fuzz targets share: DNS described as data, and running async code to completion from the synchronous
/// libFuzzer entry point.
import Dispatch
import MailCore

/// DNS answers from tables (lower-case names). A name in no table is NXDOMAIN, a name in another table NODATA, a name
/// in `failing` SERVFAIL. Answers never suspend, so an evaluation costs no thread hop beyond `runBlocking`'s one.
public struct TableResolver: DNSResolving {
    public var txt: [String: [String]] = [:]
    public var a: [String: [IPv4Address]] = [:]
    public var aaaa: [String: [IPv6Address]] = [:]
    public var mx: [String: [MXRecord]] = [:]
    public var ptr: [String: [String]] = [:]
    public var failing: Set<String> = []

    public init() {}

    private func exists(_ name: String) -> Bool { txt[name] != nil || a[name] != nil || aaaa[name] != nil || mx[name] != nil }

    private func answer<T>(_ table: [String: [T]], _ name: String) throws(DNSError) -> [T] {
        if failing.contains(name) { throw .serverFailure("SERVFAIL (fuzz)") }
        if let records = table[name], !records.isEmpty { return records }
        throw exists(name) ? .noData : .nameNotFound
    }

    public func mx(_ domain: DomainName) async throws(DNSError) -> [MXRecord] { try answer(mx, domain.name) }
    public func txt(_ name: DomainName) async throws(DNSError) -> [String] { try answer(txt, name.name) }
    public func a(_ name: DomainName) async throws(DNSError) -> [IPv4Address] { try answer(a, name.name) }
    public func aaaa(_ name: DomainName) async throws(DNSError) -> [IPv6Address] { try answer(aaaa, name.name) }
    public func ptr(_ address: IPAddress) async throws(DNSError) -> [String] { try answer(ptr, address.description) }
    public func tlsa(_ name: DomainName) async throws(DNSError) -> TLSAAnswer { throw .nameNotFound }
}

private final class ResultBox<T>: @unchecked Sendable { var value: T? }

/// Runs `body` to completion from the synchronous fuzz entry point. The task starts on this thread (`Task.immediate`)
/// and, since `TableResolver` never suspends, normally ends here too: no thread hop per input.
public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.immediate {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// The input split at 0xFF bytes (never part of UTF-8 text), each part decoded as UTF-8 (invalid sequences replaced).
public func textParts(_ bytes: ArraySlice<UInt8>, limit: Int = 8) -> [String] {
    bytes.split(separator: 0xFF, maxSplits: limit - 1, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
}
