/// libFuzzer target: the IMAP command parser (IMAPCommandParser: framing, literals, the whole command grammar) and the
/// AUTHENTICATE / IDLE continuation lines.
///
/// Input: one option byte, then what a client sends. Bits 0–3 of the option byte choose how the bytes arrive (0: all
/// at once, n: pieces of n bytes), bit 4 turns on UTF-8 mailbox names, bit 5 small limits (so every limit is reachable).
/// Checks:
/// - the results do not depend on how the bytes are split into pieces (the parser is incremental), but for the tag of a
///   line too long;
/// - every command parsed encodes (IMAPCommandEncoder) and parses back to the same command.
import IMAPProtocol
import NIOCore

enum Outcome: Hashable {
    case parsed(IMAPCommandParseResult)
    case authentication(IMAPLineParseResult<SASLContinuation>)
    case idle(IMAPLineParseResult<Bool>)
}

/// Parses `input` as a server does: commands, with one AUTHENTICATE or IDLE continuation line after those commands;
/// failed commands skipped; the connection closed after a line too long or an oversized non-synchronizing literal.
func session(_ input: ArraySlice<UInt8>, piece: Int, parser: IMAPCommandParser) -> [Outcome] {
    var parser = parser
    var buffer = ByteBuffer()
    var outcomes: [Outcome] = []
    var offset = input.startIndex
    enum Expecting { case command, authentication, idleDone }
    var expecting = Expecting.command
    while true {
        reading: while true {
            switch expecting {
            case .authentication:
                let result = parser.parseAuthenticationResponse(&buffer)
                if result == .needMoreBytes { break reading }
                outcomes.append(.authentication(result))
                if result == .lineTooLong { return outcomes }
                expecting = .command
            case .idleDone:
                let result = parser.parseIdleDone(&buffer)
                if result == .needMoreBytes { break reading }
                outcomes.append(.idle(result))
                if result == .lineTooLong { return outcomes }
                expecting = .command
            case .command:
                let result = parser.parseCommand(&buffer)
                switch result {
                case .needMoreBytes:
                    break reading
                case .needLiteral:
                    continue
                case .command(_, let command):
                    outcomes.append(.parsed(result))
                    if case .authenticate(_, .none) = command { expecting = .authentication }
                    if case .idle = command { expecting = .idleDone }
                case .syntaxError:
                    outcomes.append(.parsed(result))
                    parser.skipFailedCommand(&buffer)
                case .literalTooLarge(_, _, let synchronizing):
                    outcomes.append(.parsed(result))
                    guard synchronizing else { return outcomes }
                    parser.skipFailedCommand(&buffer)
                case .lineTooLong:
                    outcomes.append(.parsed(result))
                    return outcomes
                }
            }
        }
        guard offset < input.endIndex else { return outcomes }
        let end = piece == 0 ? input.endIndex : min(offset + piece, input.endIndex)
        buffer.writeBytes(input[offset..<end])
        offset = end
    }
}

/// The tag of a line too long is what has arrived of it when the limit is passed: with the line in pieces it may not
/// have arrived yet (the connection closes either way).
func withoutLineTag(_ outcome: Outcome) -> Outcome {
    if case .parsed(.lineTooLong) = outcome { return .parsed(.lineTooLong(tag: nil)) }
    return outcome
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIMAP(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let option = bytes[0]
    let input = bytes[1...]
    let utf8 = option & 0x10 != 0
    let limits = option & 0x20 != 0
        ? IMAPParserLimits(maximumLineLength: 40, maximumLiteralSize: 20, maximumNestingDepth: 3, maximumCommandSize: 80)
        : IMAPParserLimits()
    let parser = IMAPCommandParser(limits: limits, options: IMAPParserOptions(utf8Enabled: utf8))

    let whole = session(input, piece: 0, parser: parser)
    let piece = Int(option & 0x0F)
    if piece != 0 {
        let split = session(input, piece: piece, parser: parser).map(withoutLineTag)
        guard split == whole.map(withoutLineTag) else {
            fatalError("pieces of \(piece) bytes give \(split), all at once \(whole)")
        }
    }

    for case .parsed(.command(let tag, let command)) in whole {
        var wire = IMAPCommandEncoder(utf8Enabled: utf8).encode(tag: tag, command)
        let encoded = Array(wire.readableBytesView)
        var again = IMAPCommandParser(options: IMAPParserOptions(utf8Enabled: utf8))
        var result = again.parseCommand(&wire)
        while case .needLiteral = result { result = again.parseCommand(&wire) }
        guard result == .command(tag: tag, command), wire.readableBytes == 0 else {
            fatalError("\(command) encodes as \(String(decoding: encoded, as: UTF8.self).debugDescription), which parses as \(result)")
        }
    }
    return 0
}
