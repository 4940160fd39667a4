import Testing
@testable import SASL

@Suite("LOGIN")
struct LoginTests {
    @Test("S: Username: / C: tim / S: Password: / C: secret / S: OK")
    func transcript() {
        var server = LoginServer()
        #expect(server.start(initialResponse: nil).challengeText == "Username:")
        #expect(server.step(response: bytes("tim")).challengeText == "Password:")
        #expect(server.step(response: bytes("secret")) == .needCredentials(username: "tim"))
        #expect(server.provide(credentials: credentials("secret")) == .success(SASLIdentity(authenticationID: "tim"), finalData: nil))
        #expect(server.step(response: bytes("more")) == .failure(.unexpectedMessage))
    }

    @Test("the user name may come as the initial response (AUTH LOGIN dGlt)")
    func initialResponse() {
        var server = LoginServer()
        #expect(server.start(initialResponse: bytes("tim")).challengeText == "Password:")
        #expect(server.step(response: bytes("secret")) == .needCredentials(username: "tim"))
        #expect(server.provide(credentials: credentials("other"))
            == .failure(.authenticationFailed(reason: .wrongPassword)))
    }

    @Test("unknown user")
    func unknownUser() {
        var server = LoginServer()
        _ = server.start(initialResponse: bytes("ghost"))
        _ = server.step(response: bytes("pw"))
        #expect(server.provide(credentials: nil) == .failure(.authenticationFailed(reason: .unknownUser)))
    }

    @Test("malformed answers", arguments: [
        ([UInt8](), "", "empty user name"),
        (bytes("ti\0m"), "", "NUL in user name"),
        ([0x74, 0xC3], "", "invalid UTF-8 user name"),
        (Array(repeating: 0x61, count: 256), "", "user name over 255 octets"),
        (bytes("\u{0007}"), "", "prohibited character"),
        (bytes("tim"), "", "empty password"),
        (bytes("tim"), "pa\0ss", "NUL in password"),
    ])
    func malformed(_ username: [UInt8], _ password: String, _ why: String) {
        var server = LoginServer()
        _ = server.start(initialResponse: nil)
        var step = server.step(response: username)
        if step.challengeText == "Password:" { step = server.step(response: bytes(password)) }
        #expect(step.failureError?.kind == .syntax, "\(why): \(step)")
    }

    @Test("client answers by prompt, then by order")
    func client() {
        var login = LoginClient(username: "tim", password: "secret")
        #expect(login.start() == nil)
        #expect(login.respond(to: bytes("Password:")) == .response(bytes("secret")))
        #expect(login.respond(to: bytes("username:")) == .response(bytes("tim")))
        var ordered = LoginClient(username: "tim", password: "secret")
        #expect(ordered.respond(to: bytes("Who?")) == .response(bytes("tim")))
        #expect(ordered.respond(to: bytes("Secret?")) == .response(bytes("secret")))
        #expect(ordered.respond(to: bytes("More?")) == .failure(.unexpectedMessage))
    }
}
