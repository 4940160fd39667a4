import NIOCore
import Testing
@testable import IMAPProtocol

/// Every command form, as a client sends it, and the command it means.
struct CommandParserTests {
    static let inbox = MailboxName.inbox

    static let table: [(String, IMAPCommand)] = [
        ("a1 CAPABILITY\r\n", .capability),
        ("a1 capability\r\n", .capability),
        ("a1 NOOP\r\n", .noop),
        ("a1 LOGOUT\r\n", .logout),
        ("a1 STARTTLS\r\n", .startTLS),
        ("a1 NAMESPACE\r\n", .namespace),
        ("a1 UNAUTHENTICATE\r\n", .unauthenticate),
        // RFC 5032 §3 examples.
        ("a1 SEARCH UNSEEN YOUNGER 259200\r\n", .search(SearchCommand(key: .and([.unseen, .younger(259200)])), uid: false)),
        ("a1 SEARCH OLDER 86400\r\n", .search(SearchCommand(key: .older(86400)), uid: false)),
        // RFC 5256 §3 examples; RFC 5957 DISPLAYFROM.
        ("a1 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n", .sort([SortCriterion(.subject)], charset: "UTF-8", key: .since(IMAPDate(year: 1994, month: 2, day: 1)), uid: false)),
        ("a1 UID SORT (REVERSE DATE DISPLAYFROM) US-ASCII ALL\r\n",
         .sort([SortCriterion(.date, reverse: true), SortCriterion(.displayFrom)], charset: "US-ASCII", key: .all, uid: true)),
        ("a1 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000\r\n", .thread(.orderedSubject, charset: "UTF-8", key: .since(IMAPDate(year: 2000, month: 3, day: 5)), uid: false)),
        ("a1 UID THREAD REFERENCES US-ASCII ALL\r\n", .thread(.references, charset: "US-ASCII", key: .all, uid: true)),
        // RFC 9208 §4.1–4.3 examples.
        ("a1 GETQUOTA \"!partition/sda4\"\r\n", .getQuota(root: "!partition/sda4")),
        ("a1 GETQUOTAROOT INBOX\r\n", .getQuotaRoot(.inbox)),
        ("a1 SETQUOTA \"#user/alice\" (STORAGE 510)\r\n", .setQuota(root: "#user/alice", [QuotaLimit(resource: "STORAGE", limit: 510)])),
        ("a1 SETQUOTA \"\" ()\r\n", .setQuota(root: "", [])),
        ("a1 IDLE\r\n", .idle),
        ("a1 CHECK\r\n", .check),
        ("a1 CLOSE\r\n", .close),
        ("a1 UNSELECT\r\n", .unselect),
        ("a1 EXPUNGE\r\n", .expunge),
        ("a1 UID EXPUNGE 3:5,9\r\n", .uidExpunge(.ranges([SequenceRange(3...5), SequenceRange(9)]))),
        ("a1 ID NIL\r\n", .id(nil)),
        ("a1 ID (\"name\" \"Thunderbird\" \"version\" NIL)\r\n",
         .id([IDParameter(key: "name", value: "Thunderbird"), IDParameter(key: "version", value: nil)])),
        ("a1 ID ()\r\n", .id([])),
        ("a1 AUTHENTICATE PLAIN\r\n", .authenticate(mechanism: "PLAIN", initialResponse: nil)),
        ("a1 AUTHENTICATE plain AGJvYgBzZWNyZXQ=\r\n", .authenticate(mechanism: "PLAIN", initialResponse: .base64("AGJvYgBzZWNyZXQ="))),
        ("a1 AUTHENTICATE SCRAM-SHA-256 =\r\n", .authenticate(mechanism: "SCRAM-SHA-256", initialResponse: .empty)),
        ("a1 LOGIN bob secret\r\n", .login(username: "bob", password: "secret")),
        ("a1 LOGIN \"bob@example.test\" \"p\\\"w\\\\d\"\r\n", .login(username: "bob@example.test", password: "p\"w\\d")),
        ("a1 LOGIN {3}\r\nbob {6}\r\nsecret\r\n", .login(username: "bob", password: "secret")),
        ("a1 LOGIN {3+}\r\nbob \"pässword\"\r\n", .login(username: "bob", password: "pässword")),
        ("a1 ENABLE IMAP4rev2 UTF8=ACCEPT\r\n", .enable(["IMAP4REV2", "UTF8=ACCEPT"])),
        ("a1 SELECT INBOX\r\n", .select(inbox, parameters: [])),
        ("a1 SELECT inbox\r\n", .select(inbox, parameters: [])),
        ("a1 SELECT \"Sent Items\"\r\n", .select(MailboxName("Sent Items"), parameters: [])),
        ("a1 SELECT INBOX (CONDSTORE)\r\n", .select(inbox, parameters: [.condStore])),
        ("a1 SELECT INBOX (QRESYNC (67890007 20050715194045000))\r\n",
         .select(inbox, parameters: [.qresync(QResyncParameters(uidValidity: 67890007, modSeq: 20050715194045000))])),
        ("a1 EXAMINE Archive/2024\r\n", .examine(MailboxName("Archive/2024"), parameters: [])),
        // Not valid modified UTF-7: a name no mailbox can have, answered NO by the session (not BAD).
        ("a1 SELECT &Jjo\r\n", .select(try! MailboxName.decodingLeniently(wire: Array("&Jjo".utf8), utf8Enabled: false), parameters: [])),
        ("a1 CREATE Projects\r\n", .create(MailboxName("Projects"), specialUse: [])),
        ("a1 CREATE MySpecial (USE (\\Drafts \\Sent))\r\n", .create(MailboxName("MySpecial"), specialUse: ["\\Drafts", "\\Sent"])),
        ("a1 DELETE Projects\r\n", .delete(MailboxName("Projects"))),
        ("a1 RENAME Old New\r\n", .rename(from: MailboxName("Old"), to: MailboxName("New"))),
        ("a1 SUBSCRIBE News\r\n", .subscribe(MailboxName("News"))),
        ("a1 UNSUBSCRIBE News\r\n", .unsubscribe(MailboxName("News"))),
        ("a1 LSUB \"\" *\r\n", .lsub(reference: "", pattern: "*")),
        ("a1 LIST \"\" *\r\n", .list(ListCommand(reference: "", patterns: ["*"]))),
        ("a1 LIST \"\" %/%\r\n", .list(ListCommand(reference: "", patterns: ["%/%"]))),
        ("a1 LIST Archive/ \"2024*\"\r\n", .list(ListCommand(reference: "Archive/", patterns: ["2024*"]))),
        ("a1 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX \"Drafts\" Sent/%)\r\n",
         .list(ListCommand(selectionOptions: [.subscribed, .recursiveMatch], reference: "", patterns: ["INBOX", "Drafts", "Sent/%"]))),
        ("a1 LIST (REMOTE) \"\" *\r\n", .list(ListCommand(selectionOptions: [.remote], reference: "", patterns: ["*"]))),
        ("a1 LIST (SPECIAL-USE) \"\" *\r\n", .list(ListCommand(selectionOptions: [.specialUse], reference: "", patterns: ["*"]))),
        ("a1 LIST () \"\" *\r\n", .list(ListCommand(reference: "", patterns: ["*"]))),
        ("a1 LIST \"\" * RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN SIZE))\r\n",
         .list(ListCommand(reference: "", patterns: ["*"],
                           returnOptions: [.subscribed, .children, .specialUse, .status([.messages, .unseen, .size])]))),
        ("a1 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT)\r\n",
         .status(inbox, [.messages, .uidNext, .uidValidity, .unseen, .deleted, .size, .recent])),
        ("a1 COPY 1:3 Archive\r\n", .copy(.ranges([SequenceRange(1...3)]), MailboxName("Archive"), uid: false)),
        ("a1 UID COPY 100:* Archive\r\n", .copy(.ranges([SequenceRange(.number(100), .last)]), MailboxName("Archive"), uid: true)),
        ("a1 MOVE 2 Trash\r\n", .move(.ranges([SequenceRange(2)]), MailboxName("Trash"), uid: false)),
        ("a1 UID MOVE $ Trash\r\n", .move(.lastCommand, MailboxName("Trash"), uid: true)),
        ("a1 STORE 1 FLAGS (\\Seen)\r\n", .store(.ranges([SequenceRange(1)]), StoreFlags(.replace, flags: [.seen]), uid: false)),
        ("a1 STORE 1:* +FLAGS.SILENT (\\Deleted $Junk)\r\n",
         .store(.all, StoreFlags(.add, silent: true, flags: [.deleted, Flag("$Junk")]), uid: false)),
        ("a1 UID STORE 5 -FLAGS \\Flagged \\Answered\r\n",
         .store(.ranges([SequenceRange(5)]), StoreFlags(.remove, flags: [.flagged, .answered]), uid: true)),
        ("a1 STORE 2 flags ()\r\n", .store(.ranges([SequenceRange(2)]), StoreFlags(.replace, flags: []), uid: false)),
        ("a1 FETCH 1 ALL\r\n", .fetch(.ranges([SequenceRange(1)]), FetchAttribute.allMacro, uid: false)),
        ("a1 FETCH 1 FAST\r\n", .fetch(.ranges([SequenceRange(1)]), FetchAttribute.fastMacro, uid: false)),
        ("a1 FETCH 1 FULL\r\n", .fetch(.ranges([SequenceRange(1)]), FetchAttribute.fullMacro, uid: false)),
        ("a1 UID FETCH 1:* (FLAGS)\r\n", .fetch(.all, [.flags], uid: true)),
        ("a1 FETCH *:3 UID\r\n", .fetch(.ranges([SequenceRange(.last, .number(3))]), [.uid], uid: false)),
        ("a1 SEARCH UNSEEN\r\n", .search(SearchCommand(key: .unseen), uid: false)),
        ("a1 UID SEARCH CHARSET UTF-8 SUBJECT hello\r\n", .search(SearchCommand(charset: "UTF-8", key: .subject("hello")), uid: true)),
        ("a1 SEARCH RETURN (MIN MAX ALL COUNT SAVE) DELETED\r\n",
         .search(SearchCommand(returnOptions: [.min, .max, .all, .count, .save], key: .deleted), uid: false)),
        ("a1 SEARCH RETURN () FLAGGED SEEN\r\n", .search(SearchCommand(returnOptions: [], key: .and([.flagged, .seen])), uid: false)),
    ]

