import NIOCore
@testable import IMAPProtocol

/// Feeds `text` to a fresh parser at once, continuing past literal announcements, and returns the final result.
func parseAll(_ text: String, options: IMAPParserOptions = .init(), limits: IMAPParserLimits = .init()) -> IMAPCommandParseResult {
    var parser = IMAPCommandParser(limits: limits, options: options)
    var buffer = ByteBuffer(string: text)
    while true {
        let result = parser.parseCommand(&buffer)
        if case .needLiteral = result { continue }
        return result
    }
}

/// The command parsed from `text`, or nil when it did not parse.
func command(_ text: String, utf8: Bool = false) -> IMAPCommand? {
    if case .command(_, let command) = parseAll(text, options: .init(utf8Enabled: utf8)) { return command }
    return nil
}

/// The syntax error reason for `text`, or nil when it parsed or needed more bytes.
func syntaxError(_ text: String) -> String? {
    if case .syntaxError(_, let reason) = parseAll(text) { return reason }
    return nil
}

func bytes(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

extension ByteBuffer {
    var text: String { String(decoding: readableBytesView, as: UTF8.self) }
}
