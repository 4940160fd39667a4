import MailCore
import Testing
@testable import SASL

@Suite("Strict base64 and the wire response")
struct Base64Tests {
    @Test("decodes canonical base64", arguments: [
        ("", ""), ("QQ==", "A"), ("QUI=", "AB"), ("QUJD", "ABC"), ("AHRpbQB0YW5zdGFhZnRhbnN0YWFm", "\0tim\0tanstaaftanstaaf"),
        ("biws", "n,,"), ("VXNlcm5hbWU6", "Username:"),
    ])
    func decodes(_ input: String, _ expected: String) throws {
        #expect(try SASLBase64.decode(input) == bytes(expected))
        #expect(SASLBase64.encode(bytes(expected)) == input)
    }

    @Test("rejects garbage", arguments: [
        "Q", "QQ", "QQ=", "QQ=A", "Q===", "====", "QR==", "QUJ=", "QU I", "QUJD\r\n", " QUJD", "QU!D", "QUJD=", "QQ==QUJD",
        "QUJ-", "QUJ_", "\u{00E9}AAA",
    ])
    func rejects(_ input: String) {
        #expect(throws: SASLError.invalidBase64) { try SASLBase64.decode(input) }
    }

    @Test("every byte string of length 0 to 7 round-trips")
    func roundTrip() throws {
        for length in 0...7 {
            let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 200) }
            #expect(try SASLBase64.decode(SASLBase64.encode(data)) == data)
        }
    }

    @Test("wire responses: cancel, empty initial response, continuation lines", arguments: [
        ("*", false, SASLWireResponse.cancel), ("*", true, .cancel), ("=", true, .data([])), ("", false, .data([])),
        ("QUJD", false, .data(bytes("ABC"))), ("QUJD", true, .data(bytes("ABC"))),
    ])
    func wire(_ line: String, _ initial: Bool, _ expected: SASLWireResponse) throws {
        #expect(try SASLWireResponse.decode(line, isInitialResponse: initial) == expected)
    }

    @Test("wire responses that are errors")
    func wireErrors() {
        #expect(throws: SASLError.self) { try SASLWireResponse.decode("", isInitialResponse: true) }
        #expect(throws: SASLError.invalidBase64) { try SASLWireResponse.decode("=", isInitialResponse: false) }
        #expect(throws: SASLError.invalidBase64) { try SASLWireResponse.decode("**") }
        #expect(SASLWireResponse.encode([], isInitialResponse: true) == "=")
        #expect(SASLWireResponse.encode([], isInitialResponse: false) == "")
    }
}
