@testable import DNS

/// Builds DNS packets by hand for the parser tests, so that each test shows the bytes it feeds in.
struct PacketBuilder {
    var bytes: [UInt8] = []

    init(id: UInt16 = 0x1234, flags: UInt16 = 0x8180, questions: UInt16 = 1, answers: UInt16 = 0, authorities: UInt16 = 0,
         additionals: UInt16 = 0) {
        for value in [id, flags, questions, answers, authorities, additionals] { u16(value) }
    }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xFF)] }
    mutating func u32(_ value: UInt32) { u16(UInt16(value >> 16)); u16(UInt16(value & 0xFFFF)) }

    /// Uncompressed labels, ending with the root unless `pointer` ends the name instead.
    mutating func name(_ text: String, pointer: UInt16? = nil) {
        for label in text.split(separator: ".") {
            u8(UInt8(label.utf8.count))
            bytes += Array(label.utf8)
        }
        if let pointer { u16(0xC000 | pointer) } else { u8(0) }
    }

    mutating func question(_ text: String, _ type: DNSRecordType) {
        name(text)
        u16(type.rawValue)
        u16(1)
    }

    /// A record whose owner is a pointer to `owner` (e.g. 12, the question name) and whose RDATA `rdata` writes.
    mutating func record(owner: UInt16, _ type: DNSRecordType, ttl: UInt32 = 300, rdata: (inout PacketBuilder) -> Void) {
        u16(0xC000 | owner)
        u16(type.rawValue)
        u16(1)
        u32(ttl)
        let lengthAt = bytes.count
        u16(0)
        let start = bytes.count
        rdata(&self)
        let length = bytes.count - start
        bytes[lengthAt] = UInt8(length >> 8)
        bytes[lengthAt + 1] = UInt8(length & 0xFF)
    }
}
