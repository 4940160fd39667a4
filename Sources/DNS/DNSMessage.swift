/// DNS messages on the wire (RFC 1035 §4.1), as much as a stub resolver needs: building a query with an EDNS0 OPT record
/// (RFC 6891) and parsing a response, including name compression (RFC 1035 §4.1.4), defensively: every read is bounds
/// checked, compression pointers must point backwards and are limited in number, so a hostile packet yields
/// `DNSError.malformedResponse`, never a crash or a loop.
import MailCore

/// A record type (RFC 1035 §3.2.2 and later registrations).
public struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let ns = DNSRecordType(rawValue: 2)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let soa = DNSRecordType(rawValue: 6)
    public static let ptr = DNSRecordType(rawValue: 12)
    public static let mx = DNSRecordType(rawValue: 15)
    public static let txt = DNSRecordType(rawValue: 16)
    public static let aaaa = DNSRecordType(rawValue: 28)
    public static let opt = DNSRecordType(rawValue: 41)
    public static let tlsa = DNSRecordType(rawValue: 52)

    public var description: String {
        switch self {
        case .a: "A"
        case .ns: "NS"
        case .cname: "CNAME"
        case .soa: "SOA"
        case .ptr: "PTR"
        case .mx: "MX"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        case .opt: "OPT"
        case .tlsa: "TLSA"
        default: "TYPE\(rawValue)"
        }
    }
}

/// The data of a resource record, decoded for the types we use.
public enum DNSRecordData: Hashable, Sendable {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    case mx(MXRecord)
    /// The character-strings of one TXT record, in order (RFC 1035 §3.3.14).
    case txt([[UInt8]])
    case ptr(String)
    case cname(String)
    case ns(String)
    case tlsa(TLSARecord)
    /// Only the field negative caching needs (RFC 2308 §5).
    case soa(minimum: UInt32)
    case other([UInt8])

    var mx: MXRecord? { if case .mx(let value) = self { value } else { nil } }
    var a: IPv4Address? { if case .a(let value) = self { value } else { nil } }
    var aaaa: IPv6Address? { if case .aaaa(let value) = self { value } else { nil } }
    var ptr: String? { if case .ptr(let value) = self { value } else { nil } }
    var tlsa: TLSARecord? { if case .tlsa(let value) = self { value } else { nil } }
    /// A TXT record's character-strings joined without separators (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
    var txt: String? { if case .txt(let strings) = self { String(decoding: strings.joined(), as: UTF8.self) } else { nil } }
}

public struct DNSResourceRecord: Hashable, Sendable {
    /// Owner name, lower-cased, without the trailing dot ("" is the root).
    public var name: String
    public var type: DNSRecordType
    public var recordClass: UInt16
    public var ttl: UInt32
    public var data: DNSRecordData
}

public struct DNSQuestion: Hashable, Sendable {
    public var name: String
    public var type: DNSRecordType
    public var questionClass: UInt16 = DNSMessage.classIN
}

/// A parsed DNS message.
public struct DNSMessage: Hashable, Sendable {
    public static let classIN: UInt16 = 1
    /// RCODEs (RFC 1035 §4.1.1, RFC 6895).
    public static let noError: UInt16 = 0, formatError: UInt16 = 1, serverFailure: UInt16 = 2, nameError: UInt16 = 3,
        notImplemented: UInt16 = 4, refused: UInt16 = 5

    public var id: UInt16
    public var isResponse: Bool
    public var opcode: UInt8
    public var isTruncated: Bool
    public var recursionAvailable: Bool
    /// AD: the resolver validated the answer with DNSSEC (RFC 4035 §3.2.3).
    public var isAuthenticData: Bool
    /// RCODE, extended by the OPT record's upper bits when present (RFC 6891 §6.1.3).
    public var rcode: UInt16
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authorities: [DNSResourceRecord]
    public var additionals: [DNSResourceRecord]

    /// Limits that keep parsing bounded.
    static let maximumCompressionJumps = 32
    static let maximumNameLength = 255

    // MARK: Building a query

