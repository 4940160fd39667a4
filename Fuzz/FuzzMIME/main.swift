/// libFuzzer entry point for the MIME parser and every IMAP view over it (built by scripts/fuzz-mime).
import MailCore
import MIME

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIME(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let message = Message.parse(bytes, limits: ParserLimits(maximumDepth: 20, maximumParts: 2_000))
    _ = message.envelope.wireBytes
    _ = message.bodyStructure().wireBytes(extensible: true)
    _ = message.bodyStructure().wireBytes(extensible: false)
    _ = message.searchText
    var paths: [[Int]] = [[]]
    func walk(_ part: MessagePart, _ path: [Int]) {
        guard paths.count < 200 else { return }
        let children = part.kind == .message ? (part.children.first.map { $0.kind == .multipart ? $0.children : [$0] } ?? []) : part.children
        for (i, child) in children.enumerated() where part.kind != .single {
            paths.append(path + [i + 1])
            walk(child, path + [i + 1])
        }
    }
    walk(message.root, [])
    for path in paths {
        for text: SectionSpecifier.Text? in [nil, .header, .text, .mime, .headerFields(["subject", "from"]), .headerFieldsNot(["to"])] {
            _ = message.section(SectionSpecifier(part: path, text: text), partial: PartialRange(offset: 1, length: 7))
        }
        _ = message.binarySize(path)
    }
    for field in message.header.fields {
        _ = AddressParser.parseList(bytes: field.unfoldedBytes)
        _ = MessageDate(rfc5322Bytes: field.unfoldedBytes)
        _ = EncodedWords.decode(field.rawValue)
    }
    return 0
}
