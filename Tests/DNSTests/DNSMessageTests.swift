import MailCore
import Testing
@testable import DNS

@Suite("DNS wire format")
struct DNSMessageTests {
    @Test("a query: RD and AD set, one question, an EDNS0 OPT record with payload 1232")
    func query() throws {
        let bytes = try DNSMessage.query(id: 0x1234, name: "Example.TEST.", type: .mx)
        let expected: [UInt8] = [
            0x12, 0x34, 0x01, 0x20, 0, 1, 0, 0, 0, 0, 0, 1,
            7, 0x45, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 4, 0x54, 0x45, 0x53, 0x54, 0,
            0, 15, 0, 1,
            0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0,
        ]
        #expect(bytes == expected)
        let parsed = try DNSMessage.parse(bytes)
        #expect(parsed.questions == [DNSQuestion(name: "example.test", type: .mx)])
        #expect(parsed.additionals.first?.type == .opt && parsed.additionals.first?.recordClass == 1232)
    }

    @Test("names that cannot be queried", arguments: [
        String(repeating: "a", count: 64) + ".test", "a..b", "b\u{00FC}cher.test", "sp ace.test",
        Array(repeating: String(repeating: "a", count: 60), count: 5).joined(separator: "."),
    ])
    func invalidNames(_ name: String) {
        #expect(throws: DNSError.invalidName(name)) { try DNSMessage.query(id: 1, name: name, type: .a) }
    }

    /// An MX answer whose owner names and exchanges use compression pointers into the question and each other.
    static func mxResponse() -> [UInt8] {
        var packet = PacketBuilder(answers: 2)
        packet.question("example.test", .mx)  // name at offset 12
        packet.record(owner: 12, .mx) { $0.u16(10); $0.name("mx1", pointer: 12) }
        packet.record(owner: 12, .mx, ttl: 60) { $0.u16(20); $0.name("mx2", pointer: 12) }
        return packet.bytes
    }

