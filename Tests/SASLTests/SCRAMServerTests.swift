import MailCore
import Testing
@testable import SASL

/// The RFC 7677 §3 example exchange: user "user", password "pencil".
enum RFC7677 {
    static let clientNonce = "rOprNGfwEbeRWgbNEkqO"
    static let serverNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    static let clientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    static let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    static let clientFinal =
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    static let serverFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    static let fullNonce = clientNonce + serverNonce
    static let salt = try! SASLBase64.decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    static let credentials = try! SCRAMCredentials.derive(password: "pencil", salt: salt, iterations: 4096)
}

@Suite("SCRAM-SHA-256 server (RFC 5802, RFC 7677)")
struct SCRAMServerTests {
    /// A server that has read the RFC's client-first-message and sent its server-first-message.
    func serverAfterFirst(clientFirst: String = RFC7677.clientFirst, configuration: SASLServerConfiguration = .init())
        -> SCRAMSHA256Server {
        var server = SCRAMSHA256Server(configuration: configuration, nonce: RFC7677.serverNonce)
        _ = server.start(initialResponse: bytes(clientFirst))
        _ = server.provide(credentials: RFC7677.credentials)
        return server
    }

    @Test("RFC 7677 §3 example, end to end, with the server nonce injected")
    func rfcVector() {
        var server = SCRAMSHA256Server(nonce: RFC7677.serverNonce)
        #expect(server.start(initialResponse: nil) == .challenge([]))
        #expect(server.step(response: bytes(RFC7677.clientFirst)) == .needCredentials(username: "user"))
        #expect(server.provide(credentials: RFC7677.credentials).challengeText == RFC7677.serverFirst)
        #expect(server.step(response: bytes(RFC7677.clientFinal))
            == .success(SASLIdentity(authenticationID: "user"), finalData: bytes(RFC7677.serverFinal)))
        #expect(server.step(response: []) == .failure(.unexpectedMessage))
    }

    @Test("wrong password: the proof does not verify")
    func wrongPassword() {
        var server = SCRAMSHA256Server(nonce: RFC7677.serverNonce)
        _ = server.start(initialResponse: bytes(RFC7677.clientFirst))
        _ = server.provide(credentials: try! SCRAMCredentials.derive(password: "pen", salt: RFC7677.salt, iterations: 4096))
        let step = server.step(response: bytes(RFC7677.clientFinal))
        #expect(step == .failure(.authenticationFailed(reason: .invalidProof)))
        #expect(step.failureError?.scramServerErrorValue == "invalid-proof")
    }

    @Test("unknown user: a plausible server-first-message, stable per name, then failure")
    func unknownUser() {
        var configuration = SASLServerConfiguration()
        configuration.unknownUserIterations = 4096
        var first = SCRAMSHA256Server(configuration: configuration, nonce: RFC7677.serverNonce)
        var second = SCRAMSHA256Server(configuration: configuration, nonce: RFC7677.serverNonce)
        _ = first.start(initialResponse: bytes(RFC7677.clientFirst))
        _ = second.start(initialResponse: bytes(RFC7677.clientFirst))
        let challenge = first.provide(credentials: nil).challengeText
        #expect(challenge == second.provide(credentials: nil).challengeText)
        #expect(challenge?.hasPrefix("r=\(RFC7677.fullNonce),s=") == true)
        #expect(challenge?.hasSuffix(",i=4096") == true)
        #expect(first.step(response: bytes(RFC7677.clientFinal)) == .failure(.authenticationFailed(reason: .unknownUser)))
    }

    @Test("malformed client-first-message", arguments: [
        ("p=tls-unique,,n=user,r=abc", SASLError.channelBindingNotSupported),
        ("n,,m=ext,n=user,r=abc", .extensionsNotSupported),
        ("x,,n=user,r=abc", .malformedMessage("SCRAM gs2-cbind-flag must be n or y")),
        ("n,n=user,r=abc", .malformedMessage("SCRAM gs2 authzid must start with a=")),
        ("n=user,r=abc", .malformedMessage("SCRAM client-first-message lacks a gs2 header")),
        ("n,,r=abc", .malformedMessage("SCRAM username (n=) missing")),
        ("n,,n=user", .malformedMessage("SCRAM nonce (r=) missing")),
        ("n,,n=user,x=abc", .malformedMessage("SCRAM nonce (r=) missing")),
        ("n,,r=abc,n=user", .malformedMessage("SCRAM username (n=) missing")),
        ("n,,n=us=2Xer,r=abc", .malformedMessage("SCRAM saslname has \"=\" not followed by 2C or 3D")),
        ("n,,n=,r=abc", .malformedMessage("SCRAM saslname is empty")),
        ("n,,n=user,r=", .malformedMessage("SCRAM nonce has characters outside printable")),
        ("n,,n=user,r=a\u{00E9}", .malformedMessage("SCRAM nonce has characters outside printable")),
        ("n,,n=user,r=abc,", .malformedMessage("SCRAM attribute \"\" is not ALPHA \"=\" value")),
        ("n,,n=user,r=abc,1=x", .malformedMessage("SCRAM attribute \"1=x\" is not ALPHA \"=\" value")),
        ("n,,n=user,r=abc,r=def", .malformedMessage("SCRAM attribute r= out of place")),
        ("n,,n=user,r=abc,m=x", .malformedMessage("SCRAM attribute m= out of place")),
        ("n,,", .malformedMessage("SCRAM username (n=) missing")),
        ("", .malformedMessage("SCRAM client-first-message lacks a gs2 header")),
        ("n,,n=\u{0007},r=abc", .preparationFailed(.prohibitedCharacter(7))),
        ("n,a=admin,n=user,r=abc", .authorizationDenied(authorizationID: "admin")),
    ])
    func malformedClientFirst(_ message: String, _ expected: SASLError) {
        var server = SCRAMSHA256Server(nonce: RFC7677.serverNonce)
        #expect(server.start(initialResponse: bytes(message)) == .failure(expected))
        #expect(server.provide(credentials: RFC7677.credentials) == .failure(.unexpectedMessage))
    }

    @Test("client-first-message details that are accepted")
    func acceptedClientFirst() {
        for (message, username) in [
            ("n,,n=user,r=abc,x=optional-extension", "user"),
            ("y,,n=user,r=abc", "user"),
            ("n,a=user,n=user,r=abc", "user"),
            ("n,,n=a=2Cb=3Dc,r=abc", "a,b=c"),
            ("n,,n=I\u{00AD}X,r=abc", "IX"),
        ] {
            var server = SCRAMSHA256Server(nonce: RFC7677.serverNonce)
            #expect(server.start(initialResponse: bytes(message)) == .needCredentials(username: username), "\(message)")
        }
        var invalid = SCRAMSHA256Server()
        #expect(invalid.start(initialResponse: [0x6E, 0x2C, 0x2C, 0xFF]) == .failure(.invalidUTF8))
        var large = SCRAMSHA256Server()
        #expect(large.start(initialResponse: Array(repeating: 0x61, count: 5000)) == .failure(.messageTooLong))
    }

    @Test("malformed or wrong client-final-message", arguments: [
        ("c=eSws,r=\(RFC7677.fullNonce),p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", SASLError.channelBindingMismatch),
        ("c=biws,r=\(RFC7677.clientNonce),p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", .nonceMismatch),
        ("c=biws,r=\(RFC7677.fullNonce)x,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", .nonceMismatch),
        ("c=biws,r=\(RFC7677.fullNonce)", .malformedMessage("SCRAM proof (p=) missing")),
        ("r=\(RFC7677.fullNonce),c=biws,p=AAAA", .malformedMessage("SCRAM channel-binding (c=) missing")),
        ("c=biws,p=AAAA,r=\(RFC7677.fullNonce)", .malformedMessage("SCRAM nonce (r=) missing")),
        ("c=biws,r=\(RFC7677.fullNonce),x=1", .malformedMessage("SCRAM proof (p=) missing")),
        ("c=biws,r=\(RFC7677.fullNonce),p=AAAA,x=1", .malformedMessage("SCRAM proof (p=) missing")),
        ("m=x,c=biws,r=\(RFC7677.fullNonce),p=AAAA", .extensionsNotSupported),
        ("c=biws,r=\(RFC7677.fullNonce),p=not*base64", .invalidBase64),
        ("c=bi,r=\(RFC7677.fullNonce),p=AAAA", .invalidBase64),
        ("c=biws,r=\(RFC7677.fullNonce),p=AAAA", .authenticationFailed(reason: .invalidProof)),
        ("c=biws,r=\(RFC7677.fullNonce),p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
         .authenticationFailed(reason: .invalidProof)),
        ("c=biws,r=\(RFC7677.fullNonce),,p=AAAA", .malformedMessage("SCRAM attribute \"\" is not ALPHA \"=\" value")),
    ])
    func malformedClientFinal(_ message: String, _ expected: SASLError) {
        var server = serverAfterFirst()
        #expect(server.step(response: bytes(message)) == .failure(expected))
    }

    @Test("an optional extension before the proof is ignored but signed")
    func extensionInFinal() {
        var server = serverAfterFirst()
        let step = server.step(response: bytes("c=biws,r=\(RFC7677.fullNonce),x=1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
        #expect(step == .failure(.authenticationFailed(reason: .invalidProof)))  // the proof covered a different message
    }

    @Test("gs2 flag y and an authzid are repeated in c=")
    func channelBindingInput() {
        var configuration = SASLServerConfiguration()
        configuration.allowsProxyAuthorization = true
        var server = serverAfterFirst(clientFirst: "y,a=boss,n=user,r=\(RFC7677.clientNonce)", configuration: configuration)
        let step = server.step(response: bytes("c=biws,r=\(RFC7677.fullNonce),p=AAAA"))
        #expect(step == .failure(.channelBindingMismatch))
    }

    @Test("steps out of order")
    func outOfOrder() {
        var server = SCRAMSHA256Server()
        #expect(server.provide(credentials: RFC7677.credentials) == .failure(.unexpectedMessage))
        var early = SCRAMSHA256Server()
        _ = early.start(initialResponse: bytes(RFC7677.clientFirst))
        #expect(early.step(response: bytes(RFC7677.clientFinal)) == .failure(.unexpectedMessage))
    }

    @Test("server error values map to RFC 5802 §7")
    func serverErrorValues() {
        #expect(SASLError.channelBindingNotSupported.scramServerErrorValue == "channel-binding-not-supported")
        #expect(SASLError.extensionsNotSupported.scramServerErrorValue == "extensions-not-supported")
        #expect(SASLError.invalidBase64.scramServerErrorValue == "invalid-encoding")
        #expect(SASLError.cancelled.kind == .cancelled)
    }
}
