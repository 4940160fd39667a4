@testable import IMAPServer
import IMAPProtocol
import MailStore
import Testing

let sample = Array("""
From: Bob <bob@example.test>\r
To: Alice <alice@example.test>\r
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from Bob\r
Date: Mon, 7 Feb 1994 21:52:25 -0800\r
\r
Hello Alice,\r
the needle is here.\r

""".utf8)

func record(uid: UInt32, flags: MessageFlags = MessageFlags(), size: Int = 100, day: Int64 = 0) -> MessageRecord {
    MessageRecord(
        uid: uid, modSeq: 1, flags: flags, internalDate: InternalDate(secondsSince1970: day * 86_400), size: size,
        blob: BlobID(hex: String(repeating: "a", count: 64))!)
}

@Suite struct MessageViewsTests {
    @Test(arguments: [
        (SectionSpecifier(), "From: Bob"),
        (SectionSpecifier(kind: .header), "From: Bob"),
        (SectionSpecifier(kind: .text), "Hello Alice,\r\nthe needle is here.\r\n"),
        (SectionSpecifier(kind: .headerFields(["subject"])), "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= from Bob\r\n\r\n"),
        (SectionSpecifier(part: [1]), "Hello Alice,"),
    ])
    func sections(section: SectionSpecifier, prefix: String) {
        var views = MessageViews(bytes: sample)
        let bytes = views.section(section)
        #expect(bytes.map { String(decoding: $0, as: UTF8.self).hasPrefix(prefix) } == true)
    }

    @Test func partialRanges() {
        #expect(MessageViews.apply(PartialRange(offset: 2, length: 3), to: Array("abcdefg".utf8)) == Array("cde".utf8))
        #expect(MessageViews.apply(PartialRange(offset: 10, length: 3), to: Array("abc".utf8)) == [])
        #expect(MessageViews.apply(PartialRange(offset: 1, length: 100), to: Array("abc".utf8)) == Array("bc".utf8))
    }

    @Test func envelopeAndStructureComeFromTheCacheWhenPresent() {
        var cached = MessageViews(bytes: sample, summary: MessageSummary(envelope: Array("(CACHED)".utf8)))
        #expect(cached.envelope() == Array("(CACHED)".utf8))
        var computed = MessageViews(bytes: sample)
        #expect(String(decoding: computed.envelope(), as: UTF8.self).contains("\"bob\" \"example.test\""))
        #expect(String(decoding: computed.bodyStructure(), as: UTF8.self).uppercased().hasPrefix("(\"TEXT\" \"PLAIN\""))
    }
}

@Suite struct SearchMatcherTests {
    static let seen = MessageFlags(system: .seen)

    static let table: [(SearchKey, Bool)] = [
        (SearchKey.all, true),
        (.seen, true), (.unseen, false), (.flagged, false), (.not(.flagged), true),
        (.subject("grüße"), true), (.subject("GRÜSSE FROM"), false), (.from("bob@example"), true), (.to("carol"), false),
        (.body("NEEDLE"), true), (.text("alice"), true), (.header("Date", "1994"), true), (.header("X-Missing", ""), false),
        (.sentOn(IMAPDate(year: 1994, month: 2, day: 7)), true), (.sentBefore(IMAPDate(year: 1994, month: 2, day: 7)), false),
        (.on(IMAPDate(year: 1970, month: 1, day: 2)), true), (.since(IMAPDate(year: 1970, month: 1, day: 3)), false),
        (.larger(99), true), (.smaller(100), false),
        (.uid(.ranges([SequenceRange(5)])), true), (.uid(.ranges([SequenceRange(7...9)])), false),
        // RFC 9051 §9: "*" is the largest UID in use, so 6:* still names UID 5.
        (.uid(.ranges([SequenceRange(.number(6), .last)])), true),
        (.sequenceNumbers(.ranges([SequenceRange(1)])), true),
        (.or(.flagged, .keyword(Flag("$Work"))), true), (.and([.seen, .unkeyword(Flag("$work"))]), false),
        (.modSeq(1), true), (.modSeq(2), false),
    ]

    @Test(arguments: table)
    func keys(key: SearchKey, expected: Bool) {
        let view = SelectedMailboxView(uidValidity: 1, messages: [.init(uid: 5, flags: [.seen])])
        var matcher = SearchMatcher(view: view, largestUID: 5)
        var flags = Self.seen
        flags.insertKeyword("$Work")
        var views: MessageViews? = SearchMatcher.needsContent(key) ? MessageViews(bytes: sample) : nil
        #expect(matcher.matches(key, record: record(uid: 5, flags: flags, day: 1), number: 1, views: &views) == expected)
    }

