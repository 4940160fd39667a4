import MailCore
import Testing
@testable import DNS

@Suite("Interpreting responses, cache, configuration")
struct ResolverLogicTests {
    func record(_ name: String, _ type: DNSRecordType, _ data: DNSRecordData, ttl: UInt32 = 300) -> DNSResourceRecord {
        DNSResourceRecord(name: name, type: type, recordClass: 1, ttl: ttl, data: data)
    }

    func message(rcode: UInt16 = 0, answers: [DNSResourceRecord] = [], authorities: [DNSResourceRecord] = [])
        -> DNSMessage {
        DNSMessage(
            id: 1, isResponse: true, opcode: 0, isTruncated: false, recursionAvailable: true, isAuthenticData: false,
            rcode: rcode, questions: [DNSQuestion(name: "www.test", type: .a)], answers: answers, authorities: authorities,
            additionals: [])
    }

    @Test("a CNAME chain is followed inside the answer; unrelated records are ignored")
    func cnameChain() {
        let answers = [
            record("www.test", .cname, .cname("edge.test")),
            record("edge.test", .cname, .cname("host.cdn.test")),
            record("host.cdn.test", .a, .a(IPv4Address(192, 0, 2, 7)), ttl: 30),
            record("other.test", .a, .a(IPv4Address(192, 0, 2, 8))),
        ]
        guard case .answer(let answer, let ttl) = DNSOutcome(message(answers: answers), name: "WWW.test.", type: .a) else {
            Issue.record("expected an answer")
            return
        }
        #expect(answer.records.map(\.data) == [.a(IPv4Address(192, 0, 2, 7))])
        #expect(ttl == .seconds(30))
    }

    @Test("NODATA and NXDOMAIN are negative answers with the SOA TTL; SERVFAIL and REFUSED are temporary")
    func outcomes() {
        let soa = record("test", .soa, .soa(minimum: 60), ttl: 3600)
        if case .negative(let error, let ttl) = DNSOutcome(message(authorities: [soa]), name: "www.test", type: .a) {
            #expect(error == .noData && ttl == .seconds(60))
        } else { Issue.record("NODATA") }
        if case .negative(let error, let ttl) = DNSOutcome(message(rcode: 3), name: "www.test", type: .a) {
            #expect(error == .nameNotFound && ttl == .zero)
        } else { Issue.record("NXDOMAIN") }
        for (rcode, text) in [(UInt16(2), "SERVFAIL"), (5, "REFUSED"), (4, "RCODE 4")] {
            if case .temporary(let error) = DNSOutcome(message(rcode: rcode), name: "www.test", type: .a) {
                #expect(error == .serverFailure(text) && error.isTemporary)
            } else { Issue.record("rcode \(rcode)") }
        }
    }

    @Test("a response must carry our ID and repeat our question")
    func validation() throws {
        var packet = PacketBuilder(id: 0x4242, answers: 0)
        packet.question("www.test", .a)
        let question = DNSQuestion(name: "www.test", type: .a)
        #expect(try DNSResolver.validated(packet.bytes, id: 0x4242, question: question).id == 0x4242)
        #expect(throws: DNSError.self) { try DNSResolver.validated(packet.bytes, id: 0x4243, question: question) }
        #expect(throws: DNSError.self) {
            try DNSResolver.validated(packet.bytes, id: 0x4242, question: DNSQuestion(name: "www.test", type: .mx))
        }
        #expect(throws: DNSError.self) {
            try DNSResolver.validated(packet.bytes, id: 0x4242, question: DNSQuestion(name: "ww.test", type: .a))
        }
        var query = PacketBuilder(id: 0x4242, flags: 0x0100)
        query.question("www.test", .a)
        #expect(throws: DNSError.self) { try DNSResolver.validated(query.bytes, id: 0x4242, question: question) }
    }

    @Test("cache: honours TTL, ignores TTL 0, stays within its capacity")
    func cache() async {
        let cache = DNSCache(capacity: 8)
        let start = ContinuousClock.now
        let key = DNSCache.Key(name: "a.test", type: 1)
        let answer = DNSAnswer(records: [], isAuthenticated: false)
        await cache.store(.success(answer), for: key, ttl: .seconds(10), now: start)
        #expect(await cache.value(for: key, now: start + .seconds(9)) != nil)
        #expect(await cache.value(for: key, now: start + .seconds(10)) == nil)
        await cache.store(.failure(.nameNotFound), for: key, ttl: .zero, now: start)
        #expect(await cache.value(for: key, now: start) == nil)
        for index in 0..<100 {
            await cache.store(.failure(.noData), for: DNSCache.Key(name: "n\(index).test", type: 1),
                              ttl: .seconds(Int64(100 + index)), now: start)
        }
        #expect(await cache.count <= 8)
        #expect(await cache.value(for: DNSCache.Key(name: "n99.test", type: 1), now: start) == .failure(.noData))
    }

    @Test("server entries", arguments: [
        ("127.0.0.1:5353", "127.0.0.1", 5353), ("192.0.2.1", "192.0.2.1", 53), ("[::1]:5300", "::1", 5300),
        ("::1", "::1", 53), ("fe80::1%eth0", "fe80::1", 53), (" 10.0.0.1 ", "10.0.0.1", 53),
    ])
    func servers(_ entry: String, _ host: String, _ port: Int) {
        let address = ServerAddress.parse(entry)
        #expect(address?.ipAddress == host && address?.port == port, "\(entry) → \(String(describing: address))")
    }

    @Test("bad server entries", arguments: ["dns.example:53", "127.0.0.1:0", "127.0.0.1:99999", "[::1", "[::1]x", ""])
    func badServers(_ entry: String) {
        #expect(ServerAddress.parse(entry) == nil)
        var configuration = DNSResolverConfiguration()
        configuration.servers = [entry]
        #expect(throws: DNSConfigurationError.invalidServer(entry)) { try DNSResolver(configuration: configuration) }
    }

    @Test("resolv.conf nameserver lines")
    func resolvConf() throws {
        let text = "# comment\nsearch example.test\nnameserver 10.0.0.1\nnameserver\t::1\noptions ndots:1\nnameserver\n"
        #expect(ResolvConf.parse(text) == ["10.0.0.1", "::1"])
        var configuration = DNSResolverConfiguration()
        configuration.resolvConfPath = "/nonexistent/resolv.conf"
        #expect(try DNSResolver(configuration: configuration).servers.map(\.port) == [53])
    }

    @Test("IP address text forms and reverse names", arguments: [
        ("192.0.2.1", "192.0.2.1", "1.2.0.192.in-addr.arpa"),
        ("2001:DB8::1", "2001:db8::1",
         "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"),
        ("::", "::", String(repeating: "0.", count: 32) + "ip6.arpa"),
        ("::ffff:192.0.2.1", "::ffff:c000:201", nil),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3", nil),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", nil),
    ])
    func addresses(_ text: String, _ canonical: String, _ reverse: String?) {
        let address = IPAddress(text)
        #expect(address?.description == canonical)
        if let reverse { #expect(address?.reverseLookupName == reverse) }
    }

    @Test("not IP addresses", arguments: [
        "256.0.0.1", "1.2.3", "01.2.3.4", "1.2.3.4.5", "1::2::3", "12345::", ":1::", "1:2:3:4:5:6:7:8:9", "::g", "", "1:2:3:4:5:6:7::8",
    ])
    func notAddresses(_ text: String) {
        #expect(IPAddress(text) == nil)
    }
}
