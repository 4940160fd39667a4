import MailCore
import Testing
@testable import SASL

/// Client ↔ server for every mechanism, through the base64 wire encoding, as SMTP AUTH would carry it.
@Suite("Client and server round trips")
struct RoundTripTests {
    struct Outcome {
        var server: SASLServerStep
        var clientAccepts: Bool
        var lookups: [String]
    }

    /// Drives one exchange. `directory` answers `.needCredentials`; the loop is bounded so a bug cannot hang the test.
    func run(
        _ client: inout some SASLClientMechanism, mechanism: SASLMechanismName, initialResponse: Bool,
        directory: [String: SCRAMCredentials]
    ) throws -> Outcome {
        var configuration = SASLServerConfiguration()
        configuration.unknownUserIterations = 4096
        var server = SASLServerExchange(mechanism: mechanism, configuration: configuration)
        var lookups: [String] = []
        let first = initialResponse ? client.start() : nil
        var step = server.start(initialResponse: try first.map { try wire($0, initial: true) })
        for _ in 0..<10 {
            switch step {
            case .challenge(let challenge):
                let decoded = try SASLBase64.decode(SASLBase64.encode(challenge))
                switch client.respond(to: decoded) {
                case .response(let response): step = server.step(response: try wire(response, initial: false))
                case .failure(let error): return Outcome(server: .failure(error), clientAccepts: false, lookups: lookups)
                }
            case .needCredentials(let username):
                lookups.append(username)
                step = server.provide(credentials: directory[username])
            case .success(_, let finalData):
                let accepted = (try? client.finish(finalData: finalData).get()) != nil
                return Outcome(server: step, clientAccepts: accepted, lookups: lookups)
            case .failure:
                return Outcome(server: step, clientAccepts: false, lookups: lookups)
            }
        }
        Issue.record("exchange did not finish")
        return Outcome(server: step, clientAccepts: false, lookups: lookups)
    }

    func wire(_ data: [UInt8], initial: Bool) throws -> [UInt8] {
        switch try SASLWireResponse.decode(SASLWireResponse.encode(data, isInitialResponse: initial), isInitialResponse: initial) {
        case .data(let bytes): return bytes
        case .cancel: throw SASLError.cancelled
        }
    }

    static let directory = ["tim": credentials("correct horse"), "a,b=c": credentials("p\u{00E4}ss")]

    func makeClient(_ mechanism: SASLMechanismName, _ username: String, _ password: String) -> any SASLClientMechanism {
        switch mechanism {
        case .plain: PlainClient(username: username, password: password)
        case .login: LoginClient(username: username, password: password)
        case .scramSHA256: SCRAMSHA256Client(username: username, password: password)
        }
    }

    @Test("right password succeeds", arguments: SASLMechanismName.allCases, [false, true])
    func success(_ mechanism: SASLMechanismName, _ initialResponse: Bool) throws {
        for (username, password) in [("tim", "correct horse"), ("a,b=c", "p\u{00E4}ss"), ("tim", "correct\u{00A0}horse")] {
            var client = makeClient(mechanism, username, password)
            let outcome = try run(&client, mechanism: mechanism, initialResponse: initialResponse, directory: Self.directory)
            #expect(outcome.server == .success(SASLIdentity(authenticationID: username), finalData: outcome.server.finalData))
            #expect(outcome.clientAccepts, "\(mechanism) \(username)")
            #expect(outcome.lookups == [username])
        }
    }

    @Test("wrong password and unknown user fail", arguments: SASLMechanismName.allCases)
    func failure(_ mechanism: SASLMechanismName) throws {
        for (username, password) in [("tim", "wrong horse"), ("nobody", "correct horse"), ("tim", "correct  horse")] {
            var client = makeClient(mechanism, username, password)
            let outcome = try run(&client, mechanism: mechanism, initialResponse: true, directory: Self.directory)
            #expect(outcome.server.failureError?.kind == .authentication, "\(mechanism) \(username): \(outcome.server)")
            #expect(!outcome.clientAccepts)
        }
    }

    @Test("mechanism names")
    func names() {
        #expect(SASLMechanismName(matching: "scram-sha-256") == .scramSHA256)
        #expect(SASLMechanismName(matching: "Plain") == .plain)
        #expect(SASLMechanismName(matching: "CRAM-MD5") == nil)
        #expect(SASLMechanismName.login.sendsPasswordInClear && !SASLMechanismName.scramSHA256.sendsPasswordInClear)
        #expect(SASLServerExchange(mechanism: .login).mechanism == .login)
    }
}

extension SASLServerStep {
    var finalData: [UInt8]? {
        if case .success(_, let data) = self { return data }
        return nil
    }
}
