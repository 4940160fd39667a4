import NIOCore
import Testing
@testable import IMAPProtocol

/// The incremental parser: commands arriving in pieces, literals, limits and recovery.
struct LiteralFramingTests {
    /// Feeds `input` in two pieces split at `split`, recording every result until the command completes.
    static func feed(_ input: [UInt8], splitAt split: Int, parser: inout IMAPCommandParser) -> [IMAPCommandParseResult] {
        var buffer = ByteBuffer()
        var results: [IMAPCommandParseResult] = []
        for chunk in [input[..<split], input[split...]] where !chunk.isEmpty {
            buffer.writeBytes(chunk)
            while true {
                let result = parser.parseCommand(&buffer)
                results.append(result)
                if case .needLiteral = result { continue }
                break
            }
        }
        return results
    }

    static let commands = [
        "a1 LOGIN {3}\r\nbob {6}\r\nsecret\r\n",
        "a2 APPEND INBOX (\\Seen) {12+}\r\nline1\r\nline2 ~{3}\r\nx\r\n\r\n",
        "a3 SEARCH SUBJECT {5}\r\n{2}\r\n TEXT \"{3}\"\r\n",
        "a4 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From)])\r\n",
    ]

    @Test(arguments: commands)
    func everySplitGivesTheSameCommand(_ text: String) {
        let input = Array(text.utf8)
        let expected = parseAll(text)
        guard case .command = expected else { Issue.record("\(expected)"); return }
        for split in 0...input.count {
            var parser = IMAPCommandParser()
            let results = Self.feed(input, splitAt: split, parser: &parser)
            #expect(results.last == expected, "split at \(split)")
            // Only the final result is a command; nothing before it.
            #expect(results.dropLast().allSatisfy { if case .command = $0 { false } else { true } })
        }
    }

