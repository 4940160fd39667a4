/// libFuzzer target: the DNS message decoder (DNSMessage.parse: header, questions, records, name compression with its
/// jump and length limits, the record data of A, AAAA, MX, TXT, PTR, CNAME, TLSA, OPT) on any bytes a server or an
/// attacker spoofing one could send.
///
/// Input: the message. Checks: a query built from the first bytes as a name (when it is a valid name) parses back with
/// one question of that type.
import DNS
import MailCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNS(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let message = try? DNSMessage.parse(bytes) {
        _ = message.answers.count + message.authorities.count + message.additionals.count
    }
    let name = String(decoding: bytes.prefix { $0 != 0 }.prefix(300), as: UTF8.self)
    let type = DNSRecordType(rawValue: UInt16(size & 0xFF))
    if let query = try? DNSMessage.query(id: UInt16(size), name: name, type: type) {
        let parsed: DNSMessage
        do { parsed = try DNSMessage.parse(query) } catch { fatalError("query for \(name.debugDescription) does not parse: \(error)") }
        guard parsed.questions.count == 1, parsed.questions[0].type == type, parsed.id == UInt16(size) else {
            fatalError("query for \(name.debugDescription) parses as \(parsed)")
        }
    }
    return 0
}
