import NIOCore

/// Why the server's reply could not be read.
public enum SMTPReplyParseError: Error, Hashable, Sendable {
    /// Not `Reply-code [("-" / SP) textstring] CRLF`, or a code outside 2yz–5yz.
    case malformed
    /// The lines of one multi-line reply carry different codes.
    case inconsistentCode
    case lineTooLong
    case tooManyLines
}

/// Reads replies from an SMTP server (RFC 5321 §4.2), with limits.
///
/// `Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF`
/// An enhanced status code at the start of the text (RFC 2034 §4) is split off into `enhancedCode` when its class
/// matches the reply code.
public struct SMTPReplyParser: Sendable {
    /// Longest reply line including CRLF. RFC 5321 §4.5.3.1.5 says 512; servers exceed it, so the default is 2048.
    public var maximumLineLength: Int
    /// Most lines in one reply (EHLO replies are the longest in practice). Default 200.
    public var maximumLines: Int
    private var lines: [(code: Int, text: String)] = []

    public init(maximumLineLength: Int = 2048, maximumLines: Int = 200) {
        self.maximumLineLength = maximumLineLength
        self.maximumLines = maximumLines
    }

    /// The next complete reply in `buffer`, or nil when more bytes are needed. Consumes only complete lines.
    public mutating func next(from buffer: inout ByteBuffer) throws(SMTPReplyParseError) -> SMTPReply? {
        while true {
            let readable = buffer.readableBytesView
            guard let lf = readable.prefix(maximumLineLength).firstIndex(of: 10) else {
                if readable.count >= maximumLineLength { throw .lineTooLong }
                return nil
            }
            var line = Array(readable[readable.startIndex..<lf])
            buffer.moveReaderIndex(forwardBy: lf - readable.startIndex + 1)
            if line.last == 13 { line.removeLast() }
            guard line.count >= 3, line[0...2].allSatisfy(isDigit), let code = Int(String(ascii: line[0...2])),
                (200...599).contains(code)
            else { throw .malformed }
            let separator = line.count > 3 ? line[3] : UInt8(ascii: " ")
            guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else { throw .malformed }
            if let first = lines.first, first.code != code { throw .inconsistentCode }
            lines.append((code, String(decoding: line.dropFirst(4), as: UTF8.self)))
            guard lines.count <= maximumLines else { throw .tooManyLines }
            if separator == UInt8(ascii: "-") { continue }
            defer { lines = [] }
            return Self.reply(code: code, texts: lines.map(\.text))
        }
    }

    private static func reply(code: Int, texts: [String]) -> SMTPReply {
        var enhanced: SMTPEnhancedStatusCode?
        if let first = texts.first, let candidate = SMTPEnhancedStatusCode(String(first.prefix { $0 != " " })),
            candidate.statusClass == code / 100
        {
            enhanced = candidate
        }
        let stripped = texts.map { text -> String in
            guard let enhanced, text.hasPrefix(enhanced.description) else { return text }
            return String(text.dropFirst(enhanced.description.count).drop { $0 == " " })
        }
        return SMTPReply(code: code, enhanced: enhanced, lines: stripped)
    }
}

/// Dot-stuffing encoder for DATA (RFC 5321 §4.5.2): a line starting with "." gets one more; line endings are made
/// canonical CRLF (a bare LF or CR becomes CRLF); the body is closed with CRLF if needed and ends with `.<CRLF>`.
public enum SMTPDotStuffer {
    public static func encode(_ body: ByteBuffer) -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: body.readableBytes + body.readableBytes / 64 + 5)
        var atLineStart = true
        var previousCR = false
        for byte in body.readableBytesView {
            if previousCR {
                previousCR = false
                if byte == 10 { continue }  // the LF of a CRLF already written
            }
            switch byte {
            case 13:
                out.writeBytes([13, 10])
                atLineStart = true
                previousCR = true
            case 10:
                out.writeBytes([13, 10])
                atLineStart = true
            default:
                if atLineStart, byte == UInt8(ascii: ".") { out.writeInteger(UInt8(ascii: ".")) }
                out.writeInteger(byte)
                atLineStart = false
            }
        }
        if !atLineStart { out.writeBytes([13, 10]) }
        out.writeBytes(Array(".\r\n".utf8))
        return out
    }
}