    @Test func literalsSplitAtEveryByteAnnounceEachLiteralOnce() {
        let input = Array("a1 LOGIN {3}\r\nbob {6}\r\nsecret\r\n".utf8)
        var parser = IMAPCommandParser()
        var buffer = ByteBuffer()
        var results: [IMAPCommandParseResult] = []
        for byte in input {
            buffer.writeInteger(byte)
            var result = parser.parseCommand(&buffer)
            while case .needLiteral = result {
                results.append(result)
                result = parser.parseCommand(&buffer)
            }
            if result != .needMoreBytes { results.append(result) }
        }
        #expect(results == [
            .needLiteral(size: 3, synchronizing: true),
            .needLiteral(size: 6, synchronizing: true),
            .command(tag: "a1", .login(username: "bob", password: "secret")),
        ])
        #expect(buffer.readableBytes == 0)
    }

    @Test func stopsExactlyAtTheEndOfTheCommand() {
        var parser = IMAPCommandParser()
        var buffer = bytes("a1 NOOP\r\na2 LOGIN {1+}\r\nx y\r\na3 CAPA")
        #expect(parser.parseCommand(&buffer) == .command(tag: "a1", .noop))
        #expect(parser.parseCommand(&buffer) == .needLiteral(size: 1, synchronizing: false))
        #expect(parser.parseCommand(&buffer) == .command(tag: "a2", .login(username: "x", password: "y")))
        #expect(parser.parseCommand(&buffer) == .needMoreBytes)
        #expect(buffer.text == "a3 CAPA")
        buffer.writeString("BILITY\r\n")
        #expect(parser.parseCommand(&buffer) == .command(tag: "a3", .capability))
    }

    @Test func hugeLiteralIsRefusedBeforeReadingIt() {
        var parser = IMAPCommandParser(limits: IMAPParserLimits(maximumLiteralSize: 1000))
        // Only the header has arrived: the parser must decide now, not wait for 10 GB.
        var buffer = bytes("a1 APPEND INBOX {10000000000}\r\n")
        #expect(parser.parseCommand(&buffer) == .literalTooLarge(tag: "a1", size: 10_000_000_000, synchronizing: true))
        #expect(buffer.readableBytes == 31, "buffer untouched until skipped")
        parser.skipFailedCommand(&buffer)
        #expect(buffer.readableBytes == 0)
        // The client did not send the literal (it waited for "+"); the next command parses normally.
        buffer.writeString("a2 NOOP\r\n")
        #expect(parser.parseCommand(&buffer) == .command(tag: "a2", .noop))
    }

    @Test func literalAtTheLimitIsAccepted() {
        var parser = IMAPCommandParser(limits: IMAPParserLimits(maximumLiteralSize: 5))
        var buffer = bytes("a1 APPEND INBOX {5+}\r\n")
        #expect(parser.parseCommand(&buffer) == .needLiteral(size: 5, synchronizing: false))
        #expect(parser.parseCommand(&buffer) == .needMoreBytes)
        buffer.writeString("hello\r\n")
        guard case .command("a1", .append(_, let messages)) = parser.parseCommand(&buffer) else { Issue.record("no append"); return }
        #expect(messages.first?.data.text == "hello")
        var other = IMAPCommandParser(limits: IMAPParserLimits(maximumLiteralSize: 5))
        var big = bytes("a1 APPEND INBOX {6+}\r\n")
        #expect(other.parseCommand(&big) == .literalTooLarge(tag: "a1", size: 6, synchronizing: false))
    }

    @Test func multiAppendIsBoundedByTheCommandSize() {
        let limits = IMAPParserLimits(maximumLiteralSize: 10, maximumCommandSize: 60)
        var parser = IMAPCommandParser(limits: limits)
        var buffer = bytes("a1 APPEND INBOX {10+}\r\n0123456789 {10+}\r\n0123456789 {10+}\r\n")
        #expect(parser.parseCommand(&buffer) == .needLiteral(size: 10, synchronizing: false))
        #expect(parser.parseCommand(&buffer) == .needLiteral(size: 10, synchronizing: false))
        // 23 + 10 + 8 + 10 + 8 = 59 bytes so far: another 10 would pass 60.
        #expect(parser.parseCommand(&buffer) == .literalTooLarge(tag: "a1", size: 10, synchronizing: false))
    }

    @Test func beforeAuthenticationLiteralsAreSmall() {
        let limits = IMAPParserLimits().beforeAuthentication(maximumLiteralSize: 8192)
        #expect(limits.maximumLiteralSize == 8192)
        #expect(limits.maximumCommandSize == IMAPParserLimits.defaultMaximumLineLength + 8192)
        #expect(limits.maximumLineLength == IMAPParserLimits.defaultMaximumLineLength)
        var parser = IMAPCommandParser(limits: limits)
        var buffer = bytes("a1 LOGIN {8192}\r\n")
        #expect(parser.parseCommand(&buffer) == .needLiteral(size: 8192, synchronizing: true))
        var refused = IMAPCommandParser(limits: limits)
        var huge = bytes("a1 LOGIN {49000000+}\r\n")
        #expect(refused.parseCommand(&huge) == .literalTooLarge(tag: "a1", size: 49_000_000, synchronizing: false))
        #expect(huge.readableBytes == 22, "nothing consumed")
        // Never wider than the limits it narrows.
        #expect(IMAPParserLimits(maximumLiteralSize: 100).beforeAuthentication(maximumLiteralSize: 8192).maximumLiteralSize == 100)
    }

    @Test func manySmallLiteralsBeforeAuthenticationAreBoundedByTheCommandSize() {
        let limits = IMAPParserLimits().beforeAuthentication(maximumLiteralSize: 8192)
        var parser = IMAPCommandParser(limits: limits)
        var buffer = bytes("a1 LOGIN {8192+}\r\n")
        var literals = 0
        while true {
            let result = parser.parseCommand(&buffer)
            if case .needLiteral(let size, _) = result {
                literals += 1
                buffer.writeBytes(Array(repeating: UInt8(ascii: "x"), count: size))
                buffer.writeString(" {8192+}\r\n")
                continue
            }
            #expect(result == .literalTooLarge(tag: "a1", size: 8192, synchronizing: false))
            break
        }
        #expect(literals == 8)
        #expect(buffer.readableBytes <= limits.maximumCommandSize)
    }

    @Test func everyTableCommandParsesWhenFedByteByByte() {
        for (text, expected) in CommandParserTests.table {
            var parser = IMAPCommandParser()
            var buffer = ByteBuffer()
            var final: IMAPCommandParseResult = .needMoreBytes
            for byte in text.utf8 {
                buffer.writeInteger(byte)
                var result = parser.parseCommand(&buffer)
                while case .needLiteral = result { result = parser.parseCommand(&buffer) }
                if result != .needMoreBytes { final = result }
            }
            #expect(final == .command(tag: "a1", expected), "\(text)")
            #expect(buffer.readableBytes == 0)
        }
    }

    /// Mutated commands (bytes flipped, dropped, duplicated) never crash the parser, and every outcome is one of the
    /// documented results with the buffer consumed only on success.
    @Test func mutatedInputNeverCrashes() {
        var random = SplitMix64(seed: 0x1E77E2B0)
        let corpus = CommandParserTests.table.map { Array($0.0.utf8) } + CommandParserTests.badInput.map { Array($0.0.utf8) }
        let alphabet = Array("(){}[]<>\"\\ *%$~+-.:,0123456789\r\nABCXYZ".utf8) + [0, 0x80, 0xFF]
        for _ in 0..<3000 {
            var input = corpus[Int(random.next() % UInt64(corpus.count))]
            for _ in 0...(random.next() % 4) where !input.isEmpty {
                let position = Int(random.next() % UInt64(input.count))
                switch random.next() % 3 {
                case 0: input[position] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1: input.remove(at: position)
                default: input.insert(input[position], at: position)
                }
            }
            var parser = IMAPCommandParser(limits: IMAPParserLimits(maximumLineLength: 200, maximumLiteralSize: 100))
            var buffer = ByteBuffer(bytes: input)
            var steps = 0
            loop: while steps < 50 {
                steps += 1
                let before = buffer.readableBytes
                switch parser.parseCommand(&buffer) {
                case .needLiteral: continue
                case .command: #expect(buffer.readableBytes < before)
                case .syntaxError, .literalTooLarge:
                    #expect(buffer.readableBytes == before)
                    parser.skipFailedCommand(&buffer)
                    #expect(buffer.readableBytes < before)
                case .needMoreBytes, .lineTooLong: break loop
                }
            }
            #expect(steps < 50)
        }
    }

    @Test func lineLengthLimitExcludesLiterals() {
        let limits = IMAPParserLimits(maximumLineLength: 40, maximumLiteralSize: 1000)
        let literal = String(repeating: "x", count: 500)
        #expect(parseAll("a1 LOGIN {500}\r\n\(literal) pw\r\n", limits: limits)
            == .command(tag: "a1", .login(username: literal, password: "pw")))
        let long = String(repeating: "y", count: 50)
        #expect(parseAll("a1 LOGIN \(long) pw\r\n", limits: limits) == .lineTooLong(tag: "a1"))
        // An endless line without CRLF is refused once it passes the limit, without waiting for its end.
        var parser = IMAPCommandParser(limits: limits)
        var buffer = bytes("a9 NOOP" + String(repeating: " ", count: 60))
        #expect(parser.parseCommand(&buffer) == .lineTooLong(tag: "a9"))
    }

    /// Found by the fuzz target's split check (Fuzz/FuzzIMAP): a line of exactly the limit was refused when its CR
    /// arrived before its LF, and accepted when both came together.
    @Test func lineOfExactlyTheLimitPassesWhateverTheSplit() {
        let text = "a1 CAPABILITY\r\n"
        let limits = IMAPParserLimits(maximumLineLength: 13)
        for split in 0...text.utf8.count {
            var parser = IMAPCommandParser(limits: limits)
            let results = Self.feed(Array(text.utf8), splitAt: split, parser: &parser)
            #expect(results.last == .command(tag: "a1", .capability), "split at \(split)")
        }
        #expect(parseAll("a1 CAPABILITYX\r\n", limits: limits) == .lineTooLong(tag: "a1"))
    }

    /// The same for AUTHENTICATE and IDLE lines; and a complete line over the limit is refused too, not only one that is
    /// still arriving.
    @Test func continuationLineLimitDoesNotDependOnTheSplit() {
        let limits = IMAPParserLimits(maximumLineLength: 8)
        var parser = IMAPCommandParser(limits: limits)
        var buffer = bytes("AGJvYgBz\r")
        #expect(parser.parseAuthenticationResponse(&buffer) == .needMoreBytes)
        buffer.writeString("\n")
        #expect(parser.parseAuthenticationResponse(&buffer) == .value(.base64("AGJvYgBz")))
        var long = bytes("AGJvYgBzZWNy\r\n")
        #expect(parser.parseAuthenticationResponse(&long) == .lineTooLong)
        var idle = bytes("DONE" + String(repeating: " ", count: 10) + "\r\n")
        #expect(parser.parseIdleDone(&idle) == .lineTooLong)
    }

    @Test func syntaxErrorLeavesBufferUntilSkipped() {
        var parser = IMAPCommandParser()
        var buffer = bytes("a1 BOGUS {3}\r\n")
        #expect(parser.parseCommand(&buffer) == .needLiteral(size: 3, synchronizing: true))
        buffer.writeString("abc\r\na2 NOOP\r\n")
        #expect(parser.parseCommand(&buffer) == .syntaxError(tag: "a1", reason: "unknown command BOGUS"))
        #expect(buffer.readableBytes == 28)
        parser.skipFailedCommand(&buffer)
        #expect(parser.parseCommand(&buffer) == .command(tag: "a2", .noop))
    }

    @Test func authenticateContinuationLines() {
        var parser = IMAPCommandParser()
        var buffer = bytes("AGJvYgBzZWNy")
        #expect(parser.parseAuthenticationResponse(&buffer) == .needMoreBytes)
        buffer.writeString("ZXQ=\r\n*\r\nnot base64!\r\n")
        #expect(parser.parseAuthenticationResponse(&buffer) == .value(.base64("AGJvYgBzZWNyZXQ=")))
        #expect(parser.parseAuthenticationResponse(&buffer) == .value(.cancel))
        #expect(parser.parseAuthenticationResponse(&buffer) == .syntaxError(reason: "unexpected line"))
        #expect(buffer.readableBytes == 0)
        var empty = bytes("\r\n")
        #expect(parser.parseAuthenticationResponse(&empty) == .value(.base64("")))
    }

    @Test func idleEndsWithDone() {
        var parser = IMAPCommandParser()
        var buffer = bytes("do")
        #expect(parser.parseIdleDone(&buffer) == .needMoreBytes)
        buffer.writeString("ne\r\na2 NOOP\r\n")
        #expect(parser.parseIdleDone(&buffer) == .value(true))
        #expect(parser.parseCommand(&buffer) == .command(tag: "a2", .noop))
        var wrong = bytes("a3 NOOP\r\n")
        #expect(parser.parseIdleDone(&wrong) == .syntaxError(reason: "unexpected line"))
    }
}

/// A tiny deterministic generator, so a failure reproduces.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
