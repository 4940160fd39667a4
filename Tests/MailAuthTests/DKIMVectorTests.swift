import MailCore
import Crypto
import Testing
@testable import MailAuth

/// RFC 8463 Appendix A: the same message signed with Ed25519 and with RSA.
enum RFC8463 {
    static let ed25519Secret = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
    static let rsaPEM = """
        -----BEGIN RSA PRIVATE KEY-----
        MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi
        Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM
        KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB
        AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm
        6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe
        zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy
        6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc
        uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy
        WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd
        WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a
        licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst
        o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe
        uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL
        -----END RSA PRIVATE KEY-----
        """
    static let dns = FakeDNS(txt: [
        "brisbane._domainkey.football.example.com": ["v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="],
        "test._domainkey.football.example.com": [
            "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
                + "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC"
                + "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
                + "Ip3G+2kryOTIKT+l/K4w3QIDAQAB",
        ],
    ])
    static let ed25519Field = """
        DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r
         d=football.example.com; i=@football.example.com;\r
         q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r
         subject : date : message-id : from : subject : date;\r
         bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r
         b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r
         Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r

        """
    static let rsaField = """
        DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r
         d=football.example.com; i=@football.example.com;\r
         q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r
         date : message-id : from : subject : date;\r
         bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r
         b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r
         DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r
         dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r

        """
    static let unsigned = """
        From: Joe SixPack <joe@football.example.com>\r
        To: Suzie Q <suzie@shopping.example.net>\r
        Subject: Is dinner ready?\r
        Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r
        Message-ID: <20030712040037.46341.5F8J@football.example.com>\r
        \r
        Hi.\r
        \r
        We lost the game.  Are you hungry yet?\r
        \r
        Joe.\r
        \r

        """
    static var message: [UInt8] { (ed25519Field + rsaField + unsigned).bytes }
    static let signedAt: UnixTime = 1_528_637_909

    static func ed25519Key() throws -> DKIMPrivateKey {
        .ed25519(try Curve25519.Signing.PrivateKey(rawRepresentation: Base64.decode(ed25519Secret)!))
    }
}

@Suite("DKIM: RFC 8463 Appendix A")
struct DKIMVectorTests {
    @Test("the body hash of the example is the published bh=")
    func bodyHash() {
        let body = DKIMCanonicalization.relaxed.canonicalize(body: RawMessage(RFC8463.unsigned.bytes).body)
        #expect(Base64.encode(Array(SHA256.hash(data: body))) == "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=")
    }

    @Test("signing the published signature fields reproduces b= exactly (ed25519 and rsa)", arguments: [true, false])
    func reproduce(ed25519: Bool) throws {
        let field = ed25519 ? RFC8463.ed25519Field : RFC8463.rsaField
        let key = ed25519 ? try RFC8463.ed25519Key() : try DKIMPrivateKey(pem: RFC8463.rsaPEM)
        let message = RawMessage((field + RFC8463.unsigned).bytes)
        let signature = try DKIMSignature(parsing: String(field.split(separator: ":", maxSplits: 1)[1]))
        let data = dkimSignedData(fields: message.fields, signedHeaders: signature.signedHeaders,
                                  signatureField: message.fields[0], canonicalization: .relaxed)
        #expect(try key.sign(data) == signature.signature)
    }

    @Test("the published public keys are the ones of the secret keys")
    func publicKeys() throws {
        #expect(try RFC8463.ed25519Key().publicKeyRecord.text == "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
        let rsa = try DKIMPrivateKey(pem: RFC8463.rsaPEM).publicKeyRecord
        let published = try DKIMPublicKeyRecord(parsing: RFC8463.dns.txt["test._domainkey.football.example.com"]![0])
        #expect(rsa.publicKey == published.publicKey)
    }

    @Test("both signatures of the example verify")
    func verify() async {
        let results = await DKIMVerifier(resolver: RFC8463.dns).verify(message: RFC8463.message, now: RFC8463.signedAt + 60)
        #expect(results.map(\.status) == [.pass, .pass])
        #expect(results.map(\.algorithm) == ["ed25519-sha256", "rsa-sha256"])
        #expect(results.map(\.selector) == ["brisbane", "test"])
        #expect(results.allSatisfy { $0.domain == "football.example.com" && $0.reason == nil })
    }

    @Test("a changed Subject fails both; a changed body fails with body hash mismatch")
    func tampered() async {
        let verifier = DKIMVerifier(resolver: RFC8463.dns)
        let subject = String(decoding: RFC8463.message, as: UTF8.self).replacing("dinner ready", with: "lunch ready")
        #expect(await verifier.verify(message: subject.bytes, now: RFC8463.signedAt).map(\.status) == [.fail, .fail])
        let body = String(decoding: RFC8463.message, as: UTF8.self).replacing("hungry", with: "thirsty")
        let results = await verifier.verify(message: body.bytes, now: RFC8463.signedAt)
        #expect(results.map(\.status) == [.fail, .fail] && results.allSatisfy { $0.reason == "body hash mismatch" })
    }
}