    /// A recursive query (RD) for one question, with AD set to ask for the DNSSEC verdict (RFC 6840 §5.7) and an OPT
    /// record advertising `udpPayloadSize` (RFC 6891 §6.1; 1232 is the DNS Flag Day 2020 value).
    public static func query(id: UInt16, name: String, type: DNSRecordType, udpPayloadSize: UInt16 = 1232)
        throws(DNSError) -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: [UInt8(id >> 8), UInt8(id & 0xFF)])
        out.append(contentsOf: [0x01, 0x20])  // QR=0 OPCODE=0 RD=1; AD=1
        out.append(contentsOf: [0, 1, 0, 0, 0, 0, 0, 1])  // QDCOUNT=1 ANCOUNT=0 NSCOUNT=0 ARCOUNT=1
        out.append(contentsOf: try encodeName(name))
        out.append(contentsOf: [UInt8(type.rawValue >> 8), UInt8(type.rawValue & 0xFF), 0, 1])  // QTYPE, QCLASS=IN
        // OPT: root name, TYPE 41, CLASS = payload size, TTL = extended RCODE 0, version 0, flags 0; RDLEN 0.
        out.append(contentsOf: [0, 0, 41, UInt8(udpPayloadSize >> 8), UInt8(udpPayloadSize & 0xFF), 0, 0, 0, 0, 0, 0])
        return out
    }

    /// `<domain-name>` as labels (RFC 1035 §3.1): ASCII only, 1…63 octets per label, at most 255 octets in all.
    static func encodeName(_ name: String) throws(DNSError) -> [UInt8] {
        var text = name
        if text.hasSuffix(".") { text.removeLast() }
        var out: [UInt8] = []
        if !text.isEmpty {
            for label in text.split(separator: ".", omittingEmptySubsequences: false) {
                let bytes = Array(label.utf8)
                guard (1...63).contains(bytes.count) else { throw .invalidName(name) }
                guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .invalidName(name) }
                out.append(UInt8(bytes.count))
                out.append(contentsOf: bytes)
            }
        }
        out.append(0)
        guard out.count <= maximumNameLength else { throw .invalidName(name) }
        return out
    }

    // MARK: Parsing

    /// Parses a whole message. Anything that does not fit the grammar throws `.malformedResponse`.
    public static func parse(_ bytes: [UInt8]) throws(DNSError) -> DNSMessage {
        var reader = DNSReader(bytes: bytes)
        let id = try reader.u16(), flags = try reader.u16()
        let questionCount = try reader.u16(), answerCount = try reader.u16()
        let authorityCount = try reader.u16(), additionalCount = try reader.u16()
        var questions: [DNSQuestion] = []
        for _ in 0..<questionCount {
            let name = try reader.name()
            questions.append(DNSQuestion(name: name, type: DNSRecordType(rawValue: try reader.u16()), questionClass: try reader.u16()))
        }
        var answers: [DNSResourceRecord] = [], authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = []
        for _ in 0..<answerCount { answers.append(try reader.resourceRecord()) }
        for _ in 0..<authorityCount { authorities.append(try reader.resourceRecord()) }
        for _ in 0..<additionalCount { additionals.append(try reader.resourceRecord()) }
        var rcode = flags & 0x000F
        if let opt = additionals.first(where: { $0.type == .opt }) { rcode |= UInt16(opt.ttl >> 24) << 4 }
        return DNSMessage(
            id: id, isResponse: flags & 0x8000 != 0, opcode: UInt8(flags >> 11 & 0xF), isTruncated: flags & 0x0200 != 0,
            recursionAvailable: flags & 0x0080 != 0, isAuthenticData: flags & 0x0020 != 0, rcode: rcode,
            questions: questions, answers: answers, authorities: authorities, additionals: additionals)
    }
}

/// A bounds-checked cursor over a message.
struct DNSReader {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    static func malformed(_ why: String) -> DNSError { .malformedResponse(why) }

