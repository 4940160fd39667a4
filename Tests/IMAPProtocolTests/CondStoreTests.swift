import NIOCore
import Testing
@testable import IMAPProtocol

/// CONDSTORE and QRESYNC (RFC 7162): the commands' new forms, their responses, and the session and view rules.
struct CondStoreTests {
    static let inbox = MailboxName.inbox
    static let one = SequenceSet.ranges([SequenceRange(1)])

    /// The examples of RFC 7162 (and a few more), as a client sends them, and what they mean.
    static let commands: [(String, IMAPCommand)] = [
        ("a1 ENABLE CONDSTORE QRESYNC\r\n", .enable(["CONDSTORE", "QRESYNC"])),
        ("a1 EXAMINE INBOX (CONDSTORE)\r\n", .examine(inbox, parameters: [.condStore])),
        ("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
         .select(inbox, parameters: [.qresync(QResyncParameters(
            uidValidity: 67890007, modSeq: 20050715194045000,
            knownUIDs: .ranges([SequenceRange(41), SequenceRange(43...211), SequenceRange(214...541)])))])),
        ("B02 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541 (1:15,23 152,160)))\r\n",
         .select(inbox, parameters: [.qresync(QResyncParameters(
            uidValidity: 67890007, modSeq: 90060115194045000,
            knownUIDs: .ranges([SequenceRange(41...211), SequenceRange(214...541)]),
            sequenceMatch: .init(sequenceNumbers: .ranges([SequenceRange(1...15), SequenceRange(23)]),
                                 uids: .ranges([SequenceRange(152), SequenceRange(160)]))))])),
        ("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
         .fetch(.all, [.flags], modifiers: FetchModifiers(changedSince: 12345), uid: true)),
        ("s101 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
         .fetch(.ranges([SequenceRange(300...500)]), [.flags], modifiers: FetchModifiers(changedSince: 12345, vanished: true), uid: true)),
        ("a1 FETCH 1 (UID MODSEQ)\r\n", .fetch(one, [.uid, .modSeq], uid: false)),
        ("a1 FETCH 1 FAST (changedsince 7)\r\n", .fetch(one, FetchAttribute.fastMacro, modifiers: FetchModifiers(changedSince: 7), uid: false)),
        ("d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n",
         .store(.ranges([SequenceRange(7), SequenceRange(5), SequenceRange(9)]),
                StoreFlags(.add, silent: true, flags: [.deleted], unchangedSince: 320162338), uid: false)),
        ("a1 UID STORE 2 (UNCHANGEDSINCE 0) -FLAGS ($Junk)\r\n",
         .store(.ranges([SequenceRange(2)]), StoreFlags(.remove, flags: [Flag("$Junk")], unchangedSince: 0), uid: true)),
        ("a1 STATUS INBOX (HIGHESTMODSEQ MESSAGES)\r\n", .status(inbox, [.highestModSeq, .messages])),
        ("a1 SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n", .search(SearchCommand(key: .modSeq(620162338)), uid: false)),
        ("a1 UID SEARCH RETURN (MAX) MODSEQ 5 UNSEEN\r\n",
         .search(SearchCommand(returnOptions: [.max], key: .and([.modSeq(5), .unseen])), uid: true)),
    ]

    @Test(arguments: commands)
    func parses(_ input: String, _ expected: IMAPCommand) {
        #expect(command(input) == expected)
    }

    @Test(arguments: commands.map(\.1))
    func roundTrips(_ expected: IMAPCommand) {
        var wire = IMAPCommandEncoder().encode(tag: "t", expected)
        var parser = IMAPCommandParser()
        #expect(parser.parseCommand(&wire) == .command(tag: "t", expected))
    }

    static let malformed: [String] = [
        "a1 UID FETCH 1 (FLAGS) (VANISHED)\r\n",  // VANISHED without CHANGEDSINCE
        "a1 FETCH 1 (FLAGS) (CHANGEDSINCE 0)\r\n",  // mod-sequence-value is positive
        "a1 FETCH 1 (FLAGS) (CHANGEDSINCE 5 CHANGEDSINCE 6)\r\n",
        "a1 FETCH 1 (FLAGS) (BOGUS)\r\n",
        "a1 STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)\r\n",
        "a1 STORE 1 (FOO 1) +FLAGS (\\Seen)\r\n",
        "a1 SELECT INBOX (QRESYNC (0 5))\r\n",  // uidvalidity is nz-number
        "a1 SELECT INBOX (QRESYNC (1))\r\n",
        "a1 SEARCH MODSEQ \"/other/x\" all 5\r\n",
        "a1 SEARCH MODSEQ \"/flags/\\\\seen\" some 5\r\n",
        "a1 STATUS INBOX (LOWESTMODSEQ)\r\n",
    ]

    @Test(arguments: malformed)
    func refusesMalformed(_ input: String) {
        #expect(syntaxError(input) != nil)
    }

