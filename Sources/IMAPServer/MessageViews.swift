import IMAPProtocol
import MailStore
import MIME

/// The FETCH views of one message, built from its blob bytes: the one place that maps IMAP sections onto the MIME parser.
/// The message is parsed only when a view needs its structure; ENVELOPE and BODYSTRUCTURE come from the store's cached
/// summary when it has them.
struct MessageViews {
    let bytes: [UInt8]
    private let cached: MessageSummary
    private var parsed: MIME.Message?

    init(bytes: [UInt8], summary: MessageSummary = MessageSummary()) {
        self.bytes = bytes
        self.cached = summary
    }

    private mutating func message() -> MIME.Message {
        if let parsed { return parsed }
        let message = MIME.Message.parse(bytes)
        parsed = message
        return message
    }

    mutating func envelope() -> [UInt8] {
        cached.envelope.isEmpty ? message().envelope.wireBytes : cached.envelope
    }

    mutating func bodyStructure() -> [UInt8] {
        cached.bodyStructure.isEmpty ? message().bodyStructure().wireBytes(extensible: true) : cached.bodyStructure
    }

    mutating func body() -> [UInt8] {
        cached.body.isEmpty ? message().bodyStructure().wireBytes(extensible: false) : cached.body
    }

    /// BODY[section]; nil when the section does not exist.
    mutating func section(_ section: IMAPProtocol.SectionSpecifier) -> [UInt8]? {
        if section.part.isEmpty, section.kind == .complete { return bytes }
        return message().section(Self.mimeSection(section))
    }

    /// BINARY[part] (RFC 3516), transfer encoding undone.
    mutating func binary(_ part: [Int]) -> [UInt8]? { message().binary(part) }

    mutating func isBinaryDecodable(_ part: [Int]) -> Bool { message().isBinaryDecodable(part) }

    mutating func searchText() -> SearchText { message().searchText }

    /// The raw value of the first header field named `name`.
    mutating func headerValue(_ name: String) -> [UInt8]? {
        message().header.fields.first { $0.name.lowercased() == name.lowercased() }?.rawValue
    }

    static func mimeSection(_ section: IMAPProtocol.SectionSpecifier) -> MIME.SectionSpecifier {
        let text: MIME.SectionSpecifier.Text? = switch section.kind {
        case .complete: nil
        case .header: .header
        case .headerFields(let names): .headerFields(names)
        case .headerFieldsNot(let names): .headerFieldsNot(names)
        case .text: .text
        case .mime: .mime
        }
        return MIME.SectionSpecifier(part: section.part, text: text)
    }

    /// `<offset.length>` applied to section bytes (RFC 9051 §6.4.5: an offset past the end gives an empty string).
    static func apply(_ partial: IMAPProtocol.PartialRange?, to bytes: [UInt8]) -> [UInt8] {
        guard let partial else { return bytes }
        guard partial.offset < UInt64(bytes.count) else { return [] }
        let start = Int(partial.offset)
        let end = Int(min(UInt64(bytes.count), partial.offset + partial.length))
        return Array(bytes[start..<end])
    }

    /// The cached views written at APPEND, so FETCH never re-parses the message for ENVELOPE/BODYSTRUCTURE and SEARCH
    /// reads the cached text.
    static func summary(of bytes: [UInt8]) -> MessageSummary {
        let message = MIME.Message.parse(bytes)
        let structure = message.bodyStructure()
        return MessageSummary(
            envelope: message.envelope.wireBytes, bodyStructure: structure.wireBytes(extensible: true),
            body: structure.wireBytes(extensible: false), searchText: CachedSearchText.encode(message.searchText))
    }
}
