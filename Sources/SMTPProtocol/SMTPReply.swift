import NIOCore

/// An enhanced mail system status code `class.subject.detail` (RFC 3463 §2, carried in replies per RFC 2034).
public struct SMTPEnhancedStatusCode: Hashable, Sendable, CustomStringConvertible {
    public let statusClass: Int
    public let subject: Int
    public let detail: Int

    public init(_ statusClass: Int, _ subject: Int, _ detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }

    // status-code ::= class "." subject "." detail ; class ::= "2" / "4" / "5" ; subject, detail ::= 1*3digit
    // (RFC 2034 §4)
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ (1...3).contains($0.count) && $0.allSatisfy(\.isASCIIDigit) }),
            parts[0].count == 1, let c = Int(parts[0]), [2, 4, 5].contains(c), let s = Int(parts[1]), let d = Int(parts[2])
        else { return nil }
        self.init(c, s, d)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

/// An SMTP reply: a three-digit code, an enhanced status code (RFC 2034) and one or more text lines (RFC 5321 §4.2).
///
/// RFC 2034 §4: the enhanced code appears in every 2xx/4xx/5xx reply except the greeting and the EHLO/HELO reply, and
/// never in 3xx replies. Those replies have `enhancedCode == nil`; every other reply in the catalogue carries one.
public struct SMTPReply: Hashable, Sendable, CustomStringConvertible {
    public var code: Int
    public var enhancedCode: SMTPEnhancedStatusCode?
    public var lines: [String]

    public init(code: Int, enhanced: SMTPEnhancedStatusCode?, lines: [String]) {
        precondition((200...599).contains(code), "SMTP reply codes are 2yz..5yz")
        self.code = code
        self.enhancedCode = enhanced
        self.lines = lines.isEmpty ? [""] : lines
    }

    public init(_ code: Int, _ enhanced: SMTPEnhancedStatusCode?, _ text: String) {
        self.init(code: code, enhanced: enhanced, lines: [text])
    }

    /// 2yz positive completion.
    public var isPositive: Bool { (200...299).contains(code) }
    /// 3yz positive intermediate (354, 334).
    public var isIntermediate: Bool { (300...399).contains(code) }
    /// 4yz transient negative.
    public var isTransientFailure: Bool { (400...499).contains(code) }
    /// 5yz permanent negative.
    public var isPermanentFailure: Bool { (500...599).contains(code) }

    /// The text of all lines joined with a space, without codes.
    public var text: String { lines.joined(separator: " ") }

    public var description: String { String(decoding: encodedBytes(), as: UTF8.self) }

    // Reply-line = *( Reply-code "-" [ textstring ] CRLF ) Reply-code [ SP textstring ] CRLF   (RFC 5321 §4.2)
    /// The wire form: `250-first` … `250 last`, each line prefixed with the enhanced code when there is one.
    public func encodedBytes() -> [UInt8] {
        var out: [UInt8] = []
        for (index, line) in lines.enumerated() {
            out.append(contentsOf: String(code).utf8)
            out.append(index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            if let enhancedCode {
                out.append(contentsOf: enhancedCode.description.utf8)
                if !line.isEmpty { out.append(UInt8(ascii: " ")) }
            }
            // A reply line never carries CR or LF of its own: that would let text forge further replies.
            out.append(contentsOf: line.utf8.map { $0 == 13 || $0 == 10 ? UInt8(ascii: " ") : $0 })
            out.append(contentsOf: [13, 10])
        }
        return out
    }

    /// Writes the wire form into `buffer`.
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeBytes(encodedBytes())
    }
}
