/// A small, strict reader of the XML that clients POST (Outlook's autodiscover request): elements, attributes, text,
/// CDATA, comments and processing instructions, the five predefined entities and character references (XML 1.0 §2–4).
/// What a request never needs is refused: a DOCTYPE (so no entity is ever declared or expanded: no XXE, no "billion
/// laughs"), unknown entities, more than `maximumDepth` nested elements, and bytes that are not UTF-8. Not well-formed
/// input is an error naming the problem, never a crash: it is a pure function over a byte array.
enum POXReader {
    static let maximumDepth = 64

    enum Event {
        case start(String)
        case end(String)
        case text(String)
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static func read(_ bytes: [UInt8], _ handle: (Event) -> Void) throws(Malformed) {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw Malformed("not UTF-8") }
        var position = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var open: [String] = []
        var sawRoot = false

        func at(_ text: String) -> Bool { bytes[position...].starts(with: text.utf8) }
        func skip(past end: String, what: String) throws(Malformed) {
            let marker = Array(end.utf8)
            while position + marker.count <= bytes.count {
                if bytes[position..<position + marker.count].elementsEqual(marker) { position += marker.count; return }
                position += 1
            }
            throw Malformed("unterminated \(what)")
        }
        func isNameByte(_ byte: UInt8, first: Bool) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"), UInt8(ascii: ":"), 0x80...: true
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."): !first
            default: false
            }
        }
        func name() throws(Malformed) -> String {
            let start = position
            while position < bytes.count, isNameByte(bytes[position], first: position == start) { position += 1 }
            guard position > start else { throw Malformed("expected a name") }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        func skipSpaces() { while position < bytes.count, isSpace(bytes[position]) { position += 1 } }
        while position < bytes.count {
            if at("<?") {
                try skip(past: "?>", what: "processing instruction")
            } else if at("<!--") {
                try skip(past: "-->", what: "comment")
            } else if at("<!DOCTYPE") || at("<!doctype") {
                throw Malformed("a DOCTYPE is not allowed")
            } else if at("<![CDATA[") {
                guard !open.isEmpty else { throw Malformed("CDATA outside the root element") }
                position += 9
                let start = position
                try skip(past: "]]>", what: "CDATA section")
                handle(.text(String(decoding: bytes[start..<(position - 3)], as: UTF8.self)))
            } else if at("</") {
                position += 2
                let closing = try name()
                skipSpaces()
                guard position < bytes.count, bytes[position] == UInt8(ascii: ">") else { throw Malformed("expected '>'") }
                position += 1
                guard open.last == closing else { throw Malformed("mismatched end tag </\(closing)>") }
                open.removeLast()
                handle(.end(closing))
            } else if at("<") {
                position += 1
                guard open.count < maximumDepth else { throw Malformed("elements nested too deeply") }
                guard !(open.isEmpty && sawRoot) else { throw Malformed("a second root element") }
                let element = try name()
                var attributes: Set<String> = []
                while true {
                    let before = position
                    skipSpaces()
                    guard position < bytes.count else { throw Malformed("unterminated start tag") }
                    if bytes[position] == UInt8(ascii: ">") || at("/>") { break }
                    guard position > before else { throw Malformed("expected a space before an attribute") }
                    let attribute = try name()
                    guard attributes.insert(attribute).inserted else { throw Malformed("attribute \(attribute) twice") }
                    skipSpaces()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "=") else { throw Malformed("expected '='") }
                    position += 1
                    skipSpaces()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") || bytes[position] == UInt8(ascii: "'") else {
                        throw Malformed("expected a quoted attribute value")
                    }
                    let quote = bytes[position]
                    position += 1
                    guard let close = bytes[position...].firstIndex(of: quote) else { throw Malformed("unterminated attribute value") }
                    guard !bytes[position..<close].contains(UInt8(ascii: "<")) else { throw Malformed("'<' in an attribute value") }
                    _ = try decoded(bytes[position..<close])
                    position = close + 1
                }
                sawRoot = true
                handle(.start(element))
                if at("/>") {
                    position += 2
                    handle(.end(element))
                } else {
                    position += 1
                    open.append(element)
                }
            } else {
                let start = position
                while position < bytes.count, bytes[position] != UInt8(ascii: "<") { position += 1 }
                if open.isEmpty {
                    guard bytes[start..<position].allSatisfy(isSpace) else { throw Malformed("text outside the root element") }
                    continue
                }
                handle(.text(try decoded(bytes[start..<position])))
            }
        }
        guard sawRoot else { throw Malformed("no root element") }
        guard open.isEmpty else { throw Malformed("unclosed element <\(open.last!)>") }
    }

    /// Character data with its references replaced (XML 1.0 §4.1: the five predefined entities and &#N; / &#xH;).
    private static func decoded(_ raw: ArraySlice<UInt8>) throws(Malformed) -> String {
        var out: [UInt8] = []
        var position = raw.startIndex
        while position < raw.endIndex {
            let byte = raw[position]
            guard byte == UInt8(ascii: "&") else { out.append(byte); position += 1; continue }
            guard let semicolon = raw[position...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else { throw Malformed("unterminated reference") }
            let reference = String(decoding: raw[(position + 1)..<semicolon], as: UTF8.self)
            position = semicolon + 1
            switch reference {
            case "amp": out.append(UInt8(ascii: "&"))
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            default:
                let hex = reference.hasPrefix("#x")
                guard reference.hasPrefix("#"), let value = UInt32(reference.dropFirst(hex ? 2 : 1), radix: hex ? 16 : 10),
                      let scalar = Unicode.Scalar(value), value != 0 else { throw Malformed("unknown entity &\(reference);") }
                out += Array(String(Character(scalar)).utf8)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
