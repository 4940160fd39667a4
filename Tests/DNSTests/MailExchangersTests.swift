import MailCore
import Testing
@testable import DNS

/// DNS described as data: each name maps to the answer (or error) per record type.
struct FakeResolver: DNSResolving {
    var mxAnswers: [String: Result<[MXRecord], DNSError>] = [:]
    var aAnswers: [String: Result<[IPv4Address], DNSError>] = [:]
    var aaaaAnswers: [String: Result<[IPv6Address], DNSError>] = [:]

    func mx(_ domain: DomainName) async throws(DNSError) -> [MXRecord] { try (mxAnswers[domain.name] ?? .failure(.nameNotFound)).get() }
    func a(_ name: DomainName) async throws(DNSError) -> [IPv4Address] { try (aAnswers[name.name] ?? .failure(.noData)).get() }
    func aaaa(_ name: DomainName) async throws(DNSError) -> [IPv6Address] { try (aaaaAnswers[name.name] ?? .failure(.noData)).get() }
    func txt(_ name: DomainName) async throws(DNSError) -> [String] { throw .noData }
    func ptr(_ address: IPAddress) async throws(DNSError) -> [String] { throw .noData }
    func tlsa(_ name: DomainName) async throws(DNSError) -> TLSAAnswer { throw .noData }
}

/// A deterministic generator (SplitMix64) so the shuffle is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("MX selection (RFC 5321 §5.1, RFC 7505)")
struct MailExchangersTests {
    let domain = DomainName("example.test")!

    func resolve(_ resolver: FakeResolver, seed: UInt64 = 1) async throws(DNSError) -> MailExchangers {
        var generator = SeededGenerator(state: seed)
        return try await MailExchangers.resolve(domain, using: resolver, generator: &generator)
    }

    @Test("preference order, with every order of equal preferences seen across seeds")
    func ordering() async throws {
        var resolver = FakeResolver()
        resolver.mxAnswers["example.test"] = .success([
            MXRecord(preference: 20, exchange: "c.test"), MXRecord(preference: 10, exchange: "a.test"),
            MXRecord(preference: 10, exchange: "b.test"), MXRecord(preference: 30, exchange: "d.test"),
        ])
        var firsts: Set<String> = []
        for seed in UInt64(0)..<32 {
            guard case .hosts(let hosts) = try await resolve(resolver, seed: seed) else {
                Issue.record("expected hosts")
                return
            }
            #expect(hosts.map(\.preference) == [10, 10, 20, 30])
            #expect(Set(hosts.prefix(2).map(\.host)) == ["a.test", "b.test"])
            #expect(hosts.suffix(2).map(\.host) == ["c.test", "d.test"])
            firsts.insert(hosts[0].host)
        }
        #expect(firsts == ["a.test", "b.test"])
    }

    @Test("null MX is a distinct permanent result")
    func nullMX() async throws {
        var resolver = FakeResolver()
        resolver.mxAnswers["example.test"] = .success([MXRecord(preference: 0, exchange: "")])
        #expect(try await resolve(resolver) == .nullMX)
    }

    @Test("a null MX mixed with real ones is ignored")
    func mixedNullMX() async throws {
        var resolver = FakeResolver()
        resolver.mxAnswers["example.test"] = .success([
            MXRecord(preference: 0, exchange: ""), MXRecord(preference: 10, exchange: "mx.test"),
        ])
        #expect(try await resolve(resolver) == .hosts([MailExchanger(host: "mx.test", preference: 10)]))
    }

    @Test("no MX: the domain itself, if it has an address")
    func implicitMX() async throws {
        var resolver = FakeResolver()
        resolver.mxAnswers["example.test"] = .failure(.noData)
        resolver.aaaaAnswers["example.test"] = .success([IPv6Address("2001:db8::25")!])
        #expect(try await resolve(resolver)
            == .hosts([MailExchanger(host: "example.test", preference: 0, isImplicit: true)]))
        resolver.mxAnswers["example.test"] = .success([])
        resolver.aAnswers["example.test"] = .success([IPv4Address(192, 0, 2, 25)])
        #expect(try await resolve(resolver)
            == .hosts([MailExchanger(host: "example.test", preference: 0, isImplicit: true)]))
    }

    @Test("errors", arguments: [
        (Result<[MXRecord], DNSError>.failure(.nameNotFound), Result<[IPv4Address], DNSError>.failure(.noData),
         DNSError.nameNotFound),
        (.failure(.timeout), .failure(.noData), .timeout),
        (.failure(.noData), .failure(.noData), .noData),
        (.failure(.noData), .failure(.serverFailure("SERVFAIL")), .serverFailure("SERVFAIL")),
    ])
    func errors(_ mx: Result<[MXRecord], DNSError>, _ a: Result<[IPv4Address], DNSError>, _ expected: DNSError) async {
        var resolver = FakeResolver()
        resolver.mxAnswers["example.test"] = mx
        resolver.aAnswers["example.test"] = a
        await #expect(throws: expected) { try await resolve(resolver) }
    }

    @Test("DNSError classes")
    func errorClasses() {
        #expect(DNSError.timeout.isTemporary && DNSError.serverFailure("x").isTemporary)
        #expect(DNSError.malformedResponse("x").isTemporary)
        #expect(!DNSError.nameNotFound.isTemporary && DNSError.nameNotFound.isNoRecords)
        #expect(!DNSError.noData.isTemporary && DNSError.noData.isNoRecords)
        #expect(!DNSError.invalidName("x").isTemporary && !DNSError.invalidName("x").isNoRecords)
    }
}
