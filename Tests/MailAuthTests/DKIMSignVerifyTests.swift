import MailCore
import Crypto
import Testing
@testable import MailAuth

/// Keys made once per test run (RSA generation is slow-ish).
enum TestKeys {
    static let rsa = try! DKIMPrivateKey.generateRSA()
    static let ed25519 = DKIMPrivateKey.generateEd25519()
    /// A 512-bit RSA public key (made with openssl): too small to accept.
    static let rsa512 = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKYhVXSdFGDLazOS8gxMOSOZw6o6w4oQAvrQ7HhqxE3ctSuMTC/asmb/0AQ8IGlIK2qk8NZfqmNP9rGDKYOJn7MCAwEAAQ=="

    static var dns: FakeDNS {
        FakeDNS(txt: [
            "rsa._domainkey.example.org": [rsa.publicKeyRecord.text],
            "ed._domainkey.example.org": [ed25519.publicKeyRecord.text],
            "revoked._domainkey.example.org": ["v=DKIM1; k=rsa; p="],
            "small._domainkey.example.org": ["v=DKIM1; k=rsa; p=\(rsa512)"],
            "sha1only._domainkey.example.org": ["v=DKIM1; h=sha1; p=\(Base64.encode(rsa.publicKeyRecord.publicKey))"],
            "strict._domainkey.example.org": ["v=DKIM1; t=s; p=\(Base64.encode(rsa.publicKeyRecord.publicKey))"],
            "testing._domainkey.example.org": ["v=DKIM1; t=y; p=\(Base64.encode(rsa.publicKeyRecord.publicKey))"],
            "wrongtype._domainkey.example.org": ["v=DKIM1; k=ed25519; p=\(Base64.encode(rsa.publicKeyRecord.publicKey))"],
            "garbage._domainkey.example.org": ["v=DKIM2; p=abc"],
        ], failing: ["broken._domainkey.example.org"])
    }
}

let sampleMessage = """
    From: Alice <alice@example.org>\r
    To: Bob <bob@example.net>\r
    Subject: Lunch\r
    Date: Fri, 27 Nov 2026 05:00:00 +0000\r
    Message-ID: <1@example.org>\r
    MIME-Version: 1.0\r
    Content-Type: text/plain; charset=utf-8\r
    \r
    Shall we meet  at noon?\t\r
    \r
    -- \r
    Alice\r

    """

/// A signature with chosen tags (for cases the signer never makes: x=, l=, simple canonicalization, other selectors).
func craftSignature(_ tags: [String], key: DKIMPrivateKey, message: String, c: DKIMCanonicalizationPair = .init(header: .relaxed, body: .relaxed),
                    headers: [String] = ["from", "to", "subject"], bodyLength: Int? = nil) throws -> String {
    let parsed = RawMessage(message.bytes)
    var body = c.body.canonicalize(body: parsed.body)
    if let bodyLength { body = Array(body.prefix(bodyLength)) }
    let all = ["v=1", "a=\(key.algorithm.rawValue)"] + tags
        + ["c=\(c)", "h=\(headers.joined(separator: ":"))", "bh=\(Base64.encode(Array(SHA256.hash(data: body))))", "b="]
    let unsigned = DKIMSigner.fold(all)
    let field = RawHeaderField(name: "DKIM-Signature", raw: unsigned.bytes + [13, 10])
    let data = dkimSignedData(fields: parsed.fields, signedHeaders: headers, signatureField: field, canonicalization: c.header)
    return unsigned + Base64.encode(try key.sign(data)) + "\r\n"
}

@Suite("DKIM signing and verification")
struct DKIMSignVerifyTests {
    let now: UnixTime = 1_800_000_000

