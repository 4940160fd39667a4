import Testing
@testable import MailCore

/// RFC 3492 §7.1 sample strings and IDN domain conversion.
struct PunycodeTests {
    static let samples: [(String, String)] = [
        ("bücher", "bcher-kva"),
        ("münchen", "mnchen-3ya"),
        ("他们为什么不说中文", "ihqwcrb4cv8a8dqg056pqjye"),
        ("-> $1.00 <-", "-> $1.00 <--"),
    ]

    @Test(arguments: samples)
    func encodesAndDecodes(unicode: String, ascii: String) {
        #expect(Punycode.encode(unicode) == ascii)
        #expect(Punycode.decode(ascii) == unicode)
    }

    @Test func domains() {
        #expect(Punycode.asciiDomain("Bücher.Example") == "xn--bcher-kva.example")
        #expect(Punycode.unicodeDomain("xn--bcher-kva.example") == "bücher.example")
        #expect(Punycode.unicodeDomain("xn--!!!.example") == "xn--!!!.example")
    }

    @Test func rejectsGarbage() {
        #expect(Punycode.decode("ü") == nil)
        #expect(Punycode.decode("99999999999999") == nil)
    }
}
