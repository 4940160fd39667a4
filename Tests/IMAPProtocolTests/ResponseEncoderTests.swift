import NIOCore
import Testing
@testable import IMAPProtocol

/// Exact wire bytes for every response form.
struct ResponseEncoderTests {
    static let date = IMAPDateTime(date: IMAPDate(year: 1996, month: 7, day: 7), hour: 2, minute: 44, second: 25, zoneMinutes: -420)

    static let table: [(IMAPResponse, String)] = [
        (.tagged(tag: "a1", .ok, text: "LOGIN completed"), "a1 OK LOGIN completed\r\n"),
        (.tagged(tag: "a1", .no, code: .authenticationFailed, text: "Invalid credentials"), "a1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n"),
        (.tagged(tag: "a1", .bad, text: "line1\r\nline2"), "a1 BAD line1  line2\r\n"),
        (.tagged(tag: "a1", .ok, code: .readWrite, text: "SELECT completed"), "a1 OK [READ-WRITE] SELECT completed\r\n"),
        (.tagged(tag: "a1", .ok, code: .readOnly, text: "EXAMINE completed"), "a1 OK [READ-ONLY] EXAMINE completed\r\n"),
        (.tagged(tag: "a1", .ok, code: .appendUID(uidValidity: 38505, uids: .ranges([SequenceRange(3955)])), text: "APPEND completed"),
         "a1 OK [APPENDUID 38505 3955] APPEND completed\r\n"),
        (.tagged(tag: "a1", .ok, code: .copyUID(uidValidity: 38505, source: SequenceSet([304, 319, 320, 321]),
                                                destination: .ranges([SequenceRange(3956...3959)])), text: "Done"),
         "a1 OK [COPYUID 38505 304,319:321 3956:3959] Done\r\n"),
        (.tagged(tag: "a1", .no, code: .tryCreate, text: "no such mailbox"), "a1 NO [TRYCREATE] no such mailbox\r\n"),
        (.tagged(tag: "a1", .no, code: .tooBig, text: "message too big"), "a1 NO [TOOBIG] message too big\r\n"),
        (.tagged(tag: "a1", .no, code: .other("X-FOO", "bar]baz"), text: "x"), "a1 NO [X-FOO bar baz] x\r\n"),
        (.untagged(.status(.ok, code: .alert, text: "System shutdown in 10 minutes")), "* OK [ALERT] System shutdown in 10 minutes\r\n"),
        (.untagged(.status(.ok, code: .permanentFlags([.deleted, .seen], allowsNewKeywords: true), text: "Limited")),
         "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"),
        (.untagged(.status(.ok, code: .uidValidity(3857529045), text: "UIDs valid")), "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"),
        (.untagged(.status(.ok, code: .uidNext(4392), text: "Predicted next UID")), "* OK [UIDNEXT 4392] Predicted next UID\r\n"),
        (.untagged(.status(.ok, code: .unseen(12), text: "first unseen")), "* OK [UNSEEN 12] first unseen\r\n"),
        (.untagged(.status(.ok, code: .highestModSeq(715194045007), text: "x")), "* OK [HIGHESTMODSEQ 715194045007] x\r\n"),
        (.untagged(.status(.ok, code: .closed, text: "previous mailbox closed")), "* OK [CLOSED] previous mailbox closed\r\n"),
        (.untagged(.status(.no, code: .badCharset(["UTF-8", "US-ASCII"]), text: "x")), "* NO [BADCHARSET (UTF-8 US-ASCII)] x\r\n"),
        (.untagged(.status(.bye, text: "Autologout; idle for too long")), "* BYE Autologout; idle for too long\r\n"),
        (.untagged(.status(.preauth, code: .capability(["IMAP4rev2"]), text: "hi")), "* PREAUTH [CAPABILITY IMAP4rev2] hi\r\n"),
        (.untagged(.capability(["IMAP4rev2", "IDLE"])), "* CAPABILITY IMAP4rev2 IDLE\r\n"),
        (.untagged(.enabled(["IMAP4rev2"])), "* ENABLED IMAP4rev2\r\n"),
        (.untagged(.enabled([])), "* ENABLED\r\n"),
        (.untagged(.flags([.answered, .flagged, .deleted, .seen, .draft])), "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"),
        (.untagged(.exists(23)), "* 23 EXISTS\r\n"),
        (.untagged(.recent(5)), "* 5 RECENT\r\n"),
        (.untagged(.expunge(44)), "* 44 EXPUNGE\r\n"),
        (.untagged(.search([2, 3, 6])), "* SEARCH 2 3 6\r\n"),
        (.untagged(.search([])), "* SEARCH\r\n"),
        (.untagged(.esearch(ESearchResponse(tag: "A282", uid: false, min: 2, count: 3))), "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n"),
        (.untagged(.esearch(ESearchResponse(tag: "a", uid: true, max: 9, all: SequenceSet([1, 2, 3, 9])))),
         "* ESEARCH (TAG \"a\") UID MAX 9 ALL 1:3,9\r\n"),
        (.untagged(.esearch(ESearchResponse(tag: nil, uid: false, all: SequenceSet([]), count: 0))), "* ESEARCH COUNT 0\r\n"),
        (.untagged(.list(MailboxListItem(attributes: ["\\HasNoChildren"], name: .inbox))), "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"),
        (.untagged(.list(MailboxListItem(attributes: ["\\Noselect"], separator: nil, name: MailboxName("")))), "* LIST (\\Noselect) NIL \"\"\r\n"),
        (.untagged(.list(MailboxListItem(attributes: ["\\HasChildren", "\\Sent"], name: MailboxName("Gesendete Entwürfe")))),
         "* LIST (\\HasChildren \\Sent) \"/\" \"Gesendete Entw&APw-rfe\"\r\n"),
        (.untagged(.list(MailboxListItem(attributes: [], name: MailboxName("Foo"), childInfo: ["SUBSCRIBED"]))),
         "* LIST () \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"),
        (.untagged(.lsub(MailboxListItem(attributes: [], name: MailboxName("News")))), "* LSUB () \"/\" \"News\"\r\n"),
        (.untagged(.mailboxStatus(MailboxName("blurdybloop"), [StatusValue(.messages, 231), StatusValue(.uidNext, 44292), StatusValue(.size, 1_000_000)])),
         "* STATUS \"blurdybloop\" (MESSAGES 231 UIDNEXT 44292 SIZE 1000000)\r\n"),
        (.untagged(.namespace(personal: [NamespaceDescription(prefix: "")], otherUsers: [], shared: [])),
         "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"),
        (.untagged(.id([IDParameter(key: "name", value: "Letterbox"), IDParameter(key: "os", value: nil)])), "* ID (\"name\" \"Letterbox\" \"os\" NIL)\r\n"),
        (.untagged(.id(nil)), "* ID NIL\r\n"),
        // RFC 8970 §5 example.
        (.untagged(.fetch(1, [.uid(25996), .preview("Foo")])), "* 1 FETCH (UID 25996 PREVIEW \"Foo\")\r\n"),
        (.untagged(.fetch(2, [.preview(nil)])), "* 2 FETCH (PREVIEW NIL)\r\n"),
        // RFC 9208 §5.1, §5.2 examples.
        (.untagged(.quota(root: "", [QuotaResource(resource: "STORAGE", usage: 10, limit: 512)])), "* QUOTA \"\" (STORAGE 10 512)\r\n"),
        (.untagged(.quotaRoot(.inbox, roots: [""])), "* QUOTAROOT \"INBOX\" \"\"\r\n"),
        (.untagged(.quotaRoot(MailboxName("comp.mail.mime"), roots: [])), "* QUOTAROOT \"comp.mail.mime\"\r\n"),
        (.continuation("Ready for literal data"), "+ Ready for literal data\r\n"),
        (.continuation(""), "+ \r\n"),
        (.untagged(.fetch(12, [.uid(4827313), .flags([.seen]), .rfc822Size(44827), .internalDate(date)])),
         "* 12 FETCH (UID 4827313 FLAGS (\\Seen) RFC822.SIZE 44827 INTERNALDATE \"07-Jul-1996 02:44:25 -0700\")\r\n"),
        (.untagged(.fetch(1, [.envelope(ByteBuffer(string: "(NIL \"subj\" NIL NIL NIL NIL NIL NIL NIL NIL)"))])),
         "* 1 FETCH (ENVELOPE (NIL \"subj\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n"),
        (.untagged(.fetch(1, [.bodyStructure(ByteBuffer(string: "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1)")),
                              .body(ByteBuffer(string: "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1)"))])),
         "* 1 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1) BODY (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1))\r\n"),
        (.untagged(.fetch(2, [.bodySection(.complete, origin: nil, data: ByteBuffer(string: "Hi\r\n"))])),
         "* 2 FETCH (BODY[] {4}\r\nHi\r\n)\r\n"),
        (.untagged(.fetch(2, [.bodySection(SectionSpecifier(part: [1, 2], kind: .headerFields(["FROM", "TO"])), origin: 0,
                                           data: ByteBuffer(string: "ab"))])),
         "* 2 FETCH (BODY[1.2.HEADER.FIELDS (FROM TO)]<0> {2}\r\nab)\r\n"),
        (.untagged(.fetch(2, [.bodySection(SectionSpecifier(part: [3], kind: .mime), origin: nil, data: nil)])), "* 2 FETCH (BODY[3.MIME] NIL)\r\n"),
        (.untagged(.fetch(3, [.binary(part: [1], origin: nil, data: ByteBuffer(bytes: [0x61, 0, 0x62]))])), "* 3 FETCH (BINARY[1] ~{3}\r\na\u{0}b)\r\n"),
        (.untagged(.fetch(3, [.binary(part: [], origin: 5, data: ByteBuffer(string: "text"))])), "* 3 FETCH (BINARY[]<5> {4}\r\ntext)\r\n"),
        (.untagged(.fetch(3, [.binarySize(part: [2], size: 1234)])), "* 3 FETCH (BINARY.SIZE[2] 1234)\r\n"),
        (.untagged(.fetch(4, [.rfc822(ByteBuffer(string: "x")), .rfc822Header(ByteBuffer(string: "")), .rfc822Text(nil)])),
         "* 4 FETCH (RFC822 {1}\r\nx RFC822.HEADER {0}\r\n RFC822.TEXT NIL)\r\n"),
    ]

