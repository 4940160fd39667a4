import Testing
import MailCore
@testable import MIME

/// Build → parse → same tree; parse never crashes on mutated fixtures; search text and builder behaviour.
struct PropertyTests {
    /// A tiny deterministic generator so failures reproduce.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func randomBody(_ rng: inout SplitMix, depth: Int) -> MessageBuilder.Body {
        switch (depth > 2 ? 0 : Int.random(in: 0..<5, using: &rng)) {
        case 0: return .text("line \(rng.next() % 1000)\nnäive --boundary-like\n", subtype: "plain")
        case 1: return .attachment((0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) },
                                   contentType: "application/octet-stream", fileName: "f\(rng.next() % 100).bin")
        case 2: return .message(MessageBuilder(body: randomBody(&rng, depth: depth + 1)).build())
        default:
            let n = Int.random(in: 1...4, using: &rng)
            return .multipart(subtype: ["mixed", "alternative", "related"][Int(rng.next() % 3)],
                              parts: (0..<n).map { _ in randomBody(&rng, depth: depth + 1) })
        }
    }

    /// A shape summary of a builder body and of a parsed part, to compare trees.
    static func shape(_ body: MessageBuilder.Body) -> String {
        switch body {
        case .text(_, let subtype): "text/\(subtype)"
        case .attachment(_, let type, _): type
        case .part(_, let inner): shape(inner)
        case .multipart(let subtype, let parts, _): "multipart/\(subtype)[" + parts.map(shape).joined(separator: ",") + "]"
        case .message(let bytes): "message/rfc822{" + shape(Message.parse(bytes).root) + "}"
        case .raw(let type, _): type
        }
    }

    static func shape(_ part: MessagePart) -> String {
        switch part.kind {
        case .single: part.contentType.mimeType
        case .multipart: part.contentType.mimeType + "[" + part.children.map(shape).joined(separator: ",") + "]"
        case .message: part.contentType.mimeType + "{" + shape(part.children[0]) + "}"
        }
    }

    @Test func buildThenParseGivesSameTree() {
        var rng = SplitMix(state: 42)
        for _ in 0..<200 {
            let body = Self.randomBody(&rng, depth: 0)
            var builder = MessageBuilder(body: body)
            builder.add("Subject", "Prüfung \(rng.next() % 1000)")
            let message = Message.parse(builder.build())
            #expect(Self.shape(message.root) == Self.shape(body))
            #expect(message.searchText.header("subject").hasPrefix("Prüfung"))
        }
    }

    @Test func attachmentsSurviveBinaryDecoding() {
        let payload = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let bytes = MessageBuilder(body: .multipart(subtype: "mixed", parts: [.text("hi"), .attachment(payload, contentType: "image/png", fileName: "ä.png")])).build()
        let m = Message.parse(bytes)
        #expect(m.binary([2]) == payload)
        #expect(m.binarySize([2]) == 1000)
        #expect(m.root.children[1].fileName == "ä.png")
    }

    @Test func foldingKeepsLinesShort() {
        var b = MessageBuilder()
        b.add("Subject", String(repeating: "word ", count: 60))
        b.add("To", addresses: (0..<10).map { MailboxAddress(displayName: "Persön \($0)", localPart: "p\($0)", domain: "example.com") })
        let bytes = b.build()
        let header = Message.parse(bytes).header
        for line in String(decoding: bytes[header.range], as: UTF8.self).split(separator: "\r\n") { #expect(line.utf8.count <= 78) }
        let to = AddressParser.parseList(header.value("To")!).mailboxes
        #expect(to.count == 10)
        #expect(EncodedWords.decode(to[3].displayName!) == "Persön 3")
    }

    @Test func mutatedInputNeverCrashes() {
        var rng = SplitMix(state: 7)
        let seeds = [sampleMultipart, crlf("Content-Type: message/rfc822", "", "Subject: x", "Content-Type: multipart/mixed; boundary=a", "", "--a", "", "x", "--a--")]
        let alphabet = Array("-\r\n:;=\"?<>@()\\ abB".utf8) + [0x00, 0xFF]
        for _ in 0..<1500 {
            var bytes = seeds[Int(rng.next() % UInt64(seeds.count))]
            for _ in 0..<Int.random(in: 1...12, using: &rng) where !bytes.isEmpty {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch rng.next() % 4 {
                case 0: bytes[i] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: i)
                case 2: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: i)
                default: bytes.removeSubrange(i..<min(bytes.count, i + Int(rng.next() % 40)))
                }
            }
            let m = Message.parse(bytes)
            _ = m.envelope.wireBytes
            _ = m.bodyStructure().wireBytes(extensible: true)
            _ = m.searchText
            for path in [[], [1], [2], [2, 1], [1, 1], [3]] {
                _ = m.section(SectionSpecifier(part: path, text: path.isEmpty ? .header : .mime))
                _ = m.binary(path)
            }
        }
    }

    @Test func searchTextDecodesHeadersAndBodies() {
        let s = Message.parse(sampleMultipart).searchText
        #expect(s.headerContains("subject", "GRÜSSE") == false)   // ß does not fold to SS with lowercased()
        #expect(s.headerContains("subject", "grüße"))
        #expect(s.headerContains("from", "alice"))
        #expect(s.bodyContains("ÉTÉ"))
        #expect(s.bodyContains("<P>HTML"))
        #expect(!s.bodyContains("JVBERi0"))                       // attachments are not text
        #expect(s.textContains("example.org"))
    }

    /// Nothing is hidden from SEARCH: text beyond the parser's depth bound is searched raw, and a NUL byte is a space.
    @Test func searchTextReachesBeyondTheDepthBoundAndPastNUL() {
        var nested = crlf("Subject: innermost", "", "the needle is here", "")
        for _ in 0..<1_000 { nested = crlf("Content-Type: message/rfc822", "") + nested }
        let deep = Message.parse(nested)
        #expect(deep.searchText.bodyContains("needle is here"))
        var parts = crlf("Content-Type: text/plain", "", "multipart needle", "")
        for i in 0..<200 {
            parts = crlf("Content-Type: multipart/mixed; boundary=b\(i)", "", "--b\(i)") + parts + crlf("--b\(i)--", "")
        }
        #expect(Message.parse(parts).searchText.bodyContains("multipart needle"))
        let nul = Message.parse(crlf("Subject: a\u{0}b", "", "before") + [0] + crlf(" after the NUL", ""))
        #expect(nul.searchText.bodyContains("after the NUL") && !nul.searchText.body.utf8.contains(0))
        #expect(nul.searchText.headerContains("Subject", "a b"))
    }
}