    /// The same keys answered from the cached search text alone (no blob): the same results.
    @Test(arguments: table)
    func keysFromTheCachedText(key: SearchKey, expected: Bool) throws {
        let view = SelectedMailboxView(uidValidity: 1, messages: [.init(uid: 5, flags: [.seen])])
        var matcher = SearchMatcher(view: view, largestUID: 5)
        var flags = Self.seen
        flags.insertKeyword("$Work")
        let text = MessageViews.summary(of: sample).searchText
        #expect(!text.isEmpty)
        let cached = try #require(CachedSearchText.decode(text))
        var views: MessageViews? = nil
        #expect(matcher.matches(key, record: record(uid: 5, flags: flags, day: 1), number: 1, cached: cached, views: &views) == expected)
    }
}

@Suite struct CachedSearchTextTests {
    @Test func roundTripsTheDecodedText() throws {
        var views = MessageViews(bytes: sample)
        let text = views.searchText()
        let decoded = try #require(CachedSearchText.decode(CachedSearchText.encode(text)))
        #expect(decoded.headerNames == text.headerNames && decoded.headerValues == text.headerValues && decoded.body == text.body)
        #expect(decoded.headerContains("Subject", "grüße"))
    }

    @Test(arguments: [
        "",  // nothing cached
        String(repeating: "x", count: CachedSearchText.maximumBytes),  // may be cut: use the blob
        "no header separator\nbody",  // not the cache's format
        "Subject: never ends",
    ])
    func fallsBackToTheBlob(_ cached: String) {
        #expect(CachedSearchText.decode(cached) == nil)
    }

    @Test func aValueWithALineBreakStaysOneField() throws {
        let decoded = try #require(CachedSearchText.decode("Subject: two\nlines\nTo: bob\n\nbody"))
        #expect(decoded.headerNames == ["Subject", "To"])
        #expect(decoded.header("Subject") == "two\nlines")
        #expect(decoded.body == "body")
    }
}


@Suite struct ConversionTests {
    @Test func internalDateRoundTrip() {
        let dateTime = IMAPDateTime(date: IMAPDate(year: 1994, month: 2, day: 7), hour: 21, minute: 52, second: 25, zoneMinutes: -480)
        let converted = Conversions.internalDate(dateTime)
        #expect(converted == InternalDate(secondsSince1970: 760_686_745, zoneOffsetMinutes: -480))
        #expect(converted.map(Conversions.dateTime) == dateTime)
    }

    @Test func flagsDropRecentAndKeepKeywords() {
        let flags = Conversions.messageFlags([.seen, .recent, Flag("$Label")])
        #expect(flags.system == .seen && flags.keywords == ["$Label"])
        #expect(Conversions.flags(flags) == [.seen, Flag("$label")])
    }
}

@Suite struct UserConnectionCounterTests {
    @Test func refusesBeyondTheLimitAndFreesOnRelease() {
        let counter = UserConnectionCounter()
        let alice = AccountID(1), bob = AccountID(2)
        #expect(counter.acquire(alice, limit: 2))
        #expect(counter.acquire(alice, limit: 2))
        #expect(!counter.acquire(alice, limit: 2))
        #expect(counter.acquire(bob, limit: 2))
        counter.release(alice)
        #expect(counter.acquire(alice, limit: 2))
    }
}

/// ESEARCH with MODSEQ (RFC 4731 §3.2): which messages' modseq is reported.
@Suite struct ESearchModSeqTests {
    static let results: [UInt32] = [2, 5, 9]
    static let modSeqs: [ModSeq] = [40, 70, 50]

    static let table: [([SearchReturnOption], UInt64)] = [
        ([.min], 40),
        ([.max], 50),
        ([.min, .max], 50),
        ([.all], 70),
        ([], 70),
        ([.count, .min], 70),
    ]

    @Test(arguments: table)
    func modSeqFollowsTheReturnedMessages(options: [SearchReturnOption], expected: UInt64) {
        let response = IMAPSession.esearch(Self.results, modSeqs: Self.modSeqs, options: options, tag: "a", uid: true)
        #expect(response.modSeq == expected)
    }

    @Test func noModSeqWithoutTheKeyOrWithoutResults() {
        #expect(IMAPSession.esearch(Self.results, modSeqs: nil, options: [.all], tag: "a", uid: false).modSeq == nil)
        let empty = IMAPSession.esearch([], modSeqs: [], options: [.min], tag: "a", uid: false)
        #expect(empty.modSeq == nil && empty.min == nil && empty.all == nil)
    }
}