    @Test(arguments: table)
    func encodes(_ response: IMAPResponse, _ wire: String) {
        #expect(IMAPResponseEncoder().encode(response).text == wire)
    }

    static let codes: [(ResponseCode, String)] = [
        (.alert, "ALERT"), (.badCharset([]), "BADCHARSET"), (.parse, "PARSE"), (.permanentFlags([], allowsNewKeywords: false), "PERMANENTFLAGS ()"),
        (.uidNotSticky, "UIDNOTSTICKY"), (.closed, "CLOSED"), (.unavailable, "UNAVAILABLE"),
        (.authenticationFailed, "AUTHENTICATIONFAILED"), (.authorizationFailed, "AUTHORIZATIONFAILED"), (.expired, "EXPIRED"),
        (.privacyRequired, "PRIVACYREQUIRED"), (.contactAdmin, "CONTACTADMIN"), (.noPermission, "NOPERM"), (.inUse, "INUSE"),
        (.expungeIssued, "EXPUNGEISSUED"), (.corruption, "CORRUPTION"), (.serverBug, "SERVERBUG"), (.clientBug, "CLIENTBUG"),
        (.cannot, "CANNOT"), (.limit, "LIMIT"), (.overQuota, "OVERQUOTA"), (.alreadyExists, "ALREADYEXISTS"),
        (.nonexistent, "NONEXISTENT"), (.notSaved, "NOTSAVED"), (.hasChildren, "HASCHILDREN"), (.unknownCTE, "UNKNOWN-CTE"),
        (.tooBig, "TOOBIG"), (.other("X-ONLY", nil), "X-ONLY"),
        (.appendUID(uidValidity: 1, uids: SequenceSet([7, 8, 9])), "APPENDUID 1 7:9"),
    ]

