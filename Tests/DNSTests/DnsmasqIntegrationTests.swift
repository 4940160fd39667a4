import Foundation
import MailCore
import MailTestSupport
import NIOCore
import NIOPosix
import Testing
@testable import DNS

/// The resolver against a real server: Debian's dnsmasq on 127.0.0.1 and a free port, started by the test.
/// CI installs it with `apt-get install -y dnsmasq`; without the binary these tests are skipped with that message.
@Suite("Resolver against dnsmasq", .serialized, .enabled(if: Dnsmasq.binary != nil, "dnsmasq not installed (apt-get install -y dnsmasq)"))
struct DnsmasqIntegrationTests {
    static let dkimKey = "v=DKIM1; k=rsa; p=" + String(repeating: "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A", count: 12)

    static let zone = [
        "mx-host=example.test,mx1.example.test,10",
        "mx-host=example.test,mx2.example.test,20",
        "mx-host=example.test,mx3.example.test,20",
        "txt-record=example.test,\"v=spf1 ip4:127.0.0.1 -all\"",
        "txt-record=sel._domainkey.example.test,\"\(dkimKey)\"",
        "host-record=mx1.example.test,127.0.0.10,::10",
        "host-record=mx2.example.test,127.0.0.11",
        "host-record=implicit.example.test,127.0.0.12",
        "ptr-record=10.0.0.127.in-addr.arpa,mx1.example.test",
        "dns-rr=_25._tcp.mx1.example.test,52,030101abcdef",
        "dns-rr=nullmx.example.test,15,000000",
        "local=/example.test/",
    ] + (0..<12).map { "txt-record=big.example.test,\"record \($0) \(String(repeating: "x", count: 180))\"" }

    @Test("MX, TXT, A, AAAA, PTR, TLSA, NXDOMAIN and NODATA")
    func lookups() async throws {
        try await Dnsmasq.with(zone: Self.zone) { resolver, _ in
            let mx = try await resolver.mx(DomainName("example.test")!)
            #expect(Set(mx) == [MXRecord(preference: 10, exchange: "mx1.example.test"),
                                MXRecord(preference: 20, exchange: "mx2.example.test"),
                                MXRecord(preference: 20, exchange: "mx3.example.test")])
            #expect(try await resolver.txt(DomainName("example.test")!) == ["v=spf1 ip4:127.0.0.1 -all"])
            #expect(try await resolver.txt(DomainName("sel._domainkey.example.test")!) == [Self.dkimKey])
            #expect(try await resolver.a(DomainName("mx1.example.test")!) == [IPv4Address(127, 0, 0, 10)])
            #expect(try await resolver.aaaa(DomainName("mx1.example.test")!) == [IPv6Address("::10")!])
            #expect(try await resolver.ptr(IPAddress("127.0.0.10")!) == ["mx1.example.test"])
            let tlsa = try await resolver.tlsa(DomainName("_25._tcp.mx1.example.test")!)
            #expect(tlsa.records == [TLSARecord(certificateUsage: 3, selector: 1, matchingType: 1,
                                                certificateAssociationData: [0xAB, 0xCD, 0xEF])])
            await #expect(throws: DNSError.nameNotFound) { try await resolver.a(DomainName("nope.example.test")!) }
            await #expect(throws: DNSError.noData) { try await resolver.aaaa(DomainName("mx2.example.test")!) }
        }
    }

    @Test("a truncated UDP answer is fetched again over TCP")
    func tcpFallback() async throws {
        try await Dnsmasq.with(zone: Self.zone) { resolver, _ in
            let records = try await resolver.txt(DomainName("big.example.test")!)
            #expect(records.count == 12)
            #expect(records.allSatisfy { $0.hasPrefix("record ") && $0.count > 180 })
        }
    }

    @Test("MX selection: ordered hosts, implicit MX, null MX")
    func mailExchangers() async throws {
        try await Dnsmasq.with(zone: Self.zone) { resolver, _ in
            guard case .hosts(let hosts) = try await MailExchangers.resolve(DomainName("example.test")!, using: resolver) else {
                Issue.record("expected hosts")
                return
            }
            #expect(hosts.map(\.host).first == "mx1.example.test" && hosts.map(\.preference) == [10, 20, 20])
            #expect(try await MailExchangers.resolve(DomainName("implicit.example.test")!, using: resolver)
                == .hosts([MailExchanger(host: "implicit.example.test", preference: 0, isImplicit: true)]))
            #expect(try await MailExchangers.resolve(DomainName("nullmx.example.test")!, using: resolver) == .nullMX)
        }
    }

    @Test("a silent server times out; the next server answers")
    func retriesAcrossServers() async throws {
        let silent = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let silentPort = silent.localAddress?.port ?? 0
        // 2 s: long enough for the answering server under a loaded test run, short enough to show the silent one is skipped.
        try await Dnsmasq.with(zone: Self.zone, before: ["127.0.0.1:\(silentPort)"], timeout: .seconds(2)) { (resolver: DNSResolver, _: Int) async throws in
            #expect(try await resolver.a(DomainName("mx2.example.test")!) == [IPv4Address(127, 0, 0, 11)])
        }
        var configuration = DNSResolverConfiguration()
        configuration.servers = ["127.0.0.1:\(silentPort)"]
        configuration.timeout = .milliseconds(200)
        let lonely = try DNSResolver(configuration: configuration)
        let start = ContinuousClock.now
        await #expect(throws: DNSError.timeout) { try await lonely.a(DomainName("mx2.example.test")!) }
        #expect(ContinuousClock.now - start < .seconds(15), "gives up (2 attempts of 200 ms, plus a loaded machine), never hangs")
    }
}