    @Test("MX answer with compression pointers")
    func mxAnswer() throws {
        let message = try DNSMessage.parse(Self.mxResponse())
        #expect(message.id == 0x1234 && message.isResponse && !message.isTruncated && message.rcode == 0)
        #expect(message.answers.map(\.data) == [
            .mx(MXRecord(preference: 10, exchange: "mx1.example.test")),
            .mx(MXRecord(preference: 20, exchange: "mx2.example.test")),
        ])
        #expect(message.answers.map(\.name) == ["example.test", "example.test"])
        #expect(message.answers.map(\.ttl) == [300, 60])
    }

    @Test("a pointer to a pointer, and a null MX")
    func chainedPointers() throws {
        var packet = PacketBuilder(answers: 2)
        packet.question("example.test", .mx)
        packet.record(owner: 12, .mx) { $0.u16(5); $0.name("a", pointer: 12) }
        let firstExchange = UInt16(12 + 18 + 12 + 2)  // header, question, RR header + preference
        packet.record(owner: 12, .mx) { $0.u16(0); $0.name("b", pointer: firstExchange) }
        packet.record(owner: 12, .mx) { $0.u16(0); $0.u8(0) }
        packet.bytes[7] = 3
        let message = try DNSMessage.parse(packet.bytes)
        #expect(message.answers.map(\.data) == [
            .mx(MXRecord(preference: 5, exchange: "a.example.test")),
            .mx(MXRecord(preference: 0, exchange: "b.a.example.test")),
            .mx(MXRecord(preference: 0, exchange: "")),
        ])
    }

    @Test("TXT, A, AAAA, PTR, TLSA and SOA data")
    func recordTypes() throws {
        var packet = PacketBuilder(answers: 5, authorities: 1)
        packet.question("host.test", .txt)
        packet.record(owner: 12, .txt) { p in
            p.u8(3); p.bytes += Array("v=s".utf8); p.u8(0); p.u8(4); p.bytes += Array("pf1 ".utf8)
        }
        packet.record(owner: 12, .a) { $0.bytes += [192, 0, 2, 1] }
        packet.record(owner: 12, .aaaa) { $0.bytes += [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1] }
        packet.record(owner: 12, .ptr) { $0.name("mail", pointer: 12) }
        packet.record(owner: 12, .tlsa) { $0.bytes += [3, 1, 1, 0xAB, 0xCD] }
        packet.record(owner: 12, .soa, ttl: 900) { p in
            p.name("ns", pointer: 12); p.name("admin", pointer: 12)
            for value: UInt32 in [1, 2, 3, 4, 60] { p.u32(value) }
        }
        let message = try DNSMessage.parse(packet.bytes)
        #expect(message.answers.map(\.data) == [
            .txt([Array("v=s".utf8), [], Array("pf1 ".utf8)]),
            .a(IPv4Address(192, 0, 2, 1)),
            .aaaa(IPv6Address("2001:db8::1")!),
            .ptr("mail.host.test"),
            .tlsa(TLSARecord(certificateUsage: 3, selector: 1, matchingType: 1, certificateAssociationData: [0xAB, 0xCD])),
        ])
        #expect(message.authorities.map(\.data) == [.soa(minimum: 60)])
    }

    @Test("labels with dots, backslashes and upper case are shown escaped and lower-cased")
    func presentation() {
        #expect(DNSReader.presentation(ArraySlice(Array("A.b\\c".utf8) + [0x20, 0xFF])) == "a\\046b\\092c\\032\\255")
    }

    @Test("every truncation of a valid response is an error, never a crash")
    func truncations() {
        let full = Self.mxResponse()
        for length in 0..<full.count {
            #expect(throws: DNSError.self) { try DNSMessage.parse(Array(full.prefix(length))) }
        }
    }

    @Test("hostile packets", arguments: [
        ("pointer to itself", [0xC0, 0x0C] as [UInt8]),
        ("forward pointer", [0xC0, 0x10, 0, 0, 0, 0]),
        ("pointer cut short", [0xC0]),
        ("extended label type", [0x40, 0]),
        ("label past the end", [5, 0x61]),
    ])
    func hostile(_ why: String, _ question: [UInt8]) {
        var packet = PacketBuilder()
        packet.bytes += question + [0, 1, 0, 1]
        #expect(throws: DNSError.self, "\(why)") { try DNSMessage.parse(packet.bytes) }
    }

    @Test("a pointer loop between two names is refused")
    func pointerLoop() {
        // Question name at 12 is a pointer to 14, which is a pointer back to 12.
        var packet = PacketBuilder()
        packet.bytes += [0xC0, 0x0E, 0xC0, 0x0C, 0, 1, 0, 1]
        #expect(throws: DNSError.malformedResponse("compression pointer does not point backwards")) {
            try DNSMessage.parse(packet.bytes)
        }
    }

    @Test("a name longer than 255 octets, directly or through a pointer, is refused")
    func longName() {
        let label = [UInt8(60)] + Array(repeating: 0x61, count: 60)
        var direct = PacketBuilder()
        direct.bytes += Array([label, label, label, label, label].joined()) + [0, 0, 1, 0, 1]
        #expect(throws: DNSError.malformedResponse("name longer than 255 octets")) { try DNSMessage.parse(direct.bytes) }

        var viaPointer = PacketBuilder(questions: 2)
        viaPointer.bytes += Array([label, label, label].joined()) + [0, 0, 1, 0, 1]  // 184 octets, fine
        viaPointer.bytes += Array([label, label].joined()) + [0xC0, 12, 0, 1, 0, 1]  // 122 more through the pointer
        #expect(throws: DNSError.malformedResponse("name longer than 255 octets")) { try DNSMessage.parse(viaPointer.bytes) }
    }

    @Test("RDATA lengths must match the data", arguments: [
        (DNSRecordType.a, [1, 2, 3] as [UInt8]),
        (.aaaa, Array(repeating: 0, count: 15)),
        (.txt, [5, 0x61]),
        (.mx, [0, 10]),
        (.tlsa, [3, 1]),
        (.soa, [0, 0, 1, 2]),
    ])
    func rdataLengths(_ type: DNSRecordType, _ rdata: [UInt8]) {
        var packet = PacketBuilder(answers: 1)
        packet.question("x.test", type)
        packet.record(owner: 12, type) { $0.bytes += rdata }
        #expect(throws: DNSError.self) { try DNSMessage.parse(packet.bytes) }
    }

    @Test("an RR whose RDLENGTH runs past the message")
    func rdlengthPastEnd() {
        var packet = PacketBuilder(answers: 1)
        packet.question("x.test", .a)
        packet.record(owner: 12, .a) { $0.bytes += [1, 2, 3, 4] }
        packet.bytes[packet.bytes.count - 5] = 9
        #expect(throws: DNSError.self) { try DNSMessage.parse(packet.bytes) }
    }

    @Test("flags, TC and the extended RCODE from OPT")
    func flags() throws {
        var packet = PacketBuilder(flags: 0x8000 | 0x0200 | 0x0020 | 0x0003, additionals: 1)
        packet.question("x.test", .a)
        packet.u8(0); packet.u16(41); packet.u16(1232); packet.u32(0x0100_0000); packet.u16(0)
        let message = try DNSMessage.parse(packet.bytes)
        #expect(message.isTruncated && message.isAuthenticData)
        #expect(message.rcode == 0x13)
    }
}
