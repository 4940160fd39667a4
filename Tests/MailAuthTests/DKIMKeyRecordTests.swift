import Testing
@testable import MailAuth

@Suite("DKIM key records and TXT formatting")
struct DKIMKeyRecordTests {
    static let valid: [(String, DKIMPublicKeyRecord)] = [
        ("v=DKIM1; k=rsa; p=AQAB", DKIMPublicKeyRecord(keyType: .rsa, publicKey: [1, 0, 1])),
        ("p=AQAB", DKIMPublicKeyRecord(keyType: .rsa, publicKey: [1, 0, 1])),
        ("v=DKIM1; p=", DKIMPublicKeyRecord(keyType: .rsa, publicKey: [])),
        ("v=DKIM1; k=ED25519; p=AQ AB", DKIMPublicKeyRecord(keyType: .ed25519, publicKey: [1, 0, 1])),
        ("v=DKIM1; h=sha256:sha1; s=email; t=y:s; n=note; x_new=1; p=AQAB",
         DKIMPublicKeyRecord(keyType: .rsa, publicKey: [1, 0, 1], hashAlgorithms: ["sha256", "sha1"], serviceTypes: ["email"],
                             flags: ["y", "s"], notes: "note")),
    ]

    @Test("valid records", arguments: valid.indices)
    func parse(_ index: Int) throws {
        let (text, expected) = Self.valid[index]
        #expect(try DKIMPublicKeyRecord(parsing: text) == expected)
    }

    static let invalid: [(String, DKIMPublicKeyRecord.ParseError)] = [
        ("v=DKIM2; p=AQAB", .wrongVersion("DKIM2")),
        ("k=rsa; v=DKIM1; p=AQAB", .wrongVersion("DKIM1")),
        ("v=DKIM1; k=dsa; p=AQAB", .unknownKeyType("dsa")),
        ("v=DKIM1; k=rsa", .missingPublicKey),
        ("v=DKIM1; p=A!AB", .badBase64),
        ("v=DKIM1; p=AQAB; p=AQAB", .syntax("duplicateTag(\"p\")")),
    ]

    @Test("invalid records", arguments: invalid.indices)
    func reject(_ index: Int) {
        let (text, error) = Self.invalid[index]
        #expect(throws: error) { try DKIMPublicKeyRecord(parsing: text) }
    }

    @Test("flags and revocation")
    func flags() throws {
        let record = try DKIMPublicKeyRecord(parsing: "v=DKIM1; t=y:s; p=")
        #expect(record.isTesting && record.isStrictIdentity && record.isRevoked)
        #expect(try !DKIMPublicKeyRecord(parsing: "p=AQAB").isTesting)
    }

    @Test("the published text parses back to the same record")
    func roundTrip() throws {
        for key in [TestKeys.rsa, TestKeys.ed25519] {
            #expect(try DKIMPublicKeyRecord(parsing: key.publicKeyRecord.text) == key.publicKeyRecord)
        }
        #expect(TestKeys.ed25519.publicKeyRecord.text.hasPrefix("v=DKIM1; k=ed25519; p="))
        #expect(TestKeys.rsa.publicKeyRecord.text.hasPrefix("v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A"))
    }

    @Test("TXT values are cut into 255-byte strings for zone files")
    func zoneText() {
        let long = String(repeating: "a", count: 300)
        #expect(DNSTXTValue.characterStrings(long).map(\.count) == [255, 45])
        #expect(DNSTXTValue.characterStrings("").map(\.count) == [0])
        #expect(DNSTXTValue.characterStrings("é" + String(repeating: "b", count: 254)).map(\.utf8.count) == [255, 1])
        #expect(DNSTXTValue.zoneFileRData("v=spf1 \"x\" -all") == "\"v=spf1 \\\"x\\\" -all\"")
        #expect(DNSTXTValue.zoneFileRData(long) == "( \"\(String(repeating: "a", count: 255))\" \"\(String(repeating: "a", count: 45))\" )")
        let line = DNSTXTValue.dkimZoneLine(selector: "s1", domain: "example.org", record: TestKeys.rsa.publicKeyRecord)
        #expect(line.hasPrefix("s1._domainkey.example.org. IN TXT ( \"v=DKIM1; k=rsa; p="))
        let strings = DNSTXTValue.characterStrings(TestKeys.rsa.publicKeyRecord.text)
        #expect(strings.count == 2 && strings.joined() == TestKeys.rsa.publicKeyRecord.text)
    }
}