    @Test(arguments: codes)
    func encodesResponseCode(_ code: ResponseCode, _ text: String) {
        #expect(IMAPResponseEncoder().encode(.tagged(tag: "t", .no, code: code, text: "x")).text == "t NO [\(text)] x\r\n")
    }

    @Test func stringsBecomeQuotedOrLiteral() {
        let encoder = IMAPResponseEncoder()
        var buffer = ByteBuffer()
        encoder.writeString(Array("say \"hi\" \\o/".utf8), into: &buffer)
        #expect(buffer.text == "\"say \\\"hi\\\" \\\\o/\"")
        buffer.clear()
        encoder.writeString(Array("two\r\nlines".utf8), into: &buffer)
        #expect(buffer.text == "{10}\r\ntwo\r\nlines")
        buffer.clear()
        encoder.writeString(Array("café".utf8), into: &buffer)
        #expect(buffer.text == "{5}\r\ncafé")
        buffer.clear()
        IMAPResponseEncoder(utf8Enabled: true).writeString(Array("café".utf8), into: &buffer)
        #expect(buffer.text == "\"café\"")
        buffer.clear()
        IMAPResponseEncoder(maximumQuotedLength: 3).writeString(Array("abcd".utf8), into: &buffer)
        #expect(buffer.text == "{4}\r\nabcd")
    }

    @Test func mailboxNamesFollowUTF8Mode() {
        let item = IMAPResponse.untagged(.list(MailboxListItem(attributes: [], name: MailboxName("日本語"))))
        #expect(IMAPResponseEncoder().encode(item).text == "* LIST () \"/\" \"&ZeVnLIqe-\"\r\n")
        #expect(IMAPResponseEncoder(utf8Enabled: true).encode(item).text == "* LIST () \"/\" \"日本語\"\r\n")
    }
}
