import DNS
import Foundation
import MailCore
import MailTestSupport
import Testing
@testable import MailAuth

/// Letterbox's SPF results equal pyspf's on the same cases, both asking the same dnsmasq on loopback.
/// Needs `apt-get install dnsmasq` and `pip install pyspf dnspython`.
@Suite("SPF interop with pyspf", .serialized,
       .enabled(if: Interop.hasPyspf && Dnsmasq.binary != nil, "pyspf/dnspython or dnsmasq missing (pip install pyspf dnspython; apt-get install dnsmasq)"))
struct SPFInteropTests {
    static let zone: [String] = [
        "local=/test/",
        #"txt-record=pass.test,"v=spf1 ip4:192.0.2.1 -all""#,
        #"txt-record=cidr.test,"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all""#,
        #"txt-record=neutral.test,"v=spf1 ?all""#,
        #"txt-record=default.test,"v=spf1 ip4:10.0.0.1""#,
        #"txt-record=none.test,"some other text""#,
        #"txt-record=two.test,"v=spf1 -all""#,
        #"txt-record=two.test,"v=spf1 +all""#,
        #"txt-record=syntax.test,"v=spf1 ip4:300.1.1.1 -all""#,
        #"txt-record=a.test,"v=spf1 a -all""#,
        "host-record=a.test,192.0.2.10,2001:db8::10",
        #"txt-record=acidr.test,"v=spf1 a:host.acidr.test/24 -all""#,
        "host-record=host.acidr.test,192.0.2.10",
        #"txt-record=mx.test,"v=spf1 mx -all""#,
        "mx-host=mx.test,mx1.mx.test,10",
        "host-record=mx1.mx.test,192.0.2.20",
        #"txt-record=include.test,"v=spf1 include:inc.test -all""#,
        #"txt-record=inc.test,"v=spf1 ip4:192.0.2.30 -all""#,
        #"txt-record=includenone.test,"v=spf1 include:nowhere.test -all""#,
        #"txt-record=redirect.test,"v=spf1 redirect=pass.test""#,
        #"txt-record=exists.test,"v=spf1 exists:%{i}.ok.exists.test -all""#,
        "host-record=192.0.2.40.ok.exists.test,127.0.0.2",
        #"txt-record=ptr.test,"v=spf1 ptr -all""#,
        "ptr-record=50.2.0.192.in-addr.arpa,host.ptr.test",
        // Without this, 192.0.2.51's PTR query is REFUSED: pyspf says temperror, we say "no match" (RFC 7208 §5.5: a
        // DNS error in the PTR lookup makes the mechanism not match). NXDOMAIN keeps the case about ptr itself.
        "local=/2.0.192.in-addr.arpa/",
        "host-record=host.ptr.test,192.0.2.50",
        #"txt-record=loop.test,"v=spf1 include:loop.test -all""#,
        #"txt-record=limit.test,"v=spf1 \#((1...11).map { "a:h\($0).limit.test" }.joined(separator: " ")) ip4:192.0.2.1 -all""#,
        #"txt-record=ten.test,"v=spf1 \#((1...10).map { "a:h\($0).limit.test" }.joined(separator: " ")) ip4:192.0.2.1 -all""#,
        #"txt-record=void.test,"v=spf1 a:v1.void.test a:v2.void.test a:v3.void.test ip4:192.0.2.1 -all""#,
        #"txt-record=twovoid.test,"v=spf1 a:v1.void.test a:v2.void.test ip4:192.0.2.1 -all""#,
        #"txt-record=macro.test,"v=spf1 include:%{l}.users.macro.test -all""#,
        #"txt-record=alice.users.macro.test,"v=spf1 ip4:192.0.2.60 -all""#,
        #"txt-record=macro2.test,"v=spf1 exists:%{ir}.%{l1r-}.lp.%{d2} -all""#,
        "host-record=60.2.0.192.bob.lp.macro2.test,127.0.0.2",
    ] + (1...11).map { "host-record=h\($0).limit.test,198.51.100.\($0)" }

    /// (sender, client IP); HELO is always helo.test.
    static let cases: [(String, String)] = [
        ("x@pass.test", "192.0.2.1"), ("x@pass.test", "192.0.2.2"), ("x@cidr.test", "192.0.2.77"),
        ("x@cidr.test", "2001:db8:ff::1"), ("x@cidr.test", "198.51.100.1"), ("x@neutral.test", "192.0.2.1"),
        ("x@default.test", "192.0.2.1"), ("x@none.test", "192.0.2.1"), ("x@nowhere.test", "192.0.2.1"),
        ("x@two.test", "192.0.2.1"), ("x@syntax.test", "192.0.2.1"), ("x@a.test", "192.0.2.10"), ("x@a.test", "2001:db8::10"),
        ("x@a.test", "192.0.2.11"), ("x@acidr.test", "192.0.2.200"), ("x@mx.test", "192.0.2.20"), ("x@mx.test", "192.0.2.21"),
        ("x@include.test", "192.0.2.30"), ("x@include.test", "192.0.2.31"), ("x@includenone.test", "192.0.2.1"),
        ("x@redirect.test", "192.0.2.1"), ("x@redirect.test", "192.0.2.9"), ("x@exists.test", "192.0.2.40"),
        ("x@exists.test", "192.0.2.41"), ("x@ptr.test", "192.0.2.50"), ("x@ptr.test", "192.0.2.51"), ("x@loop.test", "192.0.2.1"),
        ("x@limit.test", "192.0.2.1"), ("x@ten.test", "192.0.2.1"), ("x@void.test", "192.0.2.1"), ("x@twovoid.test", "192.0.2.1"),
        ("alice@macro.test", "192.0.2.60"), ("bob@macro.test", "192.0.2.60"), ("bob-x@macro2.test", "192.0.2.60"),
        ("bob@macro2.test", "192.0.2.60"), ("", "192.0.2.1"),
    ]

    static let pyspfScript = """
        import sys, dns.resolver, spf
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ['127.0.0.1']
        resolver.port = int(sys.argv[1])
        dns.resolver.default_resolver = resolver
        for line in sys.stdin.read().splitlines():
            sender, ip = line.split(' ')
            sender = '' if sender == '<>' else sender
            result, _ = spf.check2(i=ip, s=sender, h='helo.test')
            print(result)
        """

    @Test("same result as pyspf for every case")
    func sameAsPyspf() async throws {
        try await Dnsmasq.with(zone: Self.zone) { resolver, port in
            let input = Self.cases.map { "\($0.0.isEmpty ? "<>" : $0.0) \($0.1)" }.joined(separator: "\n")
            let python = try Interop.python(Self.pyspfScript, arguments: [String(port)], stdin: input.bytes)
            let theirs = python.output.split(separator: "\n").map(String.init)
            try #require(theirs.count == Self.cases.count, "pyspf: \(python.output)")
            let evaluator = SPFEvaluator(resolver: resolver)
            for (index, (sender, ip)) in Self.cases.enumerated() {
                let ours = await evaluator.check(ip: IPAddress(ip)!, mailFrom: sender, helo: "helo.test")
                #expect(ours.status.rawValue == theirs[index], "\(sender) from \(ip): ours \(ours.status) (\(ours.reason ?? "")), pyspf \(theirs[index])")
            }
        }
    }
}
