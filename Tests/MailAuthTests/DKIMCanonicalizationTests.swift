import MailCore
import Testing
@testable import MailAuth

@Suite("DKIM canonicalization and tag lists")
struct DKIMCanonicalizationTests {
    /// RFC 6376 §3.4.5, with <SP>, <HTAB> and <CRLF> written out.
    static let example = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n"

    @Test("RFC 6376 §3.4.5 example, relaxed and simple")
    func rfcExample() {
        let message = RawMessage(Self.example.bytes)
        #expect(message.fields.map(\.name) == ["A", "B"])
        #expect(message.fields.flatMap { DKIMCanonicalization.relaxed.canonicalize(header: $0) } == "a:X\r\nb:Y Z\r\n".bytes)
        #expect(DKIMCanonicalization.relaxed.canonicalize(body: message.body) == " C\r\nD E\r\n".bytes)
        #expect(message.fields.flatMap { DKIMCanonicalization.simple.canonicalize(header: $0) }
            == "A: X\r\nB : Y\t\r\n\tZ  \r\n".bytes)
        #expect(DKIMCanonicalization.simple.canonicalize(body: message.body) == " C \r\nD \t E\r\n".bytes)
    }

    static let bodies: [(String, DKIMCanonicalization, String)] = [
        ("", .simple, "\r\n"),
        ("", .relaxed, ""),
        ("\r\n\r\n", .simple, "\r\n"),
        ("\r\n\r\n", .relaxed, ""),
        ("no final line end", .simple, "no final line end\r\n"),
        ("no final line end  ", .relaxed, "no final line end\r\n"),
        ("a\r\n\r\nb\r\n\r\n", .simple, "a\r\n\r\nb\r\n"),
        ("  lead\t\ttabs  \r\n", .relaxed, " lead tabs\r\n"),
        (" \r\n", .relaxed, ""),
    ]

    @Test("body canonicalization cases", arguments: bodies.indices)
    func body(_ index: Int) {
        let (input, algorithm, expected) = Self.bodies[index]
        #expect(algorithm.canonicalize(body: input.bytes) == expected.bytes)
    }

    static let headers: [(String, String)] = [
        ("Subject: Hello  World \r\n", "subject:Hello World\r\n"),
        ("SUBJECT:\tfolded\r\n  line\r\n", "subject:folded line\r\n"),
        ("X-Time: 10: 30\r\n", "x-time:10: 30\r\n"),
        ("Empty:\r\n", "empty:\r\n"),
        ("Name \t: value\r\n", "name:value\r\n"),
    ]

    @Test("relaxed header canonicalization cases", arguments: headers.indices)
    func header(_ index: Int) {
        let (input, expected) = Self.headers[index]
        let field = RawMessage((input + "\r\n").bytes).fields[0]
        #expect(DKIMCanonicalization.relaxed.canonicalize(header: field) == expected.bytes)
    }

    @Test("bare LF line ends are read as CRLF")
    func bareLF() {
        let message = RawMessage("From: a@b.example\nSubject: x\n\nbody\n".bytes)
        #expect(message.fields.map(\.raw) == ["From: a@b.example\r\n".bytes, "Subject: x\r\n".bytes])
        #expect(message.body == "body\r\n".bytes)
    }

    @Test("header selection: bottom-up, over-signing yields nothing for a missing instance")
    func selection() {
        let message = RawMessage("Received: 1\r\nFrom: a\r\nReceived: 2\r\n\r\n".bytes)
        let selected = selectHeaders(["received", "received", "received", "from", "from"], from: message.fields)
        #expect(selected.map(\.raw) == ["Received: 2\r\n".bytes, "Received: 1\r\n".bytes, "From: a\r\n".bytes])
    }

    @Test("b= value removal keeps bh= and folding elsewhere")
    func removeB() {
        let raw = "DKIM-Signature: v=1; bh=abc;\r\n b=dGVz\r\n dA==; d=x\r\n".bytes
        #expect(removingSignatureValue(raw) == "DKIM-Signature: v=1; bh=abc;\r\n b=; d=x\r\n".bytes)
        let last = "DKIM-Signature: a=1; b = xyz \r\n".bytes
        #expect(removingSignatureValue(last) == "DKIM-Signature: a=1; b =\r\n".bytes)
    }

    @Test("tag lists: whitespace, trailing semicolon, duplicates, malformed")
    func tagList() throws {
        let tags = try TagList(parsing: " v=1;\r\n\ta = rsa-sha256 ; b= x y ;")
        #expect(tags.tags.map(\.name) == ["v", "a", "b"])
        #expect(tags["a"] == "rsa-sha256" && tags["b"] == "x y")
        #expect(throws: TagList.ParseError.duplicateTag("v")) { try TagList(parsing: "v=1; v=2") }
        #expect(throws: TagList.ParseError.malformedTag("novalue")) { try TagList(parsing: "v=1; novalue") }
        #expect(throws: TagList.ParseError.malformedTag("1x=2")) { try TagList(parsing: "1x=2") }
    }

    @Test("base64 round trip and strictness")
    func base64() {
        for length in 0..<10 {
            let bytes = (0..<length).map { UInt8($0 * 37 & 0xFF) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode("abc".bytes) == "YWJj")
        #expect(Base64.decode("YWJ") == nil && Base64.decode("Y=Jj") == nil && Base64.decode("YW!j") == nil)
    }
}