    mutating func u8() throws(DNSError) -> UInt8 {
        guard offset < bytes.count else { throw Self.malformed("message ends early") }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16() throws(DNSError) -> UInt16 {
        UInt16(try u8()) << 8 | UInt16(try u8())
    }

    mutating func u32() throws(DNSError) -> UInt32 {
        UInt32(try u16()) << 16 | UInt32(try u16())
    }

    mutating func take(_ count: Int) throws(DNSError) -> [UInt8] {
        guard count >= 0, bytes.count - offset >= count else { throw Self.malformed("message ends early") }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// `<domain-name>` with compression (RFC 1035 §4.1.4). A pointer must point strictly before the label it replaces,
    /// which rules out loops; the jump count and total length are bounded as well.
    mutating func name() throws(DNSError) -> String {
        var labels: [String] = []
        var position = offset
        var resumeAt: Int?
        var jumps = 0, length = 1
        while true {
            guard position < bytes.count else { throw Self.malformed("name runs past the end") }
            let length8 = bytes[position]
            switch length8 & 0xC0 {
            case 0xC0:
                guard position + 1 < bytes.count else { throw Self.malformed("compression pointer cut short") }
                let target = Int(length8 & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < position else { throw Self.malformed("compression pointer does not point backwards") }
                jumps += 1
                guard jumps <= DNSMessage.maximumCompressionJumps else { throw Self.malformed("too many compression pointers") }
                if resumeAt == nil { resumeAt = position + 2 }
                position = target
            case 0x00:
                let count = Int(length8)
                if count == 0 {
                    offset = resumeAt ?? position + 1
                    return labels.joined(separator: ".")
                }
                length += count + 1
                guard length <= DNSMessage.maximumNameLength else { throw Self.malformed("name longer than 255 octets") }
                guard position + 1 + count <= bytes.count else { throw Self.malformed("label runs past the end") }
                labels.append(Self.presentation(bytes[(position + 1)...(position + count)]))
                position += 1 + count
            default:
                throw Self.malformed("unknown label type")
            }
        }
    }

    /// A label in presentation form, lower-cased; dots, backslashes and non-printable octets as `\DDD` (RFC 1035 §5.1).
    static func presentation(_ label: ArraySlice<UInt8>) -> String {
        var out = ""
        for byte in label {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): out.unicodeScalars.append(Unicode.Scalar(byte + 32))
            case 0x21...0x7E where byte != UInt8(ascii: ".") && byte != UInt8(ascii: "\\"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = String(byte)
                out += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
            }
        }
        return out
    }

    // RR: NAME TYPE CLASS TTL RDLENGTH RDATA   (RFC 1035 §4.1.3)
    mutating func resourceRecord() throws(DNSError) -> DNSResourceRecord {
        let name = try name()
        let type = DNSRecordType(rawValue: try u16())
        let recordClass = try u16(), ttl = try u32(), length = Int(try u16())
        let start = offset
        guard bytes.count - start >= length else { throw Self.malformed("RDATA runs past the end") }
        let end = start + length
        let data = try recordData(type, end: end)
        guard offset == end else { throw Self.malformed("\(type) RDATA length \(length) does not match its content") }
        return DNSResourceRecord(name: name, type: type, recordClass: recordClass, ttl: ttl, data: data)
    }

    private mutating func recordData(_ type: DNSRecordType, end: Int) throws(DNSError) -> DNSRecordData {
        let length = end - offset
        switch type {
        case .a:
            guard length == 4, let address = IPv4Address(bytes: try take(4)) else { throw Self.malformed("A RDATA is not 4 octets") }
            return .a(address)
        case .aaaa:
            guard length == 16, let address = IPv6Address(bytes: try take(16)) else {
                throw Self.malformed("AAAA RDATA is not 16 octets")
            }
            return .aaaa(address)
        case .mx:
            let preference = try u16()
            let exchange = try name()
            guard offset <= end else { throw Self.malformed("MX exchange runs past RDATA") }
            return .mx(MXRecord(preference: preference, exchange: exchange))
        case .txt:
            var strings: [[UInt8]] = []
            while offset < end {
                let count = Int(try u8())
                guard end - offset >= count else { throw Self.malformed("TXT character-string runs past RDATA") }
                strings.append(try take(count))
            }
            return .txt(strings)
        case .ptr, .cname, .ns:
            let target = try name()
            guard offset <= end else { throw Self.malformed("\(type) name runs past RDATA") }
            return type == .ptr ? .ptr(target) : type == .cname ? .cname(target) : .ns(target)
        case .tlsa:
            guard length >= 3 else { throw Self.malformed("TLSA RDATA too short") }
            let usage = try u8(), selector = try u8(), matching = try u8()
            return .tlsa(TLSARecord(
                certificateUsage: usage, selector: selector, matchingType: matching,
                certificateAssociationData: try take(end - offset)))
        case .soa:
            _ = try name()
            _ = try name()
            guard end - offset == 20 else { throw Self.malformed("SOA RDATA has the wrong length") }
            _ = try take(16)  // SERIAL REFRESH RETRY EXPIRE
            return .soa(minimum: try u32())
        default:
            return .other(try take(length))
        }
    }
}
