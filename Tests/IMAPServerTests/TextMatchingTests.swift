@testable import IMAPServer
import IMAPProtocol
import MailStore
import MIME
import Testing

/// `SearchNeedle`: SEARCH's case-insensitive substring test answers as `SearchText.contains` does, fast path or not.
@Suite struct TextMatchingTests {
    static let table: [(String, String, Bool)] = [
        ("Hello World", "world", true),
        ("Hello World", "WORLD", true),
        ("Hello World", "o w", true),
        ("Hello World", "worlds", false),
        ("Hello", "", true),
        ("", "a", false),
        ("letterboxbench\r\nmail", "LETTERBOXBENCH", true),
        ("abababc", "ababc", true),  // a partial match first
        ("[brackets] and @#", "] AND @", true),
        ("Grüße from Bob", "GRÜSSE", false),  // as SearchText: lower-casing, not case folding
        ("Grüße from Bob", "grüße", true),
        ("Grüße from Bob", "from bob", true),  // ASCII needle, non-ASCII haystack
        ("\u{212A}elvin", "kelvin", true),  // KELVIN SIGN lower-cases to ASCII k
        ("naïve", "NAÏVE", true),
        ("mail to x@Y.test", "@y.T", true),  // a needle starting with a non-letter
        ("[L]etter", "l]", true),
        ("x[b", "{b", false),  // '[' and '{' differ by the case bit but are not letters
        ("x[b", "x{", false),
        ("@@@@", "@@@@@", false),
    ]

    /// The eight-bytes-at-a-time ASCII test, with a non-ASCII character at every position of texts up to 20 bytes.
    @Test func asciiTestAtEveryOffset() {
        for length in 0...20 {
            let ascii = String(repeating: "a", count: length)
            #expect(TextMatching.isASCII(ascii))
            for position in 0..<length {
                var characters = Array(ascii)
                characters[position] = "é"
                #expect(!TextMatching.isASCII(String(characters)), "length \(length), position \(position)")
            }
        }
    }

    @Test(arguments: table)
    func matchesAsSearchTextDoes(haystack: String, needle: String, expected: Bool) {
        #expect(SearchText.contains(haystack, needle) == expected, "the reference")
        #expect(SearchNeedle(needle).isFound(in: haystack) == expected)
        #expect(SearchNeedle(needle).isFound(in: haystack[...]) == expected)
    }

    @Test func thePrefilterNeverHidesAFieldMatch() throws {
        let raw = "Subject: Quarterly report\nFrom: Bob <bob@example.test>\n\nthe body"
        let text = try #require(CachedText(raw))
        #expect(text.isASCII)
        #expect(text.body == "the body")
        for needle in ["quarterly", "BOB@", "subject", "from: bob", "nothing here"] {
            let prepared = SearchNeedle(needle)
            let decoded = try #require(text.decoded())
            let inAField = decoded.headerValues.contains { SearchText.contains($0, needle) }
                || decoded.headerNames.contains { SearchText.contains($0, needle) }
            if inAField { #expect(prepared.mayBeFound(inCachedASCII: text.headerPart), "\(needle)") }
        }
        #expect(!SearchNeedle("nothing").mayBeFound(inCachedASCII: text.headerPart))
        #expect(!SearchNeedle("two\nlines").canPrefilter)
    }

    @Test(arguments: [
        ("", false),
        ("\nbody only", true),
        ("Subject: x\n\n", true),
        ("no separator\n\nbody", false),
        ("Subject: x\nbody without empty line", false),
        ("Subject: two\nlines\n\nbody", true),
    ])
    func usableCachedTexts(raw: String, usable: Bool) {
        #expect((CachedText(raw) != nil) == usable)
        #expect((CachedSearchText.decode(raw) != nil) == usable)
    }

    /// SEARCH from the raw cached text (decoded only on demand) gives what the decoded text gives.
    @Test(arguments: SearchMatcherTests.table)
    func keysFromTheRawCachedText(key: SearchKey, expected: Bool) throws {
        let view = SelectedMailboxView(uidValidity: 1, messages: [.init(uid: 5, flags: [.seen])])
        var matcher = SearchMatcher(view: view, largestUID: 5)
        var flags = SearchMatcherTests.seen
        flags.insertKeyword("$Work")
        let text = try #require(CachedText(MessageViews.summary(of: sample).searchText))
        var views: MessageViews? = nil
        let message = MessageState(record(uid: 5, flags: flags, day: 1))
        #expect(matcher.matches(key, record: message, number: 1, text: text, views: &views) == expected)
    }
}
