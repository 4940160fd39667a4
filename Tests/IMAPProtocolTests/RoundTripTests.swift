import NIOCore
import Testing
@testable import IMAPProtocol

/// encode → parse gives back the same value, wherever both directions exist.
struct RoundTripTests {
    func roundTrip(_ command: IMAPCommand, utf8: Bool = false) -> IMAPCommandParseResult {
        var wire = IMAPCommandEncoder(utf8Enabled: utf8).encode(tag: "rt1", command)
        var parser = IMAPCommandParser(options: .init(utf8Enabled: utf8))
        while true {
            let result = parser.parseCommand(&wire)
            if case .needLiteral = result { continue }
            #expect(wire.readableBytes == 0)
            return result
        }
    }

    /// Found by Fuzz/FuzzIMAP: a date with a year before 1000 ("0226", which parses) was written as "226", which does
    /// not (date-year = 4DIGIT) — in APPEND and SEARCH, and in the server's INTERNALDATE.
    @Test func yearsBefore1000KeepFourDigits() {
        let date = IMAPDateTime(date: IMAPDate(year: 226, month: 12, day: 7), hour: 10, minute: 0, second: 0, zoneMinutes: 0)
        let command = IMAPCommand.append(.inbox, [AppendMessage(internalDate: date, data: ByteBuffer(string: "x"))])
        #expect(roundTrip(command) == .command(tag: "rt1", command))
        let search = IMAPCommand.search(SearchCommand(key: .since(IMAPDate(year: 7, month: 1, day: 2))), uid: false)
        #expect(roundTrip(search) == .command(tag: "rt1", search))
        #expect(IMAPResponseEncoder.dateTime(date) == "07-Dec-0226 10:00:00 +0000")
    }

    @Test(arguments: CommandParserTests.table.map(\.1))
    func everyTableCommandRoundTrips(_ command: IMAPCommand) {
        #expect(roundTrip(command) == .command(tag: "rt1", command))
    }

    @Test(arguments: SearchAndFetchParserTests.searchKeys.map(\.1))
    func everySearchKeyRoundTrips(_ key: SearchKey) {
        let command = IMAPCommand.search(SearchCommand(returnOptions: [.count], charset: "UTF-8", key: key), uid: true)
        #expect(roundTrip(command) == .command(tag: "rt1", command))
    }

    @Test(arguments: SearchAndFetchParserTests.fetchAttributes.map(\.1))
    func everyFetchAttributeRoundTrips(_ attribute: FetchAttribute) {
        let command = IMAPCommand.fetch(.ranges([SequenceRange(.number(7), .last)]), [.uid, attribute], uid: false)
        #expect(roundTrip(command) == .command(tag: "rt1", command))
    }

    static let awkward: [IMAPCommand] = [
        .login(username: "quote\"and\\slash", password: "pä$$ wörd"),
        .login(username: "line\r\nbreak", password: ""),
        .select(MailboxName("Entwürfe/日本語 & Co"), parameters: []),
        .rename(from: MailboxName("&"), to: MailboxName("~peter/台北")),
        .search(SearchCommand(charset: "UTF-8", key: .or(.subject("Grüße"), .header("X-Tag", "a\"b"))), uid: false),
        .append(MailboxName("Sent"), [
            AppendMessage(flags: [.seen, Flag("$Forwarded")],
                          internalDate: IMAPDateTime(date: IMAPDate(year: 2026, month: 11, day: 27), hour: 9, minute: 5, second: 0, zoneMinutes: 90),
                          data: ByteBuffer(string: "Subject: x\r\n\r\nbody\r\n")),
            AppendMessage(data: ByteBuffer(bytes: [0, 1, 2, 13, 10]), isBinary: true),
        ]),
        .id([IDParameter(key: "name", value: "client \"x\"")]),
        .list(ListCommand(selectionOptions: [.subscribed, .recursiveMatch, .remote], reference: "Archiv/Ü",
                          patterns: ["%", "INBOX*"], returnOptions: [.children, .status([.messages, .recent])])),
        .create(MailboxName("Müll"), specialUse: ["\\Trash"]),
        .store(SequenceSet([1, 2, 3, 10, 11, 20]), StoreFlags(.add, silent: true, flags: [Flag("$label1")]), uid: true),
    ]

    @Test(arguments: awkward)
    func awkwardCommandsRoundTrip(_ command: IMAPCommand) {
        #expect(roundTrip(command) == .command(tag: "rt1", command))
        #expect(roundTrip(command, utf8: true) == .command(tag: "rt1", command))
    }

    @Test(arguments: ["1", "1:5", "*", "1:*", "*:4", "1,3:5,9:*", "$"])
    func sequenceSetRoundTrips(_ text: String) throws {
        var reader = GrammarReader(buffer: ByteBuffer(string: text), limits: .init(), options: .init())
        let set = try reader.sequenceSet()
        #expect(reader.isAtEnd)
        #expect(IMAPResponseEncoder.sequenceSet(set) == text)
    }

    @Test func dateTimeRoundTrips() throws {
        let values = [
            IMAPDateTime(date: IMAPDate(year: 1994, month: 2, day: 7), hour: 21, minute: 52, second: 25, zoneMinutes: -480),
            IMAPDateTime(date: IMAPDate(year: 2026, month: 12, day: 31), hour: 0, minute: 0, second: 0, zoneMinutes: 330),
            IMAPDateTime(date: IMAPDate(year: 2000, month: 1, day: 1), hour: 23, minute: 59, second: 60, zoneMinutes: 0),
        ]
        for value in values {
            var reader = GrammarReader(buffer: ByteBuffer(string: "\"" + IMAPResponseEncoder.dateTime(value) + "\""), limits: .init(), options: .init())
            #expect(try reader.dateTime() == value)
        }
    }
}
