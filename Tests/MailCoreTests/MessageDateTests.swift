import Testing
@testable import MailCore

struct MessageDateTests {
    /// (input, expected seconds since epoch, expected offset minutes)
    static let rfc5322: [(String, Int64, Int)] = [
        ("Fri, 21 Nov 1997 09:55:06 -0600", 880_127_706, -360),
        ("21 Nov 1997 09:55:06 -0600", 880_127_706, -360),
        ("Fri, 21 Nov 97 09:55:06 CST", 880_127_706, -360),                 // obs-year, obs-zone
        ("Fri, 21 Nov 1997 15:55:06 GMT", 880_127_706, 0),
        ("Fri, 21 Nov 1997 09:55 -0600", 880_127_706 - 6, -360),           // no seconds
        ("Fri, 21 Nov 1997 09:55:06 -0600 (CST)", 880_127_706, -360),      // trailing comment
        ("Thu, 1 Jan 1970 00:00:00 +0000", 0, 0),
        ("Tue,  3 Jan 2023 10:00:00 Z", 1_672_740_000, 0),                 // military zone
        ("Mon, 2 Jan 06 15:04:05 EST", 1_136_232_245, -300),
    ]

    @Test(arguments: rfc5322)
    func parsesRFC5322(text: String, seconds: Int64, offset: Int) throws {
        let d = try #require(MessageDate(rfc5322: text))
        #expect(d.secondsSinceEpoch == seconds)
        #expect(d.utcOffsetMinutes == offset)
    }

    @Test(arguments: ["", "yesterday", "32 Jan 2020 10:00:00 +0000", "Fri, 21 Nov 1997"])
    func rejectsNonDates(text: String) {
        #expect(MessageDate(rfc5322: text) == nil)
    }

    @Test func formats() throws {
        let d = try #require(MessageDate(rfc5322: "Fri, 21 Nov 1997 09:55:06 -0600"))
        #expect(d.rfc5322 == "Fri, 21 Nov 1997 09:55:06 -0600")
        #expect(d.imapDateTime == "21-Nov-1997 09:55:06 -0600")
        let e = try #require(MessageDate(year: 1996, month: 7, day: 7, hour: 2, minute: 44, second: 25, utcOffsetMinutes: -420))
        #expect(e.imapDateTime == " 7-Jul-1996 02:44:25 -0700")
        #expect(e.imapDate == "7-Jul-1996")
    }

    @Test func imapRoundTrip() throws {
        for text in ["17-Jul-1996 02:44:25 -0700", " 7-Jul-1996 02:44:25 +0000", "\"01-Jan-2000 00:00:00 +1400\""] {
            let d = try #require(MessageDate(imapDateTime: text))
            #expect(MessageDate(imapDateTime: d.imapDateTime) == d)
        }
        #expect(MessageDate(imapDateTime: "17-Jul-1996 02:44:25") == nil)
        #expect(MessageDate(imapDate: "1-Feb-1994")?.imapDate == "1-Feb-1994")
        #expect(MessageDate(imapDate: "1-Fbr-1994") == nil)
    }

    @Test func civilArithmeticRoundTrips() {
        for days in stride(from: -800_000, through: 800_000, by: 997) {
            let (y, m, d) = MessageDate.civilFromDays(days)
            #expect(MessageDate.daysFromCivil(year: y, month: m, day: d) == days)
        }
    }
}
