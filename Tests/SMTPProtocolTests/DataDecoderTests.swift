import NIOCore
import Testing

@testable import SMTPProtocol

/// Feeds `input` to a fresh decoder in pieces cut at `cuts`; returns the content, the outcome and the bytes left over.
private func decode(_ input: [UInt8], cuts: [Int] = [], limits: SMTPBodyLimits = SMTPBodyLimits()) -> ([UInt8], SMTPBodyOutcome?, [UInt8]) {
    var decoder = SMTPDataDecoder(limits: limits)
    var content: [UInt8] = []
    var outcome: SMTPBodyOutcome?
    var leftover: [UInt8] = []
    var start = 0
    for end in cuts + [input.count] where end >= start {
        var buffer = ByteBuffer(bytes: input[start..<end])
        start = end
        if outcome != nil {
            leftover += input[(end - buffer.readableBytes)..<end]
            continue
        }
        let output = decoder.decode(&buffer)
        if let piece = output.content { content += Array(piece.readableBytesView) }
        if let end = output.outcome { outcome = end }
        leftover += Array(buffer.readableBytesView)
    }
    return (content, outcome, leftover)
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct DataDecoderTests {
    static let cases: [(String, String, String, SMTPBodyOutcome?)] = [
        // (name, wire input, expected content, expected outcome) — content is compared only for complete bodies.
        ("simple", "Subject: x\r\n\r\nHello\r\n.\r\n", "Subject: x\r\n\r\nHello\r\n", .complete(size: 21)),
        ("empty message", ".\r\n", "", .complete(size: 0)),
        ("dot-stuffed line", "a\r\n..b\r\n.\r\n", "a\r\n.b\r\n", .complete(size: 7)),
        ("only a stuffed dot", "..\r\n.\r\n", ".\r\n", .complete(size: 3)),
        ("dot inside line kept", "a.b\r\n.x\r\n.\r\n", "a.b\r\nx\r\n", .complete(size: 8)),
        ("no terminator yet", "a\r\n.", "", nil),
        ("bare LF rejected", "a\nb\r\n.\r\n", "", .rejected(.bareLineEnding)),
        ("bare CR rejected", "a\rb\r\n.\r\n", "", .rejected(.bareLineEnding)),
        // Smuggling vectors: none of these ends the body; only the final <CRLF>.<CRLF> does.
        ("LF dot CRLF", "a\r\n\n.\r\nMAIL FROM:<x@y>\r\n.\r\n", "", .rejected(.bareLineEnding)),
        ("CR dot CRLF", "a\r.\r\nRCPT TO:<x@y>\r\n.\r\n", "", .rejected(.bareLineEnding)),
        ("LF dot LF", "a\n.\nDATA\r\n.\r\n", "", .rejected(.bareLineEnding)),
        ("CRLF dot LF", "a\r\n.\nQUIT\r\n.\r\n", "", .rejected(.bareLineEnding)),
        ("CRLF dot CR CRLF", "a\r\n.\r\r\n.\r\n", "", .rejected(.bareLineEnding)),
        ("CRLF dot CR x", "a\r\n.\rx\r\n.\r\n", "", .rejected(.bareLineEnding)),
    ]

    @Test(arguments: cases)
    func decodesAtEveryBoundary(name: String, input: String, content: String, outcome: SMTPBodyOutcome?) {
        let wire = bytes(input)
        for cut in 0...wire.count {
            let (decoded, end, leftover) = decode(wire, cuts: [cut])
            #expect(end == outcome, "\(name) split at \(cut)")
            if case .complete = outcome { #expect(decoded == bytes(content), "\(name) split at \(cut)") }
            #expect(leftover.isEmpty, "\(name) split at \(cut)")
        }
        // One byte at a time.
        let (decoded, end, _) = decode(wire, cuts: Array(0...wire.count))
        #expect(end == outcome)
        if case .complete = outcome { #expect(decoded == bytes(content)) }
    }

    @Test func stopsExactlyAtTerminator() {
        let wire = bytes("Hi\r\n.\r\nQUIT\r\n")
        for cut in 0...wire.count {
            let (content, outcome, leftover) = decode(wire, cuts: [cut])
            #expect(content == bytes("Hi\r\n"))
            #expect(outcome == .complete(size: 4))
            #expect(leftover == bytes("QUIT\r\n"), "split at \(cut)")
        }
    }

    @Test func smugglingLeavesNoSecondMessage() {
        // After the rejected body ends, the bytes left over are exactly what followed the real terminator.
        let wire = bytes("x\r\n\n.\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\nDATA\r\nforged\r\n.\r\nQUIT\r\n")
        for cut in 0...wire.count {
            let (_, outcome, leftover) = decode(wire, cuts: [cut])
            #expect(outcome == .rejected(.bareLineEnding))
            #expect(leftover == bytes("QUIT\r\n"), "split at \(cut)")
        }
    }

    @Test func sizeLimitKeepsReadingToTerminator() {
        let limits = SMTPBodyLimits(maximumMessageSize: 10)
        let wire = bytes("0123456789\r\nmore\r\n.\r\nNOOP\r\n")
        let (content, outcome, leftover) = decode(wire, cuts: [5, 13], limits: limits)
        #expect(outcome == .rejected(.tooLarge))
        #expect(leftover == bytes("NOOP\r\n"))
        #expect(content.count <= 10)
        // Exactly at the limit is fine.
        #expect(decode(bytes("01234567\r\n.\r\n"), limits: limits).1 == .complete(size: 10))
    }

    @Test func lineLimit() {
        let limits = SMTPBodyLimits(maximumLineLength: 10)
        #expect(decode(bytes("12345678\r\n.\r\n"), limits: limits).1 == .complete(size: 10))
        #expect(decode(bytes("123456789\r\n.\r\n"), limits: limits).1 == .rejected(.lineTooLong))
        // The stuffed dot does not count (RFC 5321 §4.5.3.1.6).
        #expect(decode(bytes("..2345678\r\n.\r\n"), limits: limits).1 == .complete(size: 10))
        // Default: 1000 including CRLF.
        #expect(decode(bytes(String(repeating: "a", count: 998) + "\r\n.\r\n")).1 == .complete(size: 1000))
        #expect(decode(bytes(String(repeating: "a", count: 999) + "\r\n.\r\n")).1 == .rejected(.lineTooLong))
    }

    @Test func bareLineEndingsCanBeAllowed() {
        let limits = SMTPBodyLimits(rejectBareLineEndings: false)
        let (content, outcome, _) = decode(bytes("a\nb\r\n\n.\r\n.\r\n"), limits: limits)
        #expect(outcome == .complete(size: 9))
        #expect(content == bytes("a\nb\r\n\n.\r\n"))  // even when allowed, "\n.\r\n" is not a terminator
    }

    @Test func memoryIsBounded() {
        // A large body streams out in pieces no larger than what went in.
        var decoder = SMTPDataDecoder()
        let line = bytes(String(repeating: "x", count: 98) + "\r\n")
        for _ in 0..<1000 {
            var buffer = ByteBuffer(bytes: line)
            let output = decoder.decode(&buffer)
            #expect((output.content?.readableBytes ?? 0) <= line.count)
            #expect(output.outcome == nil)
        }
        var end = ByteBuffer(bytes: bytes(".\r\n"))
        #expect(decoder.decode(&end).outcome == .complete(size: 100_000))
    }

    @Test func chunkChecker() {
        var checker = SMTPChunkChecker(limits: SMTPBodyLimits(maximumMessageSize: 100), isBinary: false)
        checker.scan(ByteBuffer(bytes: bytes("a\r")))
        checker.scan(ByteBuffer(bytes: bytes("\nb\r\n")))
        checker.finish()
        #expect(checker.rejection == nil)
        #expect(checker.size == 6)

        var bare = SMTPChunkChecker(limits: SMTPBodyLimits(), isBinary: false)
        bare.scan(ByteBuffer(bytes: bytes("a\r")))
        bare.finish()
        #expect(bare.rejection == .bareLineEnding)

        var binary = SMTPChunkChecker(limits: SMTPBodyLimits(), isBinary: true)
        binary.scan(ByteBuffer(bytes: [0, 10, 13, 255]))
        binary.finish()
        #expect(binary.rejection == nil)

        var big = SMTPChunkChecker(limits: SMTPBodyLimits(maximumMessageSize: 100), isBinary: false)
        big.announce(101)
        #expect(big.rejection == .tooLarge)
    }
}
