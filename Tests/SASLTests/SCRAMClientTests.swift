import Testing
@testable import SASL

@Suite("SCRAM-SHA-256 client")
struct SCRAMClientTests {
    func clientAfterFirst() -> SCRAMSHA256Client {
        var client = SCRAMSHA256Client(username: "user", password: "pencil", nonce: RFC7677.clientNonce)
        _ = client.start()
        return client
    }

    @Test("RFC 7677 §3 example, client side, with the client nonce injected")
    func rfcVector() {
        var client = SCRAMSHA256Client(username: "user", password: "pencil", nonce: RFC7677.clientNonce)
        #expect(client.start() == bytes(RFC7677.clientFirst))
        #expect(client.respond(to: bytes(RFC7677.serverFirst)) == .response(bytes(RFC7677.clientFinal)))
        #expect(client.respond(to: bytes(RFC7677.serverFinal)) == .response([]))
        #expect((try? client.finish(finalData: nil).get()) != nil)
    }

    @Test("the server signature may arrive with the success outcome instead")
    func finalDataWithSuccess() {
        var client = clientAfterFirst()
        _ = client.respond(to: bytes(RFC7677.serverFirst))
        #expect((try? client.finish(finalData: bytes(RFC7677.serverFinal)).get()) != nil)
    }

    @Test("success without the server signature is refused")
    func missingSignature() {
        var client = clientAfterFirst()
        _ = client.respond(to: bytes(RFC7677.serverFirst))
        #expect(throws: SASLError.invalidServerSignature) { try client.finish(finalData: nil).get() }
    }

    @Test("an empty first challenge is answered with the client-first-message")
    func emptyChallenge() {
        var client = SCRAMSHA256Client(username: "user", password: "pencil", nonce: RFC7677.clientNonce)
        #expect(client.respond(to: []) == .response(bytes(RFC7677.clientFirst)))
    }

    @Test("bad server-first-message", arguments: [
        ("r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", SASLError.nonceMismatch),
        ("r=other%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", .nonceMismatch),
        ("m=ext,r=rOprNGfwEbeRWgbNEkqO%x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096", .extensionsNotSupported),
        ("r=rOprNGfwEbeRWgbNEkqO%x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1", .iterationCountRejected(1)),
        ("r=rOprNGfwEbeRWgbNEkqO%x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0", .malformedMessage("SCRAM iteration-count is not a positive number")),
        ("r=rOprNGfwEbeRWgbNEkqO%x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=04096", .malformedMessage("SCRAM iteration-count is not a positive number")),
        ("r=rOprNGfwEbeRWgbNEkqO%x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-5", .malformedMessage("SCRAM iteration-count is not a positive number")),
        ("r=rOprNGfwEbeRWgbNEkqO%x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999", .malformedMessage("SCRAM iteration-count is not a positive number")),
        ("r=rOprNGfwEbeRWgbNEkqO%x,s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096", .invalidBase64),
        ("r=rOprNGfwEbeRWgbNEkqO%x,i=4096", .malformedMessage("SCRAM server-first-message needs r=, s= and i=")),
        ("s=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqO%x,i=4096", .malformedMessage("SCRAM server-first-message needs r=, s= and i=")),
        ("e=other-error", .malformedMessage("SCRAM server-first-message needs r=, s= and i=")),
    ])
    func badServerFirst(_ message: String, _ expected: SASLError) {
        var client = clientAfterFirst()
        #expect(client.respond(to: bytes(message)) == .failure(expected))
        #expect(client.respond(to: bytes(RFC7677.serverFinal)) == .failure(.unexpectedMessage))
    }

    @Test("bad server-final-message", arguments: [
        ("e=invalid-proof", SASLError.serverError("invalid-proof")),
        ("e=unknown-user,x=1", .serverError("unknown-user")),
        ("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", .invalidServerSignature),
        ("v=AAAA", .invalidServerSignature),
        ("v=***", .invalidBase64),
        ("x=1", .malformedMessage("SCRAM server-final-message needs v= or e=")),
        ("", .malformedMessage("SCRAM server-final-message is empty")),
    ])
    func badServerFinal(_ message: String, _ expected: SASLError) {
        var client = clientAfterFirst()
        _ = client.respond(to: bytes(RFC7677.serverFirst))
        #expect(client.respond(to: bytes(message)) == .failure(expected))
        #expect(throws: SASLError.unexpectedMessage) { try client.finish(finalData: nil).get() }
    }

    @Test("user names with , and = are escaped; an authzid goes into the gs2 header")
    func escaping() {
        var client = SCRAMSHA256Client(username: "a,b=c", password: "p", authorizationID: "boss", nonce: "abc")
        #expect(client.start() == bytes("n,a=boss,n=a=2Cb=3Dc,r=abc"))
    }
}
