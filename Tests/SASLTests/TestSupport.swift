@testable import SASL

/// Shared fixtures: bytes from text, and credentials derived with the RFC minimum iteration count to keep tests fast.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

func credentials(_ password: String, salt: [UInt8] = Array(repeating: 7, count: 16)) -> SCRAMCredentials {
    // 4096 iterations is well-formed; a failure here is a broken fixture, not a test outcome.
    try! SCRAMCredentials.derive(password: password, salt: salt, iterations: 4096)
}

extension SASLServerStep {
    var challengeText: String? {
        if case .challenge(let data) = self { return String(decoding: data, as: UTF8.self) }
        return nil
    }

    var failureError: SASLError? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
