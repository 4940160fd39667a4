import Testing
@testable import IMAPProtocol

/// Every search key of RFC 3501 and RFC 9051, and every FETCH attribute.
struct SearchAndFetchParserTests {
    static let date = IMAPDate(year: 2024, month: 3, day: 1)

    static let searchKeys: [(String, SearchKey)] = [
        ("ALL", .all), ("ANSWERED", .answered), ("DELETED", .deleted), ("DRAFT", .draft), ("FLAGGED", .flagged),
        ("SEEN", .seen), ("UNANSWERED", .unanswered), ("UNDELETED", .undeleted), ("UNDRAFT", .undraft),
        ("UNFLAGGED", .unflagged), ("UNSEEN", .unseen), ("NEW", .new), ("OLD", .old), ("RECENT", .recent),
        ("KEYWORD $Forwarded", .keyword(Flag("$Forwarded"))), ("UNKEYWORD $Junk", .unkeyword(Flag("$Junk"))),
        ("BCC bob", .bcc("bob")), ("BODY \"two words\"", .body("two words")), ("CC carol", .cc("carol")),
        ("FROM alice@example.test", .from("alice@example.test")), ("SUBJECT {5}\r\nhello", .subject("hello")),
        ("TEXT x", .text("x")), ("TO dave", .to("dave")),
        ("HEADER Message-ID \"<a@b>\"", .header("Message-ID", "<a@b>")),
        ("HEADER X-Empty \"\"", .header("X-Empty", "")),
        ("BEFORE 1-Mar-2024", .before(date)), ("ON \"1-Mar-2024\"", .on(date)), ("SINCE 01-mar-2024", .since(date)),
        ("SENTBEFORE 1-Mar-2024", .sentBefore(date)), ("SENTON 1-Mar-2024", .sentOn(date)),
        ("SENTSINCE 1-Mar-2024", .sentSince(date)),
        ("LARGER 1024", .larger(1024)), ("SMALLER 10000000000", .smaller(10_000_000_000)),
        ("UID 1:5,10", .uid(.ranges([SequenceRange(1...5), SequenceRange(10)]))),
        ("UID $", .uid(.lastCommand)),
        ("1:*", .sequenceNumbers(.all)), ("$", .sequenceNumbers(.lastCommand)), ("*", .sequenceNumbers(.ranges([SequenceRange(.last, .last)]))),
        ("NOT SEEN", .not(.seen)),
        ("OR SEEN FLAGGED", .or(.seen, .flagged)),
        ("OR (SEEN FROM bob) NOT (DELETED)", .or(.and([.seen, .from("bob")]), .not(.and([.deleted])))),
        ("NOT OR NOT SEEN 2:4 UID 7", .and([.not(.or(.not(.seen), .sequenceNumbers(.ranges([SequenceRange(2...4)])))), .uid(.ranges([SequenceRange(7)]))])),
        ("seen unseen", .and([.seen, .unseen])),
        ("MODSEQ 620162338", .modSeq(620162338)),
        ("MODSEQ 0", .modSeq(0)),
    ]

    @Test(arguments: searchKeys)
    func parsesSearchKey(_ input: String, _ expected: SearchKey) {
        #expect(command("t SEARCH \(input)\r\n") == .search(SearchCommand(key: expected), uid: false))
    }

    @Test func charsetMayBeQuoted() {
        #expect(command("t SEARCH CHARSET \"UTF-8\" TEXT \"caf\u{e9}\"\r\n") == .search(SearchCommand(charset: "UTF-8", key: .text("café")), uid: false))
    }

    static let fetchAttributes: [(String, FetchAttribute)] = [
        ("FLAGS", .flags), ("UID", .uid), ("INTERNALDATE", .internalDate), ("RFC822.SIZE", .rfc822Size),
        ("ENVELOPE", .envelope), ("BODY", .body), ("BODYSTRUCTURE", .bodyStructure),
        ("RFC822", .rfc822), ("RFC822.HEADER", .rfc822Header), ("RFC822.TEXT", .rfc822Text),
        ("BODY[]", .bodySection(.complete, partial: nil, peek: false)),
        ("BODY.PEEK[]", .bodySection(.complete, partial: nil, peek: true)),
        ("body.peek[]<0.2048>", .bodySection(.complete, partial: PartialRange(offset: 0, length: 2048), peek: true)),
        ("BODY[HEADER]", .bodySection(SectionSpecifier(kind: .header), partial: nil, peek: false)),
        ("BODY[TEXT]<100.50>", .bodySection(SectionSpecifier(kind: .text), partial: PartialRange(offset: 100, length: 50), peek: false)),
        ("BODY[1]", .bodySection(SectionSpecifier(part: [1]), partial: nil, peek: false)),
        ("BODY[1.2.3]", .bodySection(SectionSpecifier(part: [1, 2, 3]), partial: nil, peek: false)),
        ("BODY[1.MIME]", .bodySection(SectionSpecifier(part: [1], kind: .mime), partial: nil, peek: false)),
        ("BODY[2.HEADER]", .bodySection(SectionSpecifier(part: [2], kind: .header), partial: nil, peek: false)),
        ("BODY[4.2.TEXT]", .bodySection(SectionSpecifier(part: [4, 2], kind: .text), partial: nil, peek: false)),
        ("BODY.PEEK[HEADER.FIELDS (From To Subject)]",
         .bodySection(SectionSpecifier(kind: .headerFields(["From", "To", "Subject"])), partial: nil, peek: true)),
        ("BODY[HEADER.FIELDS.NOT (X-Spam \"Received\")]",
         .bodySection(SectionSpecifier(kind: .headerFieldsNot(["X-Spam", "Received"])), partial: nil, peek: false)),
        ("BODY[1.HEADER.FIELDS (DATE)]", .bodySection(SectionSpecifier(part: [1], kind: .headerFields(["DATE"])), partial: nil, peek: false)),
        ("BINARY[]", .binary(part: [], partial: nil, peek: false)),
        ("BINARY.PEEK[1.2]<0.10>", .binary(part: [1, 2], partial: PartialRange(offset: 0, length: 10), peek: true)),
        ("BINARY.SIZE[3]", .binarySize(part: [3])),
        ("MODSEQ", .modSeq),
    ]

    @Test(arguments: fetchAttributes)
    func parsesFetchAttribute(_ input: String, _ expected: FetchAttribute) {
        #expect(command("t FETCH 1 \(input)\r\n") == .fetch(.ranges([SequenceRange(1)]), [expected], uid: false))
        #expect(command("t UID FETCH 1 (UID \(input))\r\n") == .fetch(.ranges([SequenceRange(1)]), [.uid, expected], uid: true))
    }

    @Test func fetchSetsSeenOnlyWithoutPeek() {
        #expect(FetchAttribute.bodySection(.complete, partial: nil, peek: false).setsSeen)
        #expect(!FetchAttribute.bodySection(.complete, partial: nil, peek: true).setsSeen)
        #expect(FetchAttribute.rfc822Text.setsSeen)
        #expect(!FetchAttribute.rfc822Header.setsSeen)
        #expect(!FetchAttribute.flags.setsSeen)
    }
}
