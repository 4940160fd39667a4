import MailCore
import Testing
@testable import MailAuth

@Suite("SPF macros (RFC 7208 §7)")
struct SPFMacroTests {
    static func context(_ ip: String) -> SPFMacroString.Context {
        .init(sender: "strong-bad@email.example.com", domain: "email.example.com", ip: IPAddress(ip)!, helo: "mx.example.org",
              validatedName: nil, receivingHost: "mx.example.net", now: 1_700_000_000)
    }

    /// §7.4, sender strong-bad@email.example.com, client 192.0.2.3 (and 2001:db8::cb01 for the last).
    static let examples: [(String, String, String)] = [
        ("%{s}", "192.0.2.3", "strong-bad@email.example.com"),
        ("%{o}", "192.0.2.3", "email.example.com"),
        ("%{d}", "192.0.2.3", "email.example.com"),
        ("%{d4}", "192.0.2.3", "email.example.com"),
        ("%{d3}", "192.0.2.3", "email.example.com"),
        ("%{d2}", "192.0.2.3", "example.com"),
        ("%{d1}", "192.0.2.3", "com"),
        ("%{dr}", "192.0.2.3", "com.example.email"),
        ("%{d2r}", "192.0.2.3", "example.email"),
        ("%{l}", "192.0.2.3", "strong-bad"),
        ("%{l-}", "192.0.2.3", "strong.bad"),
        ("%{lr}", "192.0.2.3", "strong-bad"),
        ("%{lr-}", "192.0.2.3", "bad.strong"),
        ("%{l1r-}", "192.0.2.3", "strong"),
        ("%{ir}.%{v}._spf.%{d2}", "192.0.2.3", "3.2.0.192.in-addr._spf.example.com"),
        ("%{lr-}.lp._spf.%{d2}", "192.0.2.3", "bad.strong.lp._spf.example.com"),
        ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "192.0.2.3", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
        ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "192.0.2.3", "3.2.0.192.in-addr.strong.lp._spf.example.com"),
        ("%{d2}.trusted-domains.example.net", "192.0.2.3", "example.com.trusted-domains.example.net"),
        ("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01",
         "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"),
        // Escapes, URL-escaping upper-case letters, explanation-only letters.
        ("%%%_%-", "192.0.2.3", "% %20"),
        ("%{S}", "192.0.2.3", "strong-bad%40email.example.com"),
        ("%{c} %{r} %{t} %{h}", "2001:db8::cb01", "2001:db8::cb01 mx.example.net 1700000000 mx.example.org"),
    ]

    @Test("expansion", arguments: examples.indices)
    func expansion(_ index: Int) throws {
        let (macro, ip, expected) = Self.examples[index]
        #expect(try SPFMacroString(parsing: macro, allowSpaces: true).expand(with: Self.context(ip)) == expected)
    }

    @Test("syntax errors", arguments: ["%", "%{", "%{x}", "%{d0}", "%{d2q}", "%a", "a b"])
    func syntaxError(_ text: String) {
        #expect(throws: SPFMacroString.SyntaxError.self) { try SPFMacroString(parsing: text) }
    }
}