    @Test("sign → verify round trip for rsa and ed25519, and the header the signer writes", arguments: ["rsa", "ed"])
    func roundTrip(selector: String) async throws {
        let key = selector == "rsa" ? TestKeys.rsa : TestKeys.ed25519
        let signer = DKIMSigner(key: key, domain: "Example.org", selector: selector)
        let field = try signer.sign(message: sampleMessage.bytes, now: now)
        #expect(field.replacing("\r\n ", with: " ").hasPrefix("DKIM-Signature: v=1; a=\(key.algorithm.rawValue); c=relaxed/relaxed; d=example.org; s=\(selector);"))
        #expect(field.hasSuffix("\r\n") && !field.contains(" l=") && field.contains("t=\(now)"))
        #expect(field.split(separator: "\r\n").allSatisfy { $0.count <= 78 })
        let signature = try DKIMSignature(parsing: String(field.dropFirst("DKIM-Signature:".count)))
        #expect(signature.signedHeaders == ["from", "from", "subject", "date", "to", "message-id", "mime-version", "content-type"])

        let verifier = DKIMVerifier(resolver: TestKeys.dns)
        let results = await verifier.verify(message: (field + sampleMessage).bytes, now: now + 10)
        #expect(results == [DKIMResult(status: .pass, domain: "example.org", selector: selector, algorithm: key.algorithm.rawValue,
                                       identity: "@example.org", signaturePrefix: results.first?.signaturePrefix ?? "")])
    }

    @Test("bare-LF input is signed as its CRLF form")
    func bareLF() async throws {
        let lf = sampleMessage.replacing("\r\n", with: "\n")
        let field = try DKIMSigner(key: TestKeys.ed25519, domain: "example.org", selector: "ed").sign(message: lf.bytes, now: now)
        let results = await DKIMVerifier(resolver: TestKeys.dns).verify(message: (field + sampleMessage).bytes, now: now)
        #expect(results.map(\.status) == [.pass])
    }

    static let tamperings: [(String, @Sendable (String) -> String, DKIMResult.Status, String?)] = [
        ("body changed", { $0.replacing("noon", with: "midnight") }, .fail, "body hash mismatch"),
        ("subject changed", { $0.replacing("Subject: Lunch", with: "Subject: Dinner") }, .fail, "signature did not verify"),
        ("second From added", { "From: Mallory <m@evil.example>\r\n" + $0 }, .fail, "signature did not verify"),
        ("unsigned header added", { "X-Spam: no\r\n" + $0 }, .pass, nil),
        ("whitespace in signed header (relaxed)", { $0.replacing("Subject: Lunch", with: "Subject:   Lunch ") }, .pass, nil),
        ("trailing blank lines added", { $0 + "\r\n\r\n" }, .pass, nil),
    ]

    @Test("tampering", arguments: tamperings.indices)
    func tampering(_ index: Int) async throws {
        let (_, change, status, reason) = Self.tamperings[index]
        let field = try DKIMSigner(key: TestKeys.rsa, domain: "example.org", selector: "rsa").sign(message: sampleMessage.bytes, now: now)
        let result = await DKIMVerifier(resolver: TestKeys.dns).verify(message: change(field + sampleMessage).bytes, now: now)
        #expect(result.map(\.status) == [status])
        #expect(result.first?.reason == reason)
    }

    /// (tags, canonicalization, body length, change to the message, expected status, expected reason)
    static let cases: [(String, [String], String, Int?, DKIMResult.Status, String?)] = [
        ("simple/simple", ["d=example.org", "s=rsa"], "simple/simple", nil, .pass, nil),
        ("simple/relaxed", ["d=example.org", "s=rsa"], "simple/relaxed", nil, .pass, nil),
        ("c=relaxed means relaxed/simple", ["d=example.org", "s=rsa"], "relaxed", nil, .pass, nil),
        ("expired", ["d=example.org", "s=rsa", "t=1700000000", "x=1700000100"], "relaxed/relaxed", nil, .fail, "signature expired"),
        ("not yet expired", ["d=example.org", "s=rsa", "t=1700000000", "x=1900000000"], "relaxed/relaxed", nil, .pass, nil),
        ("t= far in the future", ["d=example.org", "s=rsa", "t=1900000000"], "relaxed/relaxed", nil, .fail,
         "signature timestamp in the future"),
        ("x= not after t=", ["d=example.org", "s=rsa", "t=1700000000", "x=1600000000"], "relaxed/relaxed", nil, .permerror,
         "signature has an invalid x= value"),
        ("l= covering the whole body", ["d=example.org", "s=rsa", "l=37"], "relaxed/relaxed", 37, .pass, nil),
        ("l= with unsigned content after it", ["d=example.org", "s=rsa", "l=10"], "relaxed/relaxed", 10, .policy,
         "l=: 27 body bytes after the signed part"),
        ("l= longer than the body", ["d=example.org", "s=rsa", "l=900"], "relaxed/relaxed", nil, .fail, "l= is longer than the body"),
        ("revoked key", ["d=example.org", "s=revoked"], "relaxed/relaxed", nil, .permerror, "key revoked"),
        ("512-bit key", ["d=example.org", "s=small"], "relaxed/relaxed", nil, .permerror, "RSA key unreadable or under 1024 bits"),
        ("key allows only sha1", ["d=example.org", "s=sha1only"], "relaxed/relaxed", nil, .permerror,
         "key record does not allow sha256 (h=)"),
        ("t=s with a subdomain identity", ["d=example.org", "s=strict", "i=a@sub.example.org"], "relaxed/relaxed", nil, .permerror,
         "key record forbids subdomains in i= (t=s)"),
        ("t=s with the exact domain", ["d=example.org", "s=strict", "i=a@example.org"], "relaxed/relaxed", nil, .pass, nil),
        ("key type mismatch", ["d=example.org", "s=wrongtype"], "relaxed/relaxed", nil, .permerror,
         "key type ed25519 does not match rsa-sha256"),
        ("no key record", ["d=example.org", "s=missing"], "relaxed/relaxed", nil, .permerror,
         "no key record at missing._domainkey.example.org"),
        ("unparsable key record", ["d=example.org", "s=garbage"], "relaxed/relaxed", nil, .permerror, "key record version DKIM2, not DKIM1"),
        ("key lookup SERVFAIL", ["d=example.org", "s=broken"], "relaxed/relaxed", nil, .temperror,
         "key lookup: server failure: SERVFAIL (fake)"),
        ("i= outside d=", ["d=example.org", "s=rsa", "i=@example.com"], "relaxed/relaxed", nil, .permerror,
         "signature has an invalid i= value"),
        ("missing s=", ["d=example.org"], "relaxed/relaxed", nil, .permerror, "signature lacks the required s= tag"),
    ]

    @Test("verification cases", arguments: cases.indices)
    func verification(_ index: Int) async throws {
        let (_, tags, c, length, status, reason) = Self.cases[index]
        let field = try craftSignature(tags, key: TestKeys.rsa, message: sampleMessage, c: DKIMCanonicalizationPair(c)!,
                                       bodyLength: length)
        let results = await DKIMVerifier(resolver: TestKeys.dns).verify(message: (field + sampleMessage).bytes, now: now)
        #expect(results.map(\.status) == [status])
        #expect(results.first?.reason == reason)
        #expect(results.first?.hasBodyLengthLimit == (length != nil || tags.contains { $0.hasPrefix("l=") }))
    }

    @Test("simple header canonicalization rejects changed whitespace that relaxed accepts")
    func simpleIsStrict() async throws {
        let field = try craftSignature(["d=example.org", "s=rsa"], key: TestKeys.rsa, message: sampleMessage,
                                       c: DKIMCanonicalizationPair("simple/simple")!)
        let changed = (field + sampleMessage).replacing("Subject: Lunch", with: "Subject:  Lunch")
        #expect(await DKIMVerifier(resolver: TestKeys.dns).verify(message: changed.bytes, now: now).map(\.status) == [.fail])
    }

    @Test("t=y is reported as testing")
    func testingFlag() async throws {
        let field = try craftSignature(["d=example.org", "s=testing"], key: TestKeys.rsa, message: sampleMessage)
        let results = await DKIMVerifier(resolver: TestKeys.dns).verify(message: (field + sampleMessage).bytes, now: now)
        #expect(results.map(\.status) == [.pass] && results.first?.isTesting == true)
    }

    @Test("rsa-sha1 is refused; signatures past the fifth are not checked")
    func limits() async throws {
        let sha1 = "DKIM-Signature: v=1; a=rsa-sha1; d=example.org; s=rsa; h=from; bh=AAAA; b=AAAA\r\n"
        #expect(await DKIMVerifier(resolver: TestKeys.dns).verify(message: (sha1 + sampleMessage).bytes, now: now).first
            == DKIMResult(status: .permerror, domain: "example.org", selector: "rsa", algorithm: "rsa-sha1", identity: "@example.org",
                          signaturePrefix: "AAAA", reason: "algorithm rsa-sha1 not accepted (RFC 8301)"))
        let field = try DKIMSigner(key: TestKeys.ed25519, domain: "example.org", selector: "ed").sign(message: sampleMessage.bytes, now: now)
        let six = String(repeating: field, count: 6) + sampleMessage
        let results = await DKIMVerifier(resolver: TestKeys.dns).verify(message: six.bytes, now: now)
        #expect(results.map(\.status) == [.pass, .pass, .pass, .pass, .pass, .neutral])
        #expect(await DKIMVerifier(resolver: TestKeys.dns).verify(message: sampleMessage.bytes, now: now).isEmpty)
    }

    @Test("PEM save and load round trip for both key types")
    func pem() throws {
        for key in [TestKeys.rsa, TestKeys.ed25519] {
            let loaded = try DKIMPrivateKey(pem: key.pemRepresentation)
            #expect(loaded.publicKeyRecord == key.publicKeyRecord && loaded.algorithm == key.algorithm)
        }
        #expect(TestKeys.ed25519.pemRepresentation.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        #expect(throws: DKIMKeyError.self) { try DKIMPrivateKey(pem: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n") }
    }
}
