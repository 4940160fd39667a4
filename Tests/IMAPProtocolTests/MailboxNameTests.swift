import Testing
@testable import IMAPProtocol

struct MailboxNameTests {
    /// RFC 3501 §5.1.3 examples and other vectors: (Unicode, modified UTF-7).
    static let vectors: [(String, String)] = [
        ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
        ("台北日本語", "&U,BTF2XlZyyKng-"),
        ("☺!", "&Jjo-!"),
        ("Tom & Jerry", "Tom &- Jerry"),
        ("Entwürfe", "Entw&APw-rfe"),
        ("INBOX", "INBOX"),
        ("", ""),
        ("😀", "&2D3eAA-"),
        ("a\u{7F}b", "a&AH8-b"),
    ]

    @Test(arguments: vectors)
    func encodes(_ unicode: String, _ encoded: String) {
        #expect(ModifiedUTF7.encode(unicode) == encoded)
        #expect(ModifiedUTF7.decode(encoded) == unicode)
    }

    /// RFC 3501 §5.1.3: "&Jjo!" lacks the shift back; "&U,BTFw-&ZeVnLIqe-" has a superfluous shift.
    static let invalid = ["&Jjo!", "&U,BTFw-&ZeVnLIqe-", "&AGE-", "&Jj-", "&Jjo", "&2D0-", "&Jj*-"]

    @Test(arguments: invalid)
    func rejectsMalformed(_ encoded: String) {
        #expect(ModifiedUTF7.decode(encoded) == nil)
    }

    @Test func inboxIsCaseInsensitive() {
        #expect(MailboxName("inbox") == .inbox)
        #expect(MailboxName("InBoX").name == "INBOX")
        #expect(MailboxName("inbox/child").name == "INBOX/child")
        #expect(MailboxName("inbox/inbox").name == "INBOX/inbox")
        #expect(MailboxName("INBOXES").name == "INBOXES")
    }

    @Test func wireForm() throws {
        let name = MailboxName("Entwürfe")
        #expect(name.wireForm(utf8Enabled: false) == "Entw&APw-rfe")
        #expect(name.wireForm(utf8Enabled: true) == "Entwürfe")
        #expect(try MailboxName(wire: Array("Entw&APw-rfe".utf8), utf8Enabled: false) == name)
        #expect(throws: IMAPSyntaxError.self) { try MailboxName(wire: [0xFF], utf8Enabled: false) }
    }

    /// (pattern, mailbox, matches)
    static let patterns: [(String, String, Bool)] = [
        ("*", "INBOX", true),
        ("*", "a/b/c", true),
        ("%", "a", true),
        ("%", "a/b", false),
        ("%/%", "a/b", true),
        ("%/%", "a/b/c", false),
        ("a/*", "a/b/c", true),
        ("a/*", "a", false),
        ("a*", "a", true),
        ("a*", "abc/def", true),
        ("a%", "abc/def", false),
        ("a%", "abc", true),
        ("*%", "a/b", true),
        ("%*", "a/b", true),
        ("*/c", "a/b/c", true),
        ("%/c", "a/b/c", false),
        ("a%c", "abc", true),
        ("a%c", "ab/c", false),
        ("a*c", "ab/c", true),
        ("Sent", "Sent", true),
        ("Sent", "sent", false),
        ("inbox", "INBOX", true),
        ("Inbox/%", "INBOX/x", true),
        ("INBOX/%", "inbox/x", true),
        ("inbox*", "INBOX", true),
        ("inboxes", "INBOXES", false),
        ("", "INBOX", false),
        ("", "", true),
        ("%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", false),
        ("台*", "台北", true),
    ]

    @Test(arguments: patterns)
    func matches(_ pattern: String, _ mailbox: String, _ expected: Bool) {
        #expect(MailboxPattern(pattern: pattern).matches(MailboxName(mailbox)) == expected)
    }

    @Test func referenceIsPrefixed() {
        #expect(MailboxPattern(reference: "Archive/", pattern: "%").matches(MailboxName("Archive/2024")))
        #expect(!MailboxPattern(reference: "Archive/", pattern: "%").matches(MailboxName("Other/2024")))
        #expect(MailboxPattern(reference: "Archive/", pattern: "/2024").pattern == "Archive/2024")
        #expect(MailboxPattern(reference: "", pattern: "*").pattern == "*")
    }
}