/// The DNS the SPF case table runs against.
let spfZone: FakeDNS = {
    var dns = FakeDNS()
    dns.txt = [
        "pass.test": ["v=spf1 ip4:192.0.2.1 -all"],
        "cidr.test": ["v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 ~all"],
        "neutral.test": ["v=spf1 ?all"],
        "default.test": ["v=spf1 ip4:10.0.0.1"],
        "none.test": ["some other text"],
        "two.test": ["v=spf1 -all", "v=spf1 +all"],
        "syntax.test": ["v=spf1 ip4:300.1.1.1 -all"],
        "badmech.test": ["v=spf1 foo:bar -all"],
        "unknownmod.test": ["v=spf1 foo=bar ip4:192.0.2.1 -all"],
        "a.test": ["v=spf1 a -all"],
        "acidr.test": ["v=spf1 a:host.acidr.test/24 -all"],
        "mx.test": ["v=spf1 mx -all"],
        "include.test": ["v=spf1 include:inc.test -all"],
        "inc.test": ["v=spf1 ip4:192.0.2.30 -all"],
        "includenone.test": ["v=spf1 include:nowhere.test -all"],
        "redirect.test": ["v=spf1 redirect=pass.test"],
        "redirectnone.test": ["v=spf1 redirect=nowhere.test"],
        "exists.test": ["v=spf1 exists:%{i}.ok.exists.test -all"],
        "ptr.test": ["v=spf1 ptr -all"],
        "temp.test": ["v=spf1 -all"],
        "tempinclude.test": ["v=spf1 include:temp.test -all"],
        "loop.test": ["v=spf1 include:loop.test -all"],
        "limit.test": ["v=spf1 " + (1...11).map { "a:h\($0).limit.test" }.joined(separator: " ") + " ip4:192.0.2.1 -all"],
        "ten.test": ["v=spf1 " + (1...10).map { "a:h\($0).limit.test" }.joined(separator: " ") + " ip4:192.0.2.1 -all"],
        "void.test": ["v=spf1 a:v1.void.test a:v2.void.test a:v3.void.test ip4:192.0.2.1 -all"],
        "twovoid.test": ["v=spf1 a:v1.void.test a:v2.void.test ip4:192.0.2.1 -all"],
        "mxlimit.test": ["v=spf1 mx -all"],
        "exp.test": ["v=spf1 -all exp=explain.exp.test"],
        "explain.exp.test": ["%{i} is not one of %{d}'s senders"],
        "macro.test": ["v=spf1 include:%{l}.users.macro.test -all"],
        "alice.users.macro.test": ["v=spf1 ip4:192.0.2.60 -all"],
        "aaaa.test": ["v=spf1 a -all"],
        "dualcidr.test": ["v=spf1 a//64 -all"],
        "upper.test": ["V=SPF1 IP4:192.0.2.1 -ALL"],
        "twoexp.test": ["v=spf1 -all exp=a.test exp=b.test"],
    ]
    dns.a = [
        "a.test": ["192.0.2.10"],
        "host.acidr.test": ["192.0.2.10"],
        "mx1.mx.test": ["192.0.2.20"],
        "192.0.2.40.ok.exists.test": ["127.0.0.2"],
        "host.ptr.test": ["192.0.2.50"],
        "other.test": ["192.0.2.99"],
    ]
    for index in 1...11 { dns.a["h\(index).limit.test"] = ["198.51.100.\(index)"] }
    dns.aaaa = ["aaaa.test": ["2001:db8::5"], "dualcidr.test": ["2001:db8:1:2::5"]]
    dns.mx = [
        "mx.test": [(10, "mx1.mx.test")],
        "mxlimit.test": (1...11).map { (UInt16($0), "m\($0).mxlimit.test") },
    ]
    dns.ptr = ["192.0.2.50": ["host.ptr.test"], "192.0.2.51": ["host.ptr.test"], "192.0.2.99": ["other.test"]]
    dns.failing = ["temp.test"]
    return dns
}()

@Suite("SPF evaluation (RFC 7208)")
struct SPFEvaluatorTests {
    /// (domain or sender, client IP, expected status, expected deciding term)
    static let cases: [(String, String, SPFResult.Status, String?)] = [
        ("pass.test", "192.0.2.1", .pass, "ip4:192.0.2.1"),
        ("pass.test", "192.0.2.2", .fail, "-all"),
        ("pass.test", "::ffff:192.0.2.1", .pass, "ip4:192.0.2.1"),
        ("cidr.test", "192.0.2.77", .pass, "ip4:192.0.2.0/24"),
        ("cidr.test", "2001:db8:ff::1", .pass, "ip6:2001:db8::/32"),
        ("cidr.test", "198.51.100.1", .softfail, "~all"),
        ("neutral.test", "192.0.2.1", .neutral, "?all"),
        ("default.test", "192.0.2.1", .neutral, nil),
        ("none.test", "192.0.2.1", .none, nil),
        ("nowhere.test", "192.0.2.1", .none, nil),
        ("two.test", "192.0.2.1", .permerror, nil),
        ("syntax.test", "192.0.2.1", .permerror, nil),
        ("badmech.test", "192.0.2.1", .permerror, nil),
        ("unknownmod.test", "192.0.2.1", .pass, "ip4:192.0.2.1"),
        ("upper.test", "192.0.2.1", .pass, "IP4:192.0.2.1"),
        ("a.test", "192.0.2.10", .pass, "a"),
        ("a.test", "192.0.2.11", .fail, "-all"),
        ("acidr.test", "192.0.2.200", .pass, "a:host.acidr.test/24"),
        ("aaaa.test", "2001:db8::5", .pass, "a"),
        ("dualcidr.test", "2001:db8:1:2::ffff", .pass, "a//64"),
        ("mx.test", "192.0.2.20", .pass, "mx"),
        ("include.test", "192.0.2.30", .pass, "include:inc.test"),
        ("include.test", "192.0.2.31", .fail, "-all"),
        ("includenone.test", "192.0.2.1", .permerror, nil),
        ("redirect.test", "192.0.2.1", .pass, "ip4:192.0.2.1"),
        ("redirect.test", "192.0.2.9", .fail, "-all"),
        ("redirectnone.test", "192.0.2.1", .permerror, nil),
        ("exists.test", "192.0.2.40", .pass, "exists:%{i}.ok.exists.test"),
        ("exists.test", "192.0.2.41", .fail, "-all"),
        ("ptr.test", "192.0.2.50", .pass, "ptr"),
        ("ptr.test", "192.0.2.51", .fail, "-all"),
        ("ptr.test", "192.0.2.99", .fail, "-all"),
        ("temp.test", "192.0.2.1", .temperror, nil),
        ("tempinclude.test", "192.0.2.1", .temperror, nil),
        ("loop.test", "192.0.2.1", .permerror, nil),
        ("limit.test", "192.0.2.1", .permerror, nil),
        ("ten.test", "192.0.2.1", .pass, "ip4:192.0.2.1"),
        ("void.test", "192.0.2.1", .permerror, nil),
        ("twovoid.test", "192.0.2.1", .pass, "ip4:192.0.2.1"),
        ("mxlimit.test", "192.0.2.1", .permerror, nil),
        ("twoexp.test", "192.0.2.1", .permerror, nil),
        ("alice@macro.test", "192.0.2.60", .pass, "include:%{l}.users.macro.test"),
        ("bob@macro.test", "192.0.2.60", .permerror, nil),
        ("bad..domain", "192.0.2.1", .none, nil),
    ]

