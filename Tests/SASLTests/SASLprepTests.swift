import Testing
@testable import SASL

/// A string of one scalar, for code points Swift refuses in literals.
func scalar(_ value: UInt32) -> String { String(Character(Unicode.Scalar(value)!)) }

@Suite("SASLprep (RFC 4013)")
struct SASLprepTests {
    /// RFC 4013 §3, the examples, then our own cases for each step.
    @Test("prepares", arguments: [
        ("I\u{00AD}X", "IX"),  // SOFT HYPHEN mapped to nothing
        ("user", "user"),  // no transformation
        ("USER", "USER"),  // case preserved
        ("\u{00AA}", "a"),  // output is NFKC, input in ISO 8859-1
        ("\u{2168}", "IX"),  // output is NFKC, will match 1st example
        ("pass\u{00A0}word", "pass word"),  // C.1.2 → SPACE
        ("pass\u{3000}word", "pass word"),
        ("a\u{200B}b", "a b"),  // in both C.1.2 and B.1: C.1.2 wins
        ("a\u{FEFF}b\u{200D}c", "abc"),  // B.1
        ("\u{FF55}\u{FF53}\u{FF45}\u{FF52}", "user"),  // fullwidth
        ("e\u{0301}", "\u{00E9}"),  // NFC composition
        ("\u{FB01}ne", "fine"),  // ligature
        ("\u{0627}\u{0628}", "\u{0627}\u{0628}"),  // right-to-left only is fine
        ("", ""),
    ])
    func prepares(_ input: String, _ expected: String) throws {
        let output = try SASLprep.prepare(input)
        #expect(Array(output.unicodeScalars) == Array(expected.unicodeScalars))
    }

    @Test("refuses", arguments: [
        ("\u{0007}", SASLprepError.prohibitedCharacter(0x07)),  // RFC 4013 §3: prohibited character
        ("\u{0627}\u{0031}", .bidirectionalRuleViolated),  // RFC 4013 §3: bidi check
        ("a\u{0627}", .bidirectionalRuleViolated),
        ("a\0b", .prohibitedCharacter(0)),
        ("a\u{007F}", .prohibitedCharacter(0x7F)),
        ("a\u{0085}", .prohibitedCharacter(0x85)),
        ("a\u{E000}", .prohibitedCharacter(0xE000)),  // private use
        ("a" + scalar(0xFDD0), .prohibitedCharacter(0xFDD0)),  // non-character (not allowed in a literal)
        ("a" + scalar(0x1FFFE), .prohibitedCharacter(0x1FFFE)),
        ("a\u{202E}", .prohibitedCharacter(0x202E)),  // display property
        ("a\u{E0041}", .prohibitedCharacter(0xE0041)),  // tag
        ("a\u{2FF0}", .prohibitedCharacter(0x2FF0)),
    ])
    func refuses(_ input: String, _ expected: SASLprepError) {
        #expect(throws: expected) { try SASLprep.prepare(input) }
    }

    @Test("unassigned code points: allowed in queries, refused in stored strings")
    func unassigned() throws {
        #expect(try SASLprep.prepare("a\u{0378}", usage: .query) == "a\u{0378}")
        #expect(throws: SASLprepError.unassignedCodePoint(0x378)) { try SASLprep.prepare("a\u{0378}", usage: .stored) }
    }
}
