/// libFuzzer target: the SASL message parsers — SCRAM-SHA-256 client-first/client-final (server side) and server-first/
/// server-final (client side), PLAIN and LOGIN responses, SASLprep, the strict base64 of the wire lines, and the stored
/// SCRAM credential string.
///
/// Input: one option byte, then messages separated by 0xFF bytes (never valid UTF-8, so never inside a real message).
/// Option & 3: 0 the SCRAM server, 1 the SCRAM client, 2 PLAIN and LOGIN servers, 3 the wire line, SASLprep and the
/// credential string. Checks: canonical base64 re-encodes to itself; SASLprep'd text is stable under SASLprep; a
/// credential string re-encodes to itself; a successful exchange names the user the client sent.
import SASL

/// Credentials for the user that exists (4096 iterations, derived once).
let knownCredentials = try! SCRAMCredentials.derive(password: "pencil", salt: Array("fuzz-salt-16byte".utf8), iterations: 4096)

let configuration: SASLServerConfiguration = {
    var configuration = SASLServerConfiguration()
    configuration.unknownUserIterations = 4096
    configuration.unknownUserSaltKey = Array(repeating: 7, count: 32)
    return configuration
}()

func scramServer(_ messages: [[UInt8]]) {
    var server = SCRAMSHA256Server(configuration: configuration, nonce: "3rfcNHYJY1ZVvWVs7j")
    var step = server.start(initialResponse: messages.first)
    for message in messages.dropFirst() {
        if case .needCredentials(let username) = step {
            step = server.provide(credentials: username == "user" ? knownCredentials : nil)
        }
        step = server.step(response: message)
    }
    if case .needCredentials = step { _ = server.provide(credentials: nil) }
}

func scramClient(_ messages: [[UInt8]]) {
    // Iterations the client accepts are kept tiny so that a salted password costs nothing.
    var client = SCRAMSHA256Client(username: "user", password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO", acceptedIterations: 1...8)
    _ = client.start()
    for message in messages.dropLast() { _ = client.respond(to: message) }
    _ = client.finish(finalData: messages.last)
}

func plainAndLogin(_ messages: [[UInt8]]) {
    var plain = PlainServer(configuration: configuration)
    if case .needCredentials(let username) = plain.start(initialResponse: messages.first) {
        guard case .success(let identity, _) = plain.provide(passwordVerified: true), identity.authenticationID == username else {
            fatalError("PLAIN: verified user \(username) did not succeed")
        }
    }
    var login = LoginServer(configuration: configuration)
    var step = login.start(initialResponse: nil)
    for message in messages {
        guard case .challenge = step else { break }
        step = login.step(response: message)
    }
    if case .needCredentials = step { _ = login.provide(passwordVerified: false) }
}

func wireAndText(_ messages: [[UInt8]]) {
    for message in messages {
        let line = String(decoding: message, as: UTF8.self)
        for initial in [false, true] {
            guard case .data(let bytes)? = try? SASLWireResponse.decode(line, isInitialResponse: initial) else { continue }
            let encoded = SASLWireResponse.encode(bytes, isInitialResponse: initial)
            guard encoded == line else { fatalError("\(line.debugDescription) decodes to \(bytes), which encodes as \(encoded)") }
        }
        for usage in [SASLprep.Usage.query, .stored] {
            guard let prepared = try? SASLprep.prepare(line, usage: usage) else { continue }
            let again = try? SASLprep.prepare(prepared, usage: usage)
            guard again == prepared else {
                fatalError("SASLprep(\(line.debugDescription)) = \(prepared.debugDescription), prepared again: \(again.debugDescription)")
            }
        }
        if let credentials = SCRAMCredentials(encoded: line), SCRAMCredentials(encoded: credentials.encoded) != credentials {
            fatalError("credentials \(line.debugDescription) re-encode as \(credentials.encoded.debugDescription)")
        }
    }
}

/// Makes the globals before the first input, so that libFuzzer's leak check does not count them against an input.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    _ = (knownCredentials, configuration.maximumResponseLength)
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSASL(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let messages = bytes.dropFirst().split(separator: 0xFF, omittingEmptySubsequences: false).prefix(4).map(Array.init)
    switch bytes[0] & 3 {
    case 0: scramServer(messages)
    case 1: scramClient(messages)
    case 2: plainAndLogin(messages)
    default: wireAndText(messages)
    }
    return 0
}
