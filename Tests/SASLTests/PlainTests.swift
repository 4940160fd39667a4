import Testing
@testable import SASL

@Suite("PLAIN (RFC 4616)")
struct PlainTests {
    /// RFC 4616 §4, first example: no initial response, empty challenge, then the message.
    @Test("C: AUTHENTICATE PLAIN / S: + \"\" / C: <NUL>tim<NUL>tanstaaftanstaaf / S: OK")
    func rfcExampleOne() {
        var server = PlainServer()
        #expect(server.start(initialResponse: nil) == .challenge([]))
        #expect(server.step(response: bytes("\0tim\0tanstaaftanstaaf")) == .needCredentials(username: "tim"))
        #expect(server.provide(credentials: credentials("tanstaaftanstaaf"))
            == .success(SASLIdentity(authenticationID: "tim"), finalData: nil))
    }

    /// RFC 4616 §4, second example: Kurt asks to act as Ursel, with an initial response; the server refuses.
    @Test("C: AUTHENTICATE PLAIN Ursel<NUL>Kurt<NUL>xipj3plmq / S: NO not authorized")
    func rfcExampleTwo() {
        var server = PlainServer()
        #expect(server.start(initialResponse: bytes("Ursel\0Kurt\0xipj3plmq"))
            == .failure(.authorizationDenied(authorizationID: "Ursel")))
        #expect(server.step(response: []) == .failure(.unexpectedMessage))
    }

    @Test("proxy authorization when the caller allows it")
    func proxyAllowed() {
        var configuration = SASLServerConfiguration()
        configuration.allowsProxyAuthorization = true
        var server = PlainServer(configuration: configuration)
        #expect(server.start(initialResponse: bytes("Ursel\0Kurt\0xipj3plmq")) == .needCredentials(username: "Kurt"))
        let step = server.provide(credentials: credentials("xipj3plmq"))
        #expect(step == .success(SASLIdentity(authenticationID: "Kurt", authorizationID: "Ursel"), finalData: nil))
        if case .success(let identity, _) = step { #expect(identity.isProxy) }
    }

    @Test("an authzid equal to the authcid is not a proxy request")
    func sameAuthzid() {
        var server = PlainServer()
        #expect(server.start(initialResponse: bytes("tim\0tim\0pw")) == .needCredentials(username: "tim"))
        #expect(server.provide(credentials: credentials("pw")) == .success(SASLIdentity(authenticationID: "tim"), finalData: nil))
    }

    @Test("user name and password are SASLprep'd before lookup and verification")
    func prepared() {
        var server = PlainServer()
        #expect(server.start(initialResponse: bytes("\0ti\u{00AD}m\0I\u{00AD}X")) == .needCredentials(username: "tim"))
        #expect(server.provide(credentials: credentials("IX")) == .success(SASLIdentity(authenticationID: "tim"), finalData: nil))
    }

    @Test("wrong password and unknown user both fail as authentication failures")
    func failures() {
        var wrong = PlainServer()
        _ = wrong.start(initialResponse: bytes("\0tim\0nope"))
        let step = wrong.provide(credentials: credentials("tanstaaftanstaaf"))
        #expect(step == .failure(.authenticationFailed(reason: .wrongPassword)))
        #expect(step.failureError?.kind == .authentication)

        var unknown = PlainServer()
        _ = unknown.start(initialResponse: bytes("\0ghost\0pw"))
        #expect(unknown.provide(credentials: nil) == .failure(.authenticationFailed(reason: .unknownUser)))
    }

    @Test("malformed messages are syntax errors", arguments: [
        ("tim", "no NUL"),
        ("\0timpassword", "one NUL"),
        ("\0tim\0pass\0word", "three NULs"),
        ("a\0b\0c\0", "trailing NUL"),
        ("\0\0password", "empty authcid"),
        ("\0tim\0", "empty password"),
        ("\0\0", "only NULs"),
        ("", "empty message"),
        ("\0tim\0pass\u{0007}", "prohibited character in password"),
        ("\0\u{00AD}\0password", "authcid empty after SASLprep"),
        ("\0" + String(repeating: "u", count: 256) + "\0pw", "authcid over 255 octets"),
        ("\0tim\0" + String(repeating: "p", count: 256), "password over 255 octets"),
    ])
    func malformed(_ message: String, _ why: String) {
        var server = PlainServer()
        let step = server.start(initialResponse: bytes(message))
        #expect(step.failureError?.kind == .syntax, "\(why): \(step)")
        #expect(server.provide(credentials: credentials("pw")) == .failure(.unexpectedMessage))
    }

    @Test("invalid UTF-8 and oversized messages")
    func encodingAndSize() {
        var server = PlainServer()
        #expect(server.start(initialResponse: [0, 0x74, 0xFF, 0, 0x70]) == .failure(.invalidUTF8))
        var large = PlainServer()
        #expect(large.start(initialResponse: Array(repeating: 0x61, count: 5000)) == .failure(.messageTooLong))
    }

    @Test("methods out of order")
    func outOfOrder() {
        var server = PlainServer()
        #expect(server.step(response: bytes("\0tim\0pw")) == .failure(.unexpectedMessage))
        var twice = PlainServer()
        _ = twice.start(initialResponse: nil)
        #expect(twice.start(initialResponse: nil) == .failure(.unexpectedMessage))
    }

    @Test("client message layout")
    func client() {
        var plain = PlainClient(username: "tim", password: "tanstaaftanstaaf")
        #expect(plain.start() == bytes("\0tim\0tanstaaftanstaaf"))
        var proxy = PlainClient(username: "Kurt", password: "xipj3plmq", authorizationID: "Ursel")
        #expect(proxy.respond(to: []) == .response(bytes("Ursel\0Kurt\0xipj3plmq")))
        #expect(proxy.respond(to: []) == .failure(.unexpectedMessage))
        #expect((try? proxy.finish(finalData: nil).get()) != nil)
        #expect(throws: SASLError.unexpectedMessage) { try proxy.finish(finalData: bytes("x")).get() }
    }
}