    @Test(arguments: table)
    func parsesCommand(_ input: String, _ expected: IMAPCommand) {
        #expect(parseAll(input) == .command(tag: "a1", expected))
    }

    @Test func appendSingleMessage() {
        let result = parseAll("A003 APPEND saved-messages (\\Seen) {23}\r\nFrom: a@b\r\n\r\nHi there\r\n\r\n")
        guard case .command("A003", .append(let name, let messages)) = result else { Issue.record("\(result)"); return }
        #expect(name == MailboxName("saved-messages"))
        #expect(messages.count == 1)
        #expect(messages[0].flags == [.seen])
        #expect(messages[0].data.text == "From: a@b\r\n\r\nHi there\r\n")
    }

    @Test func appendWithDateAndMultiAppend() {
        let input = "a1 APPEND INBOX (\\Draft) \" 7-Feb-1994 21:52:25 -0800\" {5+}\r\nhello ~{3}\r\na\u{0}b {2}\r\nhi\r\n"
        guard case .command(_, .append(_, let messages)) = parseAll(input) else { Issue.record("no append"); return }
        #expect(messages.count == 3)
        #expect(messages[0].internalDate == IMAPDateTime(date: IMAPDate(year: 1994, month: 2, day: 7), hour: 21, minute: 52,
                                                         second: 25, zoneMinutes: -480))
        #expect(messages[0].data.text == "hello")
        #expect(messages[1].isBinary)
        #expect(Array(messages[1].data.readableBytesView) == [0x61, 0, 0x62])
        #expect(messages[2].flags.isEmpty)
        #expect(messages[2].data.text == "hi")
    }

    @Test func modifiedUTF7MailboxDecodedBeforeUTF8Enabled() {
        #expect(command("a1 SELECT &ZeVnLIqe-\r\n") == .select(MailboxName("日本語"), parameters: []))
        // Once UTF-8 is enabled "&" is just a character.
        #expect(command("a1 SELECT &ZeVnLIqe-\r\n", utf8: true) == .select(MailboxName("&ZeVnLIqe-"), parameters: []))
        #expect(command("a1 SELECT \"日本語\"\r\n", utf8: true) == .select(MailboxName("日本語"), parameters: []))
    }

    /// Bad input gives BAD with a reason, and the tag when there is one.
    static let badInput: [(String, String?, String)] = [
        ("a1 FROB\r\n", "a1", "unknown command FROB"),
        ("a1 LOGIN bob\r\n", "a1", "expected SP"),
        ("a1 SELECT\r\n", "a1", "expected SP"),
        ("a1 NOOP extra\r\n", "a1", "expected end of command"),
        ("a1  NOOP\r\n", "a1", "expected command"),
        ("\r\n", nil, "expected tag"),
        ("+tag NOOP\r\n", nil, "expected tag"),
        ("a1 FETCH 0 FLAGS\r\n", "a1", "expected non-zero number"),
        ("a1 FETCH 1 FLUGS\r\n", "a1", "unknown fetch attribute FLUGS"),
        ("a1 FETCH 1 BODY.PEEK\r\n", "a1", "BODY.PEEK needs a section"),
        ("a1 FETCH 1 BODY[]<0.0>\r\n", "a1", "partial length must be non-zero"),
        ("a1 STORE 1 FLAGS (\\Recent)\r\n", "a1", "\\Recent cannot be set"),
        ("a1 STORE 1 GLAGS (\\Seen)\r\n", "a1", "expected FLAGS, +FLAGS or -FLAGS"),
        ("a1 SEARCH FOO\r\n", "a1", "unknown search key FOO"),
        ("a1 SEARCH BEFORE 1-Foo-2020\r\n", "a1", "invalid month"),
        ("a1 SEARCH RETURN (FOO) ALL\r\n", "a1", "unknown search return option FOO"),
        ("a1 STATUS INBOX (MESSAGES BOGUS)\r\n", "a1", "unknown status attribute BOGUS"),
        ("a1 STATUS INBOX ()\r\n", "a1", "empty list"),
        ("a1 LIST (RECURSIVEMATCH) \"\" *\r\n", "a1", "RECURSIVEMATCH needs SUBSCRIBED or SPECIAL-USE"),
        ("a1 UID FROB 1\r\n", "a1", "unknown UID command FROB"),
        ("a1 STATUS &Jjo (MESSAGES)\r\n", "a1", "mailbox name is not valid modified UTF-7"),
        ("a1 LIST (FOO) \"\" \"\"\r\n", "a1", "unknown LIST selection option FOO"),
        ("a1 LIST \"\" \"\" RETURN (FOO)\r\n", "a1", "unknown LIST return option FOO"),
        ("a1 LOGIN \"bob\r\n", "a1", "invalid character in quoted string"),
        ("a1 ENABLE\r\n", "a1", "ENABLE needs a capability"),
        ("a1 APPEND INBOX (\\Seen)\r\n", "a1", "expected SP"),
        ("a1 LOGIN {3}\r\nb\u{0}b pw\r\n", "a1", "NUL in literal"),
        ("a1 APPEND INBOX \"31-Feb-2020 25:00:00 +0000\" {1}\r\nx\r\n", "a1", "invalid date-time"),
    ]

    @Test(arguments: badInput)
    func rejectsBadInput(_ input: String, _ tag: String?, _ reason: String) {
        #expect(parseAll(input) == .syntaxError(tag: tag, reason: reason))
    }

    @Test func nestingDepthIsLimited() {
        let deep = String(repeating: "NOT ", count: 40) + "ALL"
        #expect(syntaxError("a1 SEARCH \(deep)\r\n") == "nesting too deep")
        let shallow = String(repeating: "NOT ", count: 10) + "ALL"
        #expect(command("a1 SEARCH \(shallow)\r\n") != nil)
        let parens = String(repeating: "(", count: 33) + "ALL" + String(repeating: ")", count: 33)
        #expect(syntaxError("a1 SEARCH \(parens)\r\n") == "nesting too deep")
        let limits = IMAPParserLimits(maximumNestingDepth: 5)
        #expect(parseAll("a1 SEARCH ((((((ALL))))))\r\n", limits: limits) == .syntaxError(tag: "a1", reason: "nesting too deep"))
    }
}