    @Test("case table", arguments: cases.indices)
    func evaluate(_ index: Int) async {
        let (sender, ip, status, mechanism) = Self.cases[index]
        let result = await SPFEvaluator(resolver: spfZone).check(ip: IPAddress(ip)!, mailFrom: sender, helo: "helo.test")
        #expect(result.status == status, "\(sender) from \(ip): \(result.reason ?? "")")
        #expect(result.mechanism == mechanism)
        #expect(result.identity == .mailFrom)
    }

    @Test("the lookup limit reports its reason; void lookups too")
    func reasons() async {
        let evaluator = SPFEvaluator(resolver: spfZone)
        #expect(await evaluator.check(ip: IPAddress("192.0.2.1")!, mailFrom: "x@limit.test", helo: "h").reason
            == "more than 10 DNS-querying terms")
        #expect(await evaluator.check(ip: IPAddress("192.0.2.1")!, mailFrom: "x@void.test", helo: "h").reason
            == "more than 2 void lookups")
    }

    @Test("exp= gives the explanation on fail, with macros expanded")
    func explanation() async {
        let result = await SPFEvaluator(resolver: spfZone).check(ip: IPAddress("192.0.2.1")!, mailFrom: "x@exp.test", helo: "h")
        #expect(result.status == .fail && result.explanation == "192.0.2.1 is not one of exp.test's senders")
    }

    /// Found by Fuzz/FuzzSPF: an "@" joined by a combining mark to what follows is found by `contains("@")` but is not a
    /// Character "@", and the domain was then taken with a force-unwrapped `lastIndex(of: "@")` — a crash on MAIL FROM.
    @Test("a sender whose only @ carries a combining mark is a domain, not a crash")
    func atWithCombiningMark() async {
        let evaluator = SPFEvaluator(resolver: spfZone)
        let result = await evaluator.check(ip: IPAddress("192.0.2.1")!, mailFrom: "user@\u{301}pass.test", helo: "h")
        #expect(result.domain == "user@\u{301}pass.test")
        #expect(result.sender == "postmaster@user@\u{301}pass.test")
        let plain = await evaluator.check(ip: IPAddress("192.0.2.1")!, mailFrom: "user@pass.test", helo: "h")
        #expect(plain.domain == "pass.test" && plain.sender == "user@pass.test")
    }

    @Test("the null sender checks postmaster@helo; the HELO identity on its own")
    func nullSender() async {
        let evaluator = SPFEvaluator(resolver: spfZone)
        let result = await evaluator.check(ip: IPAddress("192.0.2.1")!, mailFrom: "<>", helo: "pass.test")
        #expect(result.status == .pass && result.sender == "postmaster@pass.test" && result.domain == "pass.test")
        #expect(result.identity == .mailFrom)
        let helo = await evaluator.checkHELO(ip: IPAddress("192.0.2.2")!, helo: "pass.test")
        #expect(helo.status == .fail && helo.identity == .helo)
    }

    @Test("record parsing: terms, qualifiers, cidr forms")
    func parsing() throws {
        let record = try SPFRecord(parsing: "v=spf1 +a/24//64 ~mx:%{d}.example -ip6:::1/128 ?exists:x.example redirect=r.example")
        #expect(record.directives.map(\.qualifier) == [.pass, .softfail, .fail, .neutral])
        guard case .a(nil, 24, 64) = record.directives[0].mechanism else { Issue.record("a/24//64"); return }
        #expect(record.redirect != nil && record.explanation == nil)
        for bad in ["v=spf1 ip4:1.2.3.4/33", "v=spf1 a/024", "v=spf1 ip6:::1/129", "v=spf1 include", "v=spf1 all:x",
                    "v=spf1 redirect=a.example redirect=b.example", "v=spf1 include:localhost", "v=spf10 -all"] {
            #expect(throws: SPFRecord.SyntaxError.self, "\(bad)") { try SPFRecord(parsing: bad) }
        }
    }
}
