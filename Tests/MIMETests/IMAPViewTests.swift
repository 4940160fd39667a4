import Testing
@testable import MIME

struct IMAPViewTests {
    @Test func envelopeWire() {
        let m = Message.parse(sampleMultipart)
        #expect(text(m.envelope.wireBytes) == """
            ("Fri, 21 Nov 1997 09:55:06 -0600" "=?utf-8?q?Gr=C3=BC=C3=9Fe?= and more" (("Alice" NIL "alice" "example.com")) \
            (("Alice" NIL "alice" "example.com")) (("Alice" NIL "alice" "example.com")) \
            (("Bob" NIL "bob" "example.org")(NIL NIL "carol" "example.net")) NIL NIL NIL "<1@example.com>")
            """)
    }

    @Test func groupsInEnvelope() {
        let m = Message.parse(crlf("To: undisclosed-recipients:;", "Subject: a \"quoted\" \\ thing", "", ""))
        #expect(text(m.envelope.wireBytes) == """
            (NIL "a \\"quoted\\" \\\\ thing" NIL NIL NIL ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL)
            """)
    }

    /// RFC 2046 §5.1.1: "the initial CRLF is considered to be attached to the boundary delimiter line rather than part
    /// of the preceding part" — also when that CRLF ends an encapsulated message's own close-delimiter (a bounce of a
    /// multipart message, as our DSNs make them). Dovecot 2.3.19 counts that CRLF into the message/rfc822 part (two more
    /// octets, one more line); we follow the RFC. The one difference from Dovecot the DSN fixtures showed.
    @Test func closeDelimiterBeforeAnOuterBoundaryKeepsItsCRLFWithTheBoundary() {
        let original = crlf("Subject: original", "Content-Type: multipart/mixed; boundary=inner", "",
                            "--inner", "Content-Type: text/plain", "", "body", "--inner--")
        let report = crlf("Content-Type: multipart/report; report-type=delivery-status; boundary=outer", "",
                          "--outer", "Content-Type: text/plain", "", "failed", "--outer", "Content-Type: message/delivery-status", "",
                          "Action: failed", "", "--outer", "Content-Type: message/rfc822", "") + original + crlf("--outer--", "")
        let m = Message.parse(report)
        let part = m.root.children[2]
        #expect(Array(report[part.bodyRange]) == Array(original.dropLast(2)))
        guard case .multipart(let parts, let subtype, _, _) = m.bodyStructure(), case .message(let single, _, _, let lines) = parts[2] else {
            Issue.record("not a multipart/report with a message/rfc822 part")
            return
        }
        #expect(subtype == "report" && parts.count == 3)
        #expect(single.size == original.count - 2 && lines == 7)
    }

    /// RFC 3501 §7.4.2 leaves repeated fields open; like Dovecot, ENVELOPE keeps the addresses of every To/Cc/… field
    /// and the last Subject/Date (the golden fixture several-address-fields checks the rest against Dovecot).
    @Test func repeatedAddressFieldsAreMerged() {
        let m = Message.parse(crlf("To: a@x.example", "Cc: b@x.example", "Subject: one", "Cc: C <c@x.example>, d@x.example",
                                   "Subject: two", "", ""))
        #expect(m.envelope.cc.map { text($0.mailbox ?? []) } == ["b", "c", "d"])
        #expect(m.envelope.subject.map(text) == "two")
    }

    @Test func literalForEightBit() {
        var w = IMAPWireWriter()
        w.string(Array("é".utf8))
        #expect(w.bytes == Array("{2}\r\n".utf8) + [0xC3, 0xA9])
    }

    @Test func bodyStructureWire() {
        let m = Message.parse(sampleMultipart)
        #expect(text(m.bodyStructure().wireBytes(extensible: true)) == """
            (("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 32 1 NIL NIL NIL NIL)\
            (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL)\
            ("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 11 0 NIL NIL NIL NIL) "alternative" ("boundary" "inner") NIL NIL NIL)\
            ("application" "pdf" ("name" "doc.pdf") NIL NIL "base64" 12 NIL ("attachment" ("filename" "doc.pdf")) NIL NIL) \
            "mixed" ("boundary" "outer") NIL NIL NIL)
            """)
        #expect(text(m.bodyStructure().wireBytes(extensible: false)) == """
            (("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 32 1)\
            (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0)("text" "html" ("charset" "us-ascii") NIL NIL "7bit" 11 0) \
            "alternative")("application" "pdf" ("name" "doc.pdf") NIL NIL "base64" 12) "mixed")
            """)
    }

    @Test func sections() {
        let m = Message.parse(sampleMultipart)
        #expect(text(m.section(SectionSpecifier(part: [2, 2]))) == "<p>html</p>")
        #expect(text(m.section(SectionSpecifier(part: [3], text: .mime))) == """
            Content-Type: application/pdf; name="doc.pdf"\r\nContent-Disposition: attachment; filename="doc.pdf"\r\n\
            Content-Transfer-Encoding: base64\r\n\r\n
            """)
        #expect(text(m.section(SectionSpecifier(text: .headerFields(["subject", "FROM"])))) == """
            From: Alice <alice@example.com>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= and more\r\n\r\n
            """)
        let notFields = text(m.section(SectionSpecifier(text: .headerFieldsNot(["subject", "from", "to", "date", "message-id"]))))
        #expect(notFields == "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n")
        #expect(text(m.section(.whole, partial: PartialRange(offset: 6, length: 5))) == "Alice")
        #expect(m.section(SectionSpecifier(part: [9])) == nil)
        #expect(m.section(SectionSpecifier(part: [1], text: .header)) == nil)
        #expect(text(m.binary([3])) == "%PDF-1.4\n")
        #expect(m.binarySize([1]) == "Hello été\r\nsecond line".utf8.count)
        let header = m.section(SectionSpecifier(text: .header))!
        #expect(Array(header.suffix(4)) == [13, 10, 13, 10])
        #expect(m.section(SectionSpecifier(text: .text))! + [] == Array(m.bytes[m.root.bodyRange]))
    }

    @Test func messageRFC822Structure() {
        let bytes = crlf("Content-Type: message/rfc822", "", "Subject: inner", "From: a@b.c", "", "line1", "line2")
        let m = Message.parse(bytes)
        #expect(text(m.bodyStructure().wireBytes(extensible: false)) == """
            ("message" "rfc822" NIL NIL NIL "7bit" 45 (NIL "inner" ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) \
            ((NIL NIL "a" "b.c")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 14 2) 5)
            """)
        #expect(text(m.section(SectionSpecifier(part: [1], text: .header))) == "Subject: inner\r\nFrom: a@b.c\r\n\r\n")
        #expect(text(m.section(SectionSpecifier(part: [1], text: .text))) == "line1\r\nline2\r\n")
    }
}
