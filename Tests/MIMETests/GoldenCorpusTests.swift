import Foundation
import Testing
@testable import MIME

/// The fixture corpus (Tests/Fixtures/mime/*.eml) against golden ENVELOPE/BODYSTRUCTURE values taken from Dovecot
/// (tests/interop/test_mime_dovecot.py checks Dovecot still agrees). Values are compared, not wire encodings; media types,
/// subtypes, encodings and parameter names case-insensitively.
struct GoldenCorpusTests {
    static let fixtureDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/mime")

    static var fixtureNames: [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: fixtureDirectory.path)) ?? []
        return files.filter { $0.hasSuffix(".eml") }.map { String($0.dropLast(4)) }.sorted()
    }

    static func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: fixtureDirectory.appendingPathComponent(name + ".eml")))
    }

    @Test func corpusIsPresent() { #expect(Self.fixtureNames.count >= 10) }

    @Test(arguments: fixtureNames)
    func matchesGolden(name: String) throws {
        let message = Message.parse(try Self.fixture(name))
        let golden = try JSONSerialization.jsonObject(with: try Data(contentsOf: Self.fixtureDirectory.appendingPathComponent("golden/\(name).json")))
        let dict = try #require(golden as? [String: Any])
        var envelopeParser = IMAPValueParser(bytes: message.envelope.wireBytes)
        let parsedEnvelope = envelopeParser.value()
        let envelope = try #require(parsedEnvelope)
        #expect(envelope == IMAPValue(json: dict["envelope"]!), "ENVELOPE of \(name)")
        var bodyParser = IMAPValueParser(bytes: message.bodyStructure().wireBytes(extensible: true))
        let parsedBody = bodyParser.value()
        let body = try #require(parsedBody)
        let expected = IMAPValue(json: dict["bodystructure"]!)
        #expect(body.normalizedBodyStructure == expected.normalizedBodyStructure, "BODYSTRUCTURE of \(name)")
    }
}

/// A parsed IMAP value: NIL, number, string or list.
indirect enum IMAPValue: Equatable, CustomStringConvertible {
    case none
    case number(Int)
    case string(String)
    case list([IMAPValue])

    init(json: Any) {
        if let s = json as? String { self = .string(s) } else if let n = json as? Int { self = .number(n) } else if let a = json as? [Any] {
            self = .list(a.map(IMAPValue.init(json:)))
        } else { self = .none }
    }

    var description: String {
        switch self {
        case .none: "NIL"
        case .number(let n): "\(n)"
        case .string(let s): "\"\(s)\""
        case .list(let l): "(" + l.map(\.description).joined(separator: " ") + ")"
        }
    }

    var lowered: IMAPValue { if case .string(let s) = self { return .string(s.lowercased()) }; return self }

    static func params(_ v: IMAPValue) -> IMAPValue {
        guard case .list(let l) = v else { return v }
        return .list(l.enumerated().map { $0.offset % 2 == 0 ? $0.element.lowered : $0.element })
    }

    static func disposition(_ v: IMAPValue) -> IMAPValue {
        guard case .list(let l) = v, l.count == 2 else { return v }
        return .list([l[0].lowered, params(l[1])])
    }

    /// Mirrors `normalize` in tests/interop/test_mime_dovecot.py.
    var normalizedBodyStructure: IMAPValue {
        guard case .list(var l) = self, !l.isEmpty else { return self }
        if case .list = l[0] {
            var n = 0
            while n < l.count, case .list = l[n] { l[n] = l[n].normalizedBodyStructure; n += 1 }
            if n < l.count { l[n] = l[n].lowered }
            if n + 1 < l.count { l[n + 1] = Self.params(l[n + 1]) }
            if n + 2 < l.count { l[n + 2] = Self.disposition(l[n + 2]) }
            return .list(l)
        }
        guard l.count > 6 else { return self }
        l[0] = l[0].lowered; l[1] = l[1].lowered; l[2] = Self.params(l[2]); l[5] = l[5].lowered
        var ext = 7
        if l[0] == .string("message"), l[1] == .string("rfc822") || l[1] == .string("global") {
            l[8] = l[8].normalizedBodyStructure
            ext = 10
        } else if l[0] == .string("text") {
            ext = 8
        }
        if l.count > ext + 1 { l[ext + 1] = Self.disposition(l[ext + 1]) }
        return .list(l)
    }
}

struct IMAPValueParser {
    let bytes: [UInt8]
    var i = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func value() -> IMAPValue? {
        while i < bytes.count, bytes[i] == 0x20 { i += 1 }
        guard i < bytes.count else { return nil }
        switch bytes[i] {
        case UInt8(ascii: "("):
            i += 1
            var items: [IMAPValue] = []
            while true {
                while i < bytes.count, bytes[i] == 0x20 { i += 1 }
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: ")") { i += 1; return .list(items) }
                guard let v = value() else { return nil }
                items.append(v)
            }
        case UInt8(ascii: "\""):
            i += 1
            var out: [UInt8] = []
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") { i += 1 }
                out.append(bytes[i]); i += 1
            }
            i += 1
            return .string(String(decoding: out, as: UTF8.self))
        case UInt8(ascii: "{"):
            let close = bytes[i...].firstIndex(of: UInt8(ascii: "}"))!
            let n = Int(String(decoding: bytes[(i + 1)..<close], as: UTF8.self))!
            i = close + 3
            let s = String(decoding: bytes[i..<(i + n)], as: UTF8.self)
            i += n
            return .string(s)
        default:
            let start = i
            while i < bytes.count, bytes[i] != 0x20, bytes[i] != UInt8(ascii: ")"), bytes[i] != UInt8(ascii: "(") { i += 1 }
            let atom = String(decoding: bytes[start..<i], as: UTF8.self)
            if atom.uppercased() == "NIL" { return IMAPValue.none }
            return Int(atom).map(IMAPValue.number) ?? .string(atom)
        }
    }
}
