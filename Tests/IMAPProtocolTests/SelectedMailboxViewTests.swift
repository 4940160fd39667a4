import Testing
@testable import IMAPProtocol

/// The selected-mailbox view: sequence numbers, deferral of EXPUNGE, and what two sessions on one mailbox see.
struct SelectedMailboxViewTests {
    typealias View = SelectedMailboxView

    static func view(uids: ClosedRange<UInt32>, recent: Set<UInt32> = [], rev1: Bool = true) -> View {
        View(uidValidity: 42, messages: uids.map { View.Message(uid: $0, flags: [], isRecent: recent.contains($0)) }, reportsRecent: rev1)
    }

    /// Both sessions receive every change the store publishes.
    static func publish(_ change: View.Change, to views: inout [View]) {
        for index in views.indices { views[index].apply(change) }
    }

    @Test func twoSessionsSeeEachOthersChangesWithExpungeDeferredDuringFetch() throws {
        var views = [Self.view(uids: 1...5), Self.view(uids: 1...5)]  // A = 0, B = 1

        // C: A1 STORE 2 +FLAGS (\Deleted)  — A reports the new flags in its own STORE response.
        Self.publish(.flagsChanged(uid: 2, flags: [.deleted]), to: &views)
        views[0].noteFlagsSent(uid: 2, flags: [.deleted])
        #expect(views[0].pendingResponses(expungesAllowed: false) == [])
        // C: B1 NOOP  →  S: * 2 FETCH (UID 2 FLAGS (\Deleted))
        #expect(views[1].pendingResponses(expungesAllowed: true) == [.fetch(2, [.uid(2), .flags([.deleted])])])

        // C: A2 EXPUNGE  →  S: * 2 EXPUNGE
        Self.publish(.expunged(uid: 2), to: &views)
        #expect(views[0].pendingResponses(expungesAllowed: View.expungesAllowed(during: .expunge)) == [.expunge(2)])
        #expect(views[0].count == 4)
        #expect(views[0].uid(forSequenceNumber: 2) == 3)

        // C: B2 FETCH 1:* FLAGS — no EXPUNGE may be sent; B still numbers UID 2 as message 2.
        let fetch = IMAPCommand.fetch(.all, [.flags], uid: false)
        #expect(!View.expungesAllowed(during: fetch))
        #expect(views[1].pendingResponses(expungesAllowed: false) == [])
        #expect(views[1].count == 5)
        #expect(views[1].uid(forSequenceNumber: 2) == 2)
        #expect(views[1].isExpungePending(uid: 2))
        #expect(try views[1].resolve(.all, isUID: false) == [1, 2, 3, 4, 5])

        // Delivery adds UID 6 while B's FETCH is still running: EXISTS counts the ghost, RECENT follows (rev1).
        Self.publish(.appended(View.Message(uid: 6, flags: [], isRecent: false)), to: &views)
        #expect(views[1].pendingResponses(expungesAllowed: false) == [.exists(6), .recent(0)])
        #expect(views[0].pendingResponses(expungesAllowed: true) == [.exists(5), .recent(0)])

        // C: B3 NOOP  →  S: * 2 EXPUNGE ; now both agree.
        #expect(views[1].pendingResponses(expungesAllowed: View.expungesAllowed(during: .noop)) == [.expunge(2)])
        #expect(views[0].uids == views[1].uids)
        #expect(views[1].uids == [1, 3, 4, 5, 6])
        #expect(views[1].sequenceNumber(forUID: 6) == 5)
    }

