/// Where to deliver mail for a domain: RFC 5321 §5.1 with RFC 7505 null MX.
///
/// - MX records are tried in order of preference; among equal preferences the order is random ("the sender-SMTP MUST
///   randomize them to spread the load", RFC 5321 §5.1).
/// - No MX records (NODATA) → the implicit MX: the domain itself, preference 0, if it has an A or AAAA record.
/// - A null MX (one MX `0 .`) → `.nullMX`: the domain accepts no mail; fail permanently with 556 5.1.10 (RFC 7505 §4.1).
///   Null-MX records mixed with real ones break RFC 7505 §3; we ignore the null ones then and use the rest.
/// - NXDOMAIN and temporary failures are thrown as `DNSError` (permanent vs. `isTemporary`).
import MailCore

/// One host to try, in order.
public struct MailExchanger: Sendable, Hashable {
    /// Host name, lower-cased, without the trailing dot.
    public var host: String
    public var preference: UInt16
    /// True when there was no MX record and the domain itself is used (RFC 5321 §5.1 implicit MX).
    public var isImplicit: Bool

    public init(host: String, preference: UInt16, isImplicit: Bool = false) {
        self.host = host
        self.preference = preference
        self.isImplicit = isImplicit
    }
}

/// The outcome of MX resolution for a domain.
public enum MailExchangers: Sendable, Hashable {
    /// Hosts to try in this order (never empty).
    case hosts([MailExchanger])
    /// RFC 7505 null MX: the domain does not accept mail. A permanent failure.
    case nullMX

    /// Resolves `domain` through `resolver`. `generator` shuffles equal preferences (inject a seeded one in tests).
    public static func resolve(
        _ domain: DomainName, using resolver: some DNSResolving, generator: inout some RandomNumberGenerator
    ) async throws(DNSError) -> MailExchangers {
        let records: [MXRecord]
        do throws(DNSError) {
            records = try await resolver.mx(domain)
        } catch .noData {
            return try await implicitMX(domain, using: resolver)
        }
        guard !records.isEmpty else { return try await implicitMX(domain, using: resolver) }
        return order(records, generator: &generator)
    }

    public static func resolve(_ domain: DomainName, using resolver: some DNSResolving) async throws(DNSError)
        -> MailExchangers {
        var generator = SystemRandomNumberGenerator()
        return try await resolve(domain, using: resolver, generator: &generator)
    }

    /// Sorts by preference, shuffling each group of equal preference; handles null MX.
    static func order(_ records: [MXRecord], generator: inout some RandomNumberGenerator) -> MailExchangers {
        let usable = records.filter { !$0.isNullMX }
        guard !usable.isEmpty else { return .nullMX }
        var ordered: [MailExchanger] = []
        let groups = Dictionary(grouping: usable, by: \.preference)
        for preference in groups.keys.sorted() {
            var group = groups[preference] ?? []
            group.shuffle(using: &generator)
            ordered += group.map { MailExchanger(host: $0.exchange, preference: preference) }
        }
        return .hosts(ordered)
    }

    /// RFC 5321 §5.1: "If an empty list of MXs is returned, the address is treated as if it was associated with an
    /// implicit MX RR, with a preference of 0, pointing to that host." We check that the host has an address, so that a
    /// name without any mail route fails now (NODATA) instead of at connect time.
    static func implicitMX(_ domain: DomainName, using resolver: some DNSResolving) async throws(DNSError) -> MailExchangers {
        let implicit = MailExchangers.hosts([MailExchanger(host: domain.name, preference: 0, isImplicit: true)])
        var ipv4Error: DNSError?
        do throws(DNSError) {
            if try await !resolver.a(domain).isEmpty { return implicit }
        } catch {
            ipv4Error = error
        }
        do throws(DNSError) {
            if try await !resolver.aaaa(domain).isEmpty { return implicit }
        } catch {
            // A temporary failure of either family makes the whole answer temporary.
            if error.isTemporary || ipv4Error == nil { throw error }
        }
        throw ipv4Error ?? .noData
    }
}
