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
