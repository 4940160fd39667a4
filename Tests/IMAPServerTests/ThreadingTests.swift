import IMAPProtocol
import NIOCore
import Testing
@testable import IMAPServer

/// RFC 5256 §2.1's base subject, and the THREAD response's nesting (RFC 5256 §4's examples).
@Suite struct ThreadingTests {
    @Test(arguments: [
        ("Re: Meeting", "meeting"), ("RE:  re: Meeting (fwd)", "meeting"), ("Fwd: [list] Re: Budget", "budget"),
        ("[list] Budget", "budget"), ("[Fwd: Budget]", "budget"), ("Re[2]: budget", "budget"), ("  multiple   spaces\there ", "multiple spaces here"),
        ("[only a blob]", "[only a blob]"), ("Reply later", "reply later"), ("", ""),
    ])
    func baseSubject(_ subject: String, _ expected: String) {
        #expect(Threading.baseSubject(subject) == expected)
    }

    @Test func threadResponsesNestAsTheRFCWritesThem() {
        let encoder = IMAPResponseEncoder(utf8Enabled: false)
        // RFC 5256 §4: (3 6 (4 23)(44 7 96)) — 3, then 6, whose children are 4 (→ 23) and 44 (→ 7 → 96).
        let thread = ThreadNode(3, children: [ThreadNode(6, children: [
            ThreadNode(4, children: [ThreadNode(23)]), ThreadNode(44, children: [ThreadNode(7, children: [ThreadNode(96)])]),
        ])])
        let response = IMAPResponse.untagged(.thread([ThreadNode(2), thread]))
        #expect(String(buffer: encoder.encode(response)) == "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n")
        // A placeholder root with two children: ((1)(2)).
        #expect(String(buffer: encoder.encode(.untagged(.thread([ThreadNode(nil, children: [ThreadNode(1), ThreadNode(2)])])))) == "* THREAD ((1)(2))\r\n")
        #expect(String(buffer: encoder.encode(.untagged(.thread([])))) == "* THREAD\r\n")
        #expect(String(buffer: encoder.encode(.untagged(.sort([2, 84, 882])))) == "* SORT 2 84 882\r\n")
    }
}
