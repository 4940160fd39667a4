import Testing
@testable import MailCore

struct AddressListTests {
    /// input → [(displayName, localPart, domain, isValid)] of the flattened mailboxes
    static let cases: [(String, [(String?, String, String?, Bool)])] = [
        ("user@example.com", [(nil, "user", "example.com", true)]),
        ("John Doe <john@example.com>", [("John Doe", "john", "example.com", true)]),
        ("\"Doe, John\" <john@example.com>, jane@example.org", [("Doe, John", "john", "example.com", true), (nil, "jane", "example.org", true)]),
        ("john@example.com (John Doe)", [("John Doe", "john", "example.com", true)]),
        ("\"john doe\"@example.com", [(nil, "john doe", "example.com", true)]),
        ("John Q. Public <@route.a,@route.b:jqp@example.com>", [("John Q. Public", "jqp", "example.com", true)]),
        ("=?utf-8?q?J=C3=B6rg?= <j@example.de>", [("=?utf-8?q?J=C3=B6rg?=", "j", "example.de", true)]),
        ("用户@例子.广告", [(nil, "用户", "例子.广告", true)]),
        ("user@[192.0.2.1]", [(nil, "user", "[192.0.2.1]", true)]),
        ("undisclosed-recipients:;", []),
        ("A Group: a@x.test, B <b@y.test>; , c@z.test", [(nil, "a", "x.test", true), ("B", "b", "y.test", true), (nil, "c", "z.test", true)]),
        ("not an address", [(nil, "notanaddress", nil, false)]),
        ("<broken@", [(nil, "broken", nil, false)]),
        (",,,", [(nil, "", nil, false), (nil, "", nil, false)]),
        ("a@b.test,, <>, nobody", [(nil, "a", "b.test", true), (nil, "", nil, false), (nil, "", nil, false), (nil, "nobody", nil, false)]),
    ]

    @Test(arguments: cases)
    func parses(input: String, expected: [(String?, String, String?, Bool)]) {
        let boxes = AddressParser.parseList(input).mailboxes
        #expect(boxes.count == expected.count)
        for (box, e) in zip(boxes, expected) {
            #expect(box.displayName == e.0)
            #expect(box.localPart == e.1)
            #expect(box.domain == e.2)
            #expect(box.isValid == e.3)
        }
    }

    @Test func groups() {
        let entries = AddressParser.parseList("Friends: a@x.test, b@y.test;, Solo <s@z.test>")
        #expect(entries.count == 2)
        guard case .group(let name, let members) = entries[0] else { Issue.record("no group"); return }
        #expect(name == "Friends")
        #expect(members.map(\.localPart) == ["a", "b"])
        #expect(AddressParser.parseList("route: <@a:b@c>").count == 1)
    }

    @Test func keepsRawTextOfInvalid() {
        let box = AddressParser.parseList("  garbage <<< ").mailboxes.first
        #expect(box?.isValid == false)
        #expect(box?.raw.contains("garbage") == true)
    }

    @Test(arguments: [
        ("<>", RFC5321Path.null),
        ("<user@example.com>", .mailbox(EmailAddress("user@example.com")!)),
        ("<@relay.example:user@example.com>", .mailbox(EmailAddress("user@example.com")!)),
        ("user@example.com", .invalid("user@example.com")),
        ("<user@>", .invalid("<user@>")),
    ])
    func smtpPaths(input: String, expected: RFC5321Path) {
        #expect(AddressParser.parsePath(input) == expected)
    }
}
