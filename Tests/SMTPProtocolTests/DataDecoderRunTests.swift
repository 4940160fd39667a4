import NIOCore
import Testing

@testable import SMTPProtocol

/// The decoder takes the octets of a line up to the next CR or LF as one run: the first limit a run crosses must be the
/// one the octet-at-a-time rule names (line before size at the same octet), and the content must not change.
@Suite struct DataDecoderRunTests {
    static func outcome(_ text: String, _ limits: SMTPBodyLimits) -> SMTPBodyOutcome? {
        var decoder = SMTPDataDecoder(limits: limits)
        var buffer = ByteBuffer(string: text)
        return decoder.decode(&buffer).outcome
    }

    @Test(arguments: [
        // (maximum line length, maximum size, expected)
        (10, 5, SMTPBodyOutcome.rejected(.tooLarge)),  // size crossed at octet 6, line at octet 9
        (10, 20, .rejected(.lineTooLong)),  // line crossed at octet 9
        (10, 8, .rejected(.lineTooLong)),  // both at octet 9: the line is checked first
        (1000, 1000, .complete(size: 14)),
    ])
    func firstLimitCrossedInARun(line: Int, size: UInt64, expected: SMTPBodyOutcome) {
        #expect(Self.outcome("123456789012\r\n.\r\n", SMTPBodyLimits(maximumMessageSize: size, maximumLineLength: line)) == expected)
    }

    @Test func longRunsKeepTheirContent() {
        let line = String(repeating: "abcdefghij", count: 90)  // 900 octets, under the 1000 limit
        let text = "\(line)\r\n..dot\r\n\(line)\r\n.\r\n"
        var decoder = SMTPDataDecoder()
        var buffer = ByteBuffer(string: text)
        let output = decoder.decode(&buffer)
        #expect(output.outcome == .complete(size: UInt64(2 * 902 + 6)))
        #expect(output.content.map { String(buffer: $0) } == "\(line)\r\n.dot\r\n\(line)\r\n")
    }
}
