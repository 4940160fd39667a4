import Foundation
import Testing
@testable import MailAuth

/// A small list in the PSL format, with the rule kinds the algorithm distinguishes.
let pslText = """
    // ===BEGIN ICANN DOMAINS===
    com
    org
    uk
    co.uk
    jp
    *.kawasaki.jp
    !city.kawasaki.jp
    *.ck
    !www.ck
    公司.cn
    cn
    // ===BEGIN PRIVATE DOMAINS===
    github.io
    """

@Suite("Public Suffix List")
struct PublicSuffixListTests {
    static let cases: [(String, String, String)] = [
        ("example.com", "com", "example.com"),
        ("a.b.example.com", "com", "example.com"),
        ("Example.COM.", "com", "example.com"),
        ("example.co.uk", "co.uk", "example.co.uk"),
        ("www.example.co.uk", "co.uk", "example.co.uk"),
        ("co.uk", "co.uk", "co.uk"),
        ("a.b.kawasaki.jp", "b.kawasaki.jp", "a.b.kawasaki.jp"),
        ("x.city.kawasaki.jp", "kawasaki.jp", "city.kawasaki.jp"),
        ("www.ck", "ck", "www.ck"),
        ("a.www.ck", "ck", "www.ck"),
        ("x.y.ck", "y.ck", "x.y.ck"),
        ("user.github.io", "github.io", "user.github.io"),
        ("mail.example.unlisted", "unlisted", "example.unlisted"),
        ("shop.xn--55qx5d.cn", "xn--55qx5d.cn", "shop.xn--55qx5d.cn"),
    ]

    @Test("public suffix and organizational domain", arguments: cases.indices)
    func organizational(_ index: Int) {
        let (domain, suffix, organizational) = Self.cases[index]
        let list = PublicSuffixList(parsing: pslText)
        #expect(list.publicSuffix(of: domain) == suffix)
        #expect(list.organizationalDomain(of: domain) == organizational)
    }

    @Test("Debian's list loads and knows co.uk, when installed")
    func debianList() throws {
        let path = "/usr/share/publicsuffix/public_suffix_list.dat"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        let list = PublicSuffixList(parsing: text)
        #expect(list.organizationalDomain(of: "mail.example.co.uk") == "example.co.uk")
        #expect(list.organizationalDomain(of: "a.b.example.com") == "example.com")
    }
}

@Suite("DMARC (RFC 7489)")
struct DMARCTests {
    static let dns = FakeDNS(txt: [
        "_dmarc.reject.com": ["v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=s"],
        "_dmarc.relaxed.com": ["v=DMARC1; p=quarantine"],
        "_dmarc.half.com": ["v=DMARC1; p=reject; pct=50"],
        "_dmarc.none.com": ["v=DMARC1; p=none; rua=mailto:d@none.com"],
        "_dmarc.nop.com": ["v=DMARC1; rua=mailto:d@noP.com"],
        "_dmarc.broken.com": ["v=DMARC1; p=reject; p=none"],
        "_dmarc.two.com": ["v=DMARC1; p=reject", "v=DMARC1; p=none"],
        "_dmarc.example.co.uk": ["v=DMARC1; p=reject"],
    ], failing: ["_dmarc.temp.com"])

    static func dkim(_ domain: String, _ status: DKIMResult.Status = .pass) -> DKIMResult {
        DKIMResult(status: status, domain: domain, selector: "s", algorithm: "rsa-sha256")
    }

    /// (From domain, SPF (status, domain), DKIM results, sample, status, requested policy, disposition)
    static let cases: [(String, (SPFResult.Status, String), [DKIMResult], Int, DMARCResult.Status, DMARCRecord.Policy?,
                        DMARCRecord.Policy)] = [
        ("reject.com", (.pass, "reject.com"), [], 0, .pass, .reject, .none),
        ("reject.com", (.pass, "bounce.reject.com"), [], 0, .fail, .reject, .reject),
        ("reject.com", (.fail, "reject.com"), [dkim("reject.com")], 0, .pass, .reject, .none),
        ("reject.com", (.fail, "reject.com"), [dkim("sub.reject.com")], 0, .fail, .reject, .reject),
        ("reject.com", (.fail, "reject.com"), [dkim("reject.com", .fail)], 0, .fail, .reject, .reject),
        ("news.reject.com", (.none, ""), [], 0, .fail, .quarantine, .quarantine),
        ("relaxed.com", (.pass, "bounce.relaxed.com"), [], 0, .pass, .quarantine, .none),
        ("relaxed.com", (.softfail, "relaxed.com"), [dkim("mail.relaxed.com")], 0, .pass, .quarantine, .none),
        ("relaxed.com", (.pass, "other.com"), [dkim("other.com")], 0, .fail, .quarantine, .quarantine),
        ("sub.relaxed.com", (.pass, "relaxed.com"), [], 0, .pass, .quarantine, .none),
        ("half.com", (.fail, "half.com"), [], 10, .fail, .reject, .reject),
        ("half.com", (.fail, "half.com"), [], 70, .fail, .reject, .quarantine),
        ("none.com", (.fail, "none.com"), [], 0, .fail, DMARCRecord.Policy.none, .none),
        ("noP.com", (.fail, "noP.com"), [], 0, .fail, DMARCRecord.Policy.none, .none),
        ("unpublished.com", (.fail, "unpublished.com"), [], 0, .none, nil, .none),
        ("two.com", (.fail, "two.com"), [], 0, .none, nil, .none),
        ("broken.com", (.fail, "broken.com"), [], 0, .permerror, nil, .none),
        ("temp.com", (.fail, "temp.com"), [], 0, .temperror, nil, .none),
        ("www.example.co.uk", (.pass, "example.co.uk"), [], 0, .pass, .reject, .none),
        ("www.example.co.uk", (.pass, "co.uk"), [], 0, .fail, .reject, .reject),
    ]

    @Test("alignment and policy", arguments: cases.indices)
    func evaluate(_ index: Int) async {
        let (from, spf, dkim, sample, status, policy, disposition) = Self.cases[index]
        let evaluator = DMARCEvaluator(resolver: Self.dns, publicSuffixes: PublicSuffixList(parsing: pslText))
        let result = await evaluator.evaluate(fromDomain: from, spf: (status: spf.0, domain: spf.1), dkim: dkim, sample: sample)
        #expect(result.status == status, "\(from): \(result.reason ?? "")")
        #expect(result.requestedPolicy == policy)
        #expect(result.disposition == disposition)
    }

    @Test("record defaults and tags")
    func record() throws {
        let record = try DMARCRecord(parsing: "v=DMARC1; p=quarantine; rua=mailto:a@x.example, mailto:b@x.example; pct=150")
        #expect(record.subdomainPolicy == .quarantine && record.percentage == 100)
        #expect(record.dkimAlignment == .relaxed && record.spfAlignment == .relaxed)
        #expect(record.aggregateReportURIs == ["mailto:a@x.example", "mailto:b@x.example"])
        #expect(throws: DMARCRecord.ParseError.self) { try DMARCRecord(parsing: "p=reject; v=DMARC1") }
        #expect(throws: DMARCRecord.ParseError.self) { try DMARCRecord(parsing: "v=DMARC1; p=bogus") }
    }
}