    @Test func expungeIsHeldDuringStoreAndSearchButNotDuringUIDCommands() {
        let held: [IMAPCommand] = [
            .fetch(.all, [.flags], uid: false),
            .store(.all, StoreFlags(.add, flags: [.seen]), uid: false),
            .search(SearchCommand(key: .all), uid: false),
        ]
        let allowed: [IMAPCommand] = [
            .fetch(.all, [.flags], uid: true), .store(.all, StoreFlags(.add, flags: [.seen]), uid: true),
            .search(SearchCommand(key: .all), uid: true), .noop, .idle, .check, .expunge, .uidExpunge(.all),
            .copy(.all, .inbox, uid: false), .move(.all, .inbox, uid: false), .close, .select(.inbox, parameters: []),
        ]
        for command in held { #expect(!View.expungesAllowed(during: command), "\(command)") }
        for command in allowed { #expect(View.expungesAllowed(during: command), "\(command)") }

        var view = Self.view(uids: 1...3)
        view.apply(.expunged(uid: 1))
        view.apply(.flagsChanged(uid: 3, flags: [.seen]))
        // STORE (non-UID) may still report flag changes, but not the expunge.
        #expect(view.pendingResponses(expungesAllowed: false) == [.fetch(3, [.uid(3), .flags([.seen])])])
        #expect(view.hasPendingChanges)
        #expect(view.pendingResponses(expungesAllowed: true) == [.expunge(1)])
        #expect(!view.hasPendingChanges)
    }

    @Test func severalExpungesAreNumberedAsTheClientSeesThem() {
        var view = Self.view(uids: 1...10)
        for uid: UInt32 in [7, 3, 4, 10] { view.apply(.expunged(uid: uid)) }
        // After "3 EXPUNGE" the old 4 is the new 3; old 7 is then 5; old 10 is then 7.
        #expect(view.pendingResponses(expungesAllowed: true) == [.expunge(3), .expunge(3), .expunge(5), .expunge(7)])
        #expect(view.uids == [1, 2, 5, 6, 8, 9])
    }

    @Test func messageAddedAndRemovedBeforeAnnouncementIsNeverSeen() {
        var view = Self.view(uids: 1...2)
        view.apply(.appended(View.Message(uid: 3)))
        view.apply(.flagsChanged(uid: 3, flags: [.seen]))
        view.apply(.expunged(uid: 3))
        #expect(view.pendingResponses(expungesAllowed: true) == [])
        #expect(view.count == 2)
    }

    @Test func flagChangesOnPendingMessagesRideAlongWithExists() {
        var view = Self.view(uids: 1...2, rev1: false)
        view.apply(.appended(View.Message(uid: 5, flags: [])))
        view.apply(.flagsChanged(uid: 5, flags: [.flagged]))
        #expect(view.pendingResponses(expungesAllowed: true) == [.exists(3)])
        #expect(view.flags(uid: 5) == [.flagged])
    }

    @Test func flagChangesForExpungedMessagesAreDropped() {
        var view = Self.view(uids: 1...2)
        view.apply(.expunged(uid: 2))
        view.apply(.flagsChanged(uid: 2, flags: [.seen]))
        #expect(view.pendingResponses(expungesAllowed: false) == [])
        #expect(view.pendingResponses(expungesAllowed: true) == [.expunge(2)])
    }

    @Test func unchangedFlagsAreNotReported() {
        var view = View(uidValidity: 1, messages: [View.Message(uid: 1, flags: [.seen])])
        view.apply(.flagsChanged(uid: 1, flags: [.seen]))
        #expect(view.pendingResponses(expungesAllowed: true) == [])
        view.noteKeywordsAnnounced([Flag("$Important")])
        view.apply(.flagsChanged(uid: 1, flags: [.seen, Flag("$Important"), .answered]))
        #expect(view.pendingResponses(expungesAllowed: true) == [.fetch(1, [.uid(1), .flags([.answered, .seen, Flag("$Important")])])])
    }

    /// RFC 3501 §7.2.6: a keyword new to the mailbox comes in FLAGS and PERMANENTFLAGS before the first FETCH with it.
    @Test func newKeywordsAreAnnouncedBeforeTheFetchThatCarriesThem() {
        let system: [Flag] = [.answered, .flagged, .deleted, .seen, .draft]
        var views = [Self.view(uids: 1...2), Self.view(uids: 1...2)]  // A = 0 (SELECT), B = 1 (EXAMINE)
        views[1].isReadOnly = true
        for index in views.indices { views[index].noteKeywordsAnnounced([Flag("$Old")]) }

        // C: A1 STORE 1 +FLAGS ($Label1)  →  S: * FLAGS (… $Label1) / * OK [PERMANENTFLAGS (…)] / * 1 FETCH (FLAGS ($Label1))
        Self.publish(.flagsChanged(uid: 1, flags: [Flag("$Label1")]), to: &views)
        let listed = system + [Flag("$Label1"), Flag("$Old")]
        #expect(views[0].keywordAnnouncement(for: [Flag("$Label1")]) == [
            .flags(listed), .status(.ok, code: .permanentFlags(listed, allowsNewKeywords: true), text: "flags permitted"),
        ])
        views[0].noteFlagsSent(uid: 1, flags: [Flag("$Label1")])
        #expect(views[0].keywordAnnouncement(for: [Flag("$label1"), .seen]) == [])  // once only, case-insensitively
        #expect(views[0].pendingResponses(expungesAllowed: true) == [])

        // C: B1 NOOP  →  S: * FLAGS (…) / * OK [PERMANENTFLAGS ()] / * 1 FETCH (UID 1 FLAGS ($Label1))
        #expect(views[1].pendingResponses(expungesAllowed: true) == [
            .flags(listed), .status(.ok, code: .permanentFlags([], allowsNewKeywords: false), text: "no permanent flags permitted"),
            .fetch(1, [.uid(1), .flags([Flag("$Label1")])]),
        ])

        // A new message with a new keyword: FLAGS comes before EXISTS.
        Self.publish(.appended(View.Message(uid: 3, flags: [Flag("Junk")])), to: &views)
        let announced = views[1].pendingResponses(expungesAllowed: true)
        #expect(announced.first == .flags(system + [Flag("$Label1"), Flag("$Old"), Flag("Junk")]))
        #expect(announced.suffix(2) == [.exists(3), .recent(0)])
    }

    @Test func duplicateAndStaleFeedEventsAreIgnored() {
        var view = Self.view(uids: 1...3)
        view.apply(.appended(View.Message(uid: 2)))
        view.apply(.appended(View.Message(uid: 4)))
        view.apply(.appended(View.Message(uid: 4)))
        view.apply(.flagsChanged(uid: 99, flags: [.seen]))
        view.apply(.expunged(uid: 99))
        #expect(view.pendingResponses(expungesAllowed: true) == [.exists(4), .recent(0)])
    }

    @Test func recentIsReportedInRev1Only() {
        var rev1 = Self.view(uids: 1...3, recent: [3])
        #expect(rev1.selectResponses == [.exists(3), .recent(1)])
        #expect(rev1.flags(uid: 3) == [.recent])
        rev1.apply(.appended(View.Message(uid: 4, isRecent: true)))
        rev1.apply(.flagsChanged(uid: 3, flags: [.seen]))
        #expect(rev1.pendingResponses(expungesAllowed: true) == [.exists(4), .recent(2), .fetch(3, [.uid(3), .flags([.seen, .recent])])])
        rev1.apply(.expunged(uid: 4))
        _ = rev1.pendingResponses(expungesAllowed: true)
        #expect(rev1.recentCount == 1)

        var rev2 = Self.view(uids: 1...3, recent: [3], rev1: false)
        #expect(rev2.selectResponses == [.exists(3)])
        #expect(rev2.flags(uid: 3) == [])
        rev2.apply(.appended(View.Message(uid: 4, isRecent: true)))
        #expect(rev2.pendingResponses(expungesAllowed: true) == [.exists(4)])
    }

    @Test func resolvesSequenceSets() throws {
        var view = View(uidValidity: 1, messages: [10, 20, 30, 40].map { View.Message(uid: $0) })
        #expect(try view.resolve(.ranges([SequenceRange(2...3)]), isUID: false) == [20, 30])
        #expect(try view.resolve(.ranges([SequenceRange(.last, .number(3))]), isUID: false) == [30, 40])
        #expect(try view.resolve(.ranges([SequenceRange(.last, .last)]), isUID: false) == [40])
        #expect(throws: View.SetError.invalidSequenceNumber) { try view.resolve(.ranges([SequenceRange(5)]), isUID: false) }
        #expect(try view.resolve(.ranges([SequenceRange(15...35)]), isUID: true) == [20, 30])
        #expect(try view.resolve(.ranges([SequenceRange(.number(25), .last)]), isUID: true) == [30, 40])
        // UID 100:* includes the largest UID even though 100 is beyond it (RFC 9051 §6.4.8).
        #expect(try view.resolve(.ranges([SequenceRange(.number(100), .last)]), isUID: true) == [40])
        #expect(try view.resolve(.ranges([SequenceRange(50...60)]), isUID: true) == [])
        view.savedSearchResult = [40, 10]
        #expect(try view.resolve(.lastCommand, isUID: true) == [10, 40])
        view.apply(.expunged(uid: 10))
        _ = view.pendingResponses(expungesAllowed: true)
        #expect(try view.resolve(.lastCommand, isUID: false) == [40])
        let empty = View(uidValidity: 1, messages: [])
        #expect(throws: View.SetError.invalidSequenceNumber) { try empty.resolve(.all, isUID: false) }
        #expect(try empty.resolve(.all, isUID: true) == [])
    }

    @Test func sequenceNumberLookupMatchesLinearSearch() {
        let uids: [UInt32] = [3, 5, 8, 13, 21, 34, 55, 89]
        let view = View(uidValidity: 1, messages: uids.map { View.Message(uid: $0) })
        for uid in UInt32(0)...100 {
            #expect(view.sequenceNumber(forUID: uid) == uids.firstIndex(of: uid).map { $0 + 1 })
        }
        #expect(view.uid(forSequenceNumber: 0) == nil)
        #expect(view.uid(forSequenceNumber: 8) == 89)
        #expect(view.uid(forSequenceNumber: 9) == nil)
    }
}