    static let responses: [(IMAPResponse, String)] = [
        (.untagged(.vanished(earlier: true, .ranges([SequenceRange(41), SequenceRange(43...116)]))), "* VANISHED (EARLIER) 41,43:116\r\n"),
        (.untagged(.vanished(earlier: false, SequenceSet([405, 407, 408]))), "* VANISHED 405,407:408\r\n"),
        (.untagged(.fetch(4, [.uid(9), .flags([.seen]), .modSeq(12111230047)])), "* 4 FETCH (UID 9 FLAGS (\\Seen) MODSEQ (12111230047))\r\n"),
        (.untagged(.status(.ok, code: .noModSeq, text: "Sorry, this mailbox format doesn't support modsequences")),
         "* OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences\r\n"),
        (.tagged(tag: "d105", .ok, code: .modified(SequenceSet([7, 9])), text: "Conditional STORE failed"),
         "d105 OK [MODIFIED 7,9] Conditional STORE failed\r\n"),
        (.untagged(.search([2, 5, 6, 7, 11, 12, 18, 19, 20, 23], modSeq: 917162500)),
         "* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n"),
        (.untagged(.search([], modSeq: 917162500)), "* SEARCH\r\n"),
        (.untagged(.esearch(ESearchResponse(tag: "a", uid: true, max: 9, modSeq: 12))), "* ESEARCH (TAG \"a\") UID MAX 9 MODSEQ 12\r\n"),
        (.untagged(.mailboxStatus(inbox, [StatusValue(.highestModSeq, 7011231777)])), "* STATUS \"INBOX\" (HIGHESTMODSEQ 7011231777)\r\n"),
    ]

    @Test(arguments: responses)
    func encodes(_ response: IMAPResponse, _ wire: String) {
        #expect(IMAPResponseEncoder().encode(response).text == wire)
    }

    @Test func capabilitiesAndEnable() {
        var state = IMAPSessionState(isTLS: true)
        #expect(state.capabilities.contains("CONDSTORE") && state.capabilities.contains("QRESYNC"))
        state.authenticated()
        // ENABLE QRESYNC implies CONDSTORE (RFC 7162 §3.2.3) but only reports what was asked for.
        #expect(state.receive(tag: "a", .enable(["QRESYNC"])) == [
            .send(.untagged(.enabled(["QRESYNC"]))), .send(.tagged(tag: "a", .ok, text: "ENABLE completed")),
        ])
        #expect(state.qresyncEnabled && state.condStoreEnabled)
        let again = state.enableCondStore()
        #expect(!again)
    }

    @Test func condStoreEnablingCommandEnablesOnce() {
        var state = IMAPSessionState(isTLS: true)
        #expect(!state.condStoreEnabled)
        let first = state.enableCondStore()
        let second = state.enableCondStore()
        #expect(first && !second)
        #expect(state.condStoreEnabled && !state.qresyncEnabled)
    }

    @Test func unsolicitedFetchCarriesModSeqOnceEnabled() {
        var view = SelectedMailboxView(uidValidity: 1, messages: [.init(uid: 4), .init(uid: 9)], reportsRecent: false)
        view.apply(.flagsChanged(uid: 9, flags: [.flagged], modSeq: 30))
        #expect(view.pendingResponses(expungesAllowed: true) == [.fetch(2, [.uid(9), .flags([.flagged])])])
        view.reportsModSeq = true
        view.apply(.flagsChanged(uid: 4, flags: [.seen], modSeq: 31))
        #expect(view.pendingResponses(expungesAllowed: true) == [.fetch(1, [.uid(4), .flags([.seen]), .modSeq(31)])])
    }

    @Test func expungesBecomeOneVanishedOnceQResyncIsEnabled() {
        var view = SelectedMailboxView(uidValidity: 1, messages: (1...6).map { .init(uid: $0) }, reportsRecent: false)
        view.reportsVanished = true
        for uid: UInt32 in [2, 3, 5] { view.apply(.expunged(uid: uid)) }
        // Same timing rule as EXPUNGE: held back during FETCH, STORE and SEARCH.
        #expect(view.pendingResponses(expungesAllowed: false) == [])
        #expect(view.count == 6)
        #expect(view.pendingResponses(expungesAllowed: true) == [.vanished(earlier: false, .ranges([SequenceRange(2...3), SequenceRange(5)]))])
        #expect(view.uids == [1, 4, 6])
    }
}

/// UTF8=ACCEPT (RFC 6855): advertised, enable-able, and the APPEND utf8-literal.
struct UTF8AcceptTests {
    @Test func advertisedAndSwitchesToUTF8() {
        var state = IMAPSessionState(isTLS: true)
        #expect(state.capabilities.contains("UTF8=ACCEPT"))
        state.authenticated()
        _ = state.receive(tag: "a", .enable(["UTF8=ACCEPT"]))
        #expect(state.utf8Enabled && state.utf8AcceptEnabled && !state.imap4rev2Enabled)
    }

    @Test func appendUTF8Literal() {
        let data = ByteBuffer(string: "Subject: Grüße\r\n\r\nx\r\n")
        let expected = IMAPCommand.append(.inbox, [AppendMessage(flags: [.seen], data: data, isBinary: true, isUTF8: true)])
        #expect(command("a1 APPEND INBOX (\\Seen) UTF8 (~{\(data.readableBytes)+}\r\nSubject: Grüße\r\n\r\nx\r\n)\r\n") == expected)
        let wire = IMAPCommandEncoder().encode(tag: "t", expected)
        #expect(parseAll(wire.text) == .command(tag: "t", expected))
        #expect(syntaxError("a1 APPEND INBOX UTF8 ({3+}\r\nabc)\r\n") != nil, "utf8-literal takes a literal8")
    }
}
