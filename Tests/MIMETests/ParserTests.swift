import Testing
@testable import MIME

struct ParserTests {
    @Test func multipartTree() {
        let m = Message.parse(sampleMultipart)
        #expect(m.root.kind == .multipart)
        #expect(m.root.children.count == 3)
        #expect(m.root.children[1].kind == .multipart)
        #expect(m.root.children[1].children.map(\.contentType.subtype) == ["plain", "html"])
        #expect(text(Array(m.bytes[m.root.preambleRange])) == "This is the preamble.")
        #expect(text(Array(m.bytes[m.root.epilogueRange])) == "epilogue\r\n")
        #expect(text(Array(m.bytes[m.root.children[0].bodyRange])) == "Hello =C3=A9t=C3=A9\r\nsecond line")
        #expect(m.root.children[2].fileName == "doc.pdf")
        #expect(!m.root.isMissingCloseDelimiter)
    }

    @Test func headerLookupKeepsDuplicatesAndRawBytes() {
        let bytes = crlf("Received: a", "received: b", "Subject: folded", "  line", "", "body")
        let m = Message.parse(bytes)
        #expect(m.header.fields(named: "RECEIVED").map(\.unfoldedValue) == ["a", "b"])
        #expect(m.header.value("subject") == "folded  line")
        let field = m.header["Subject"]!
        #expect(text(Array(m.bytes[field.range])) == "Subject: folded\r\n  line\r\n")
        #expect(text(Array(m.bytes[m.root.bodyRange])) == "body\r\n")
    }

    @Test func missingFinalBoundaryAndOuterBoundaryEndsInner() {
        let bytes = crlf(
            "Content-Type: multipart/mixed; boundary=a", "",
            "--a", "Content-Type: multipart/alternative; boundary=b", "",
            "--b", "", "inner one",
            "--a", "", "second outer part")
        let m = Message.parse(bytes)
        #expect(m.root.children.count == 2)
        #expect(m.root.children[0].isMissingCloseDelimiter)
        #expect(m.root.children[0].children.count == 1)
        #expect(text(Array(m.bytes[m.root.children[1].bodyRange])) == "second outer part\r\n")
        #expect(m.root.isMissingCloseDelimiter)
    }

    @Test func boundaryLikeLinesInBodies() {
        let bytes = crlf("Content-Type: multipart/mixed; boundary=xyz", "", "--xyz", "", "--not-the-boundary", "-- xyz", "--xyz--")
        let m = Message.parse(bytes)
        #expect(m.root.children.count == 1)
        #expect(text(Array(m.bytes[m.root.children[0].bodyRange])) == "--not-the-boundary\r\n-- xyz")
    }

    @Test func bareLF() {
        let bytes = Array("Content-Type: multipart/mixed; boundary=q\n\n--q\nContent-Type: text/plain\n\nhi\n--q--\n".utf8)
        let m = Message.parse(bytes)
        #expect(m.root.children.count == 1)
        #expect(text(Array(m.bytes[m.root.children[0].bodyRange])) == "hi")
    }

    @Test func defaultsAndBrokenContentType() {
        let m = Message.parse(crlf("Content-Type: garbage", "", "x"))
        #expect(m.root.contentType.mimeType == "text/plain")
        #expect(!m.root.hasContentType)
        let digest = Message.parse(crlf("Content-Type: multipart/digest; boundary=d", "", "--d", "", "Subject: inner", "", "hi", "--d--"))
        #expect(digest.root.children[0].contentType.mimeType == "message/rfc822")
        #expect(digest.root.children[0].kind == .message)
        #expect(digest.root.children[0].children[0].header.value("Subject") == "inner")
    }

    @Test func encapsulatedMessage() {
        let bytes = crlf("Content-Type: multipart/mixed; boundary=m", "", "--m", "Content-Type: message/rfc822", "",
                         "Subject: fwd", "Content-Type: multipart/mixed; boundary=n", "", "--n", "", "deep", "--n--", "--m--")
        let m = Message.parse(bytes)
        let msg = m.root.children[0]
        #expect(msg.kind == .message)
        #expect(msg.children[0].children.count == 1)
        #expect(text(m.section(SectionSpecifier(part: [1, 1]))) == "deep")
    }

    @Test func depthLimitDegradesToLeaves() {
        var lines = [String]()
        for i in 0..<200 { lines += ["Content-Type: multipart/mixed; boundary=b\(i)", "", "--b\(i)"] }
        lines.append("x")
        let m = Message.parse(Array(lines.joined(separator: "\r\n").utf8), limits: ParserLimits(maximumDepth: 10))
        var depth = 0
        var p = m.root
        while let c = p.children.first { p = c; depth += 1 }
        #expect(depth == 10)
    }

    @Test func emptyAndHeaderOnlyInput() {
        #expect(Message.parse([]).root.header.fields.isEmpty)
        let m = Message.parse(Array("Subject: x".utf8))
        #expect(m.header.value("Subject") == "x")
        #expect(m.root.bodyRange.isEmpty)
    }
}
