/// libFuzzer target: the SMTP server's input side — command lines (verbs, paths, ESMTP parameters, xtext, AUTH
/// base64), the DATA decoder (dot-unstuffing, smuggling rules), BDAT chunks, AUTH lines — through SMTPInputFramer as the
/// server session drives it; and, on the client side, the reply parser and the dot-stuffer.
///
/// Input: one option byte, then the bytes. Option bits 0–1 choose the part: 0 and 1 the server input (commands, then
/// DATA/BDAT/AUTH lines as the commands ask), 2 the DATA decoder alone, 3 the reply parser. Bits 2–5: how the bytes
/// arrive (0: all at once, n: pieces of n bytes). Bit 6: small limits.
/// Checks: results do not depend on the pieces (but for how much content precedes a rejection); every command parsed encodes (`encoded`) and parses back to itself (but for a source route, which is not encoded);
/// dot-stuffing then decoding a body gives a body that stuffs to the same bytes; a reply re-encodes to itself (but for spaces
/// that start a line).
import NIOCore
import SMTPProtocol

enum Event: Hashable {
    case input(SMTPServerInput)
    case reply(SMTPReply)
    case replyError(SMTPReplyParseError)
}

/// Content events (data, chunk) merged, so that the same bytes split differently compare equal; content before a
/// rejected end of data dropped (the session discards it: how much arrives before the rejection depends on the pieces).
func merged(_ events: [Event]) -> [Event] {
    var out: [Event] = []
    for event in events {
        if case .input(.dataEnd(.rejected)) = event, case .input(.data)? = out.last { out.removeLast() }
        switch (out.last, event) {
        case (.input(.data(var previous)), .input(.data(var more))):
            previous.writeBuffer(&more)
            out[out.count - 1] = .input(.data(previous))
        case (.input(.chunk(var previous)), .input(.chunk(var more))):
            previous.writeBuffer(&more)
            out[out.count - 1] = .input(.chunk(previous))
        default:
            out.append(event)
        }
    }
    // Content of a body that has not ended: a rejection found later in the same piece withholds it, so how much
    // there is depends on the pieces.
    while case .input(.data)? = out.last { out.removeLast() }
    return out
}

/// Reads `input` as the server session would: commands; after DATA the body; after BDAT the chunk; after AUTH without
/// an initial response one SASL line.
func serverSession(_ input: ArraySlice<UInt8>, piece: Int, small: Bool) -> [Event] {
    var framer = SMTPInputFramer(limits: small ? SMTPInputFramer.Limits(commandLine: 48, authenticationLine: 32) : SMTPInputFramer.Limits())
    let bodyLimits = small ? SMTPBodyLimits(maximumMessageSize: 64, maximumLineLength: 16) : SMTPBodyLimits()
    var mode = SMTPInputMode.command
    var buffer = ByteBuffer()
    var events: [Event] = []
    var offset = input.startIndex
    while true {
        while let next = framer.next(from: &buffer, mode: mode) {
            events.append(.input(next))
            switch next {
            case .command(.data): mode = .data(bodyLimits)
            case .command(.bdat(let size, _)): mode = .chunk(size: size)
            case .command(.auth(_, .none)): mode = .authenticationLine
            case .authenticationLine, .authenticationLineTooLong, .dataEnd, .chunkEnd: mode = .command
            default: break
            }
        }
        guard offset < input.endIndex else { return merged(events) }
        let end = piece == 0 ? input.endIndex : min(offset + piece, input.endIndex)
        buffer.writeBytes(input[offset..<end])
        offset = end
    }
}

func dataDecoder(_ input: ArraySlice<UInt8>, piece: Int, small: Bool) -> [Event] {
    var decoder = SMTPDataDecoder(limits: small ? SMTPBodyLimits(maximumMessageSize: 64, maximumLineLength: 16) : SMTPBodyLimits())
    var buffer = ByteBuffer()
    var events: [Event] = []
    var offset = input.startIndex
    while offset < input.endIndex, !decoder.isFinished {
        let end = piece == 0 ? input.endIndex : min(offset + piece, input.endIndex)
        buffer.writeBytes(input[offset..<end])
        offset = end
        let output = decoder.decode(&buffer)
        if let content = output.content { events.append(.input(.data(content))) }
        if let outcome = output.outcome { events.append(.input(.dataEnd(outcome))) }
    }
    // What follows the end of data stays for the next command.
    if buffer.readableBytes > 0 || offset < input.endIndex {
        var rest = buffer
        rest.writeBytes(input[offset...])
        events.append(.input(.chunk(rest)))
    }
    return merged(events)
}

func replies(_ input: ArraySlice<UInt8>, piece: Int, small: Bool) -> [Event] {
    var parser = small ? SMTPReplyParser(maximumLineLength: 24, maximumLines: 3) : SMTPReplyParser()
    var buffer = ByteBuffer()
    var events: [Event] = []
    var offset = input.startIndex
    while true {
        do throws(SMTPReplyParseError) {
            while let reply = try parser.next(from: &buffer) { events.append(.reply(reply)) }
        } catch {
            events.append(.replyError(error))
            return events
        }
        guard offset < input.endIndex else { return events }
        let end = piece == 0 ? input.endIndex : min(offset + piece, input.endIndex)
        buffer.writeBytes(input[offset..<end])
        offset = end
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let option = bytes[0]
    let input = bytes[1...]
    let piece = Int((option >> 2) & 0x0F)
    let small = option & 0x40 != 0
    let run: (ArraySlice<UInt8>, Int, Bool) -> [Event] = switch option & 3 {
    case 2: dataDecoder
    case 3: replies
    default: serverSession
    }
    let whole = run(input, 0, small)
    if piece != 0 {
        let split = run(input, piece, small)
        guard split == whole else { fatalError("pieces of \(piece) bytes give \(split), all at once \(whole)") }
    }

    for event in whole {
        switch event {
        case .input(.command(let command)):
            // The encoder drops a source route (RFC 5321 §4.1.1.3: to be ignored), so compare what is encoded.
            let again = Result { () throws(SMTPCommandError) in try SMTPCommandParser.parse(line: Array(command.encoded.utf8)) }
            guard case .success(let parsed) = again, parsed.encoded == command.encoded,
                  (try? SMTPCommandParser.parse(line: Array(parsed.encoded.utf8))) == parsed else {
                fatalError("\(command) encodes as \(command.encoded.debugDescription), which parses as \(again)")
            }
        case .input(.data(let body)):
            // The client side: stuffing any body and decoding it gives a canonical body (CRLF line endings only) that
            // stuffs to the same bytes.
            let stuffed = SMTPDotStuffer.encode(body)
            var wire = stuffed
            var decoder = SMTPDataDecoder(limits: SMTPBodyLimits(maximumLineLength: 1 << 40))
            let output = decoder.decode(&wire)
            let canonical = output.content ?? ByteBuffer()
            guard case .complete = output.outcome, wire.readableBytes == 0,
                  SMTPDotStuffer.encode(canonical) == stuffed else {
                fatalError("dot-stuffed body \(Array(stuffed.readableBytesView)) decodes as \(output.outcome as Any), \(canonical)")
            }
        case .reply(let reply) where !reply.lines.contains(where: { $0.utf8.contains(13) }):
            // The encoder puts the enhanced code on every line; a line that came without it keeps its leading spaces,
            // which the parser drops after a code: compare lines without them.
            var parser = SMTPReplyParser(maximumLineLength: 1 << 40, maximumLines: 1 << 40)
            var wire = ByteBuffer(bytes: reply.encodedBytes())
            let again = Result { () throws(SMTPReplyParseError) in try parser.next(from: &wire) }
            func trimmed(_ reply: SMTPReply) -> [String] { reply.lines.map { String($0.drop { $0 == " " }) } }
            guard case .success(let parsed?) = again, parsed.code == reply.code, parsed.enhancedCode == reply.enhancedCode,
                  trimmed(parsed) == trimmed(reply) else { fatalError("\(reply) parses back as \(again)") }
        default:
            break
        }
    }
    return 0
}
