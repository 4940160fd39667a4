/// SASL: server (and client) mechanisms PLAIN (RFC 4616), LOGIN and SCRAM-SHA-256 (RFC 5802, RFC 7677), as pure state machines.
import Crypto
import _CryptoExtras
import Foundation

/// What the server keeps instead of a password: SCRAM-SHA-256 credentials (RFC 5802 §3). One record verifies PLAIN and LOGIN
/// (derive and compare) and SCRAM (the exchange) without ever storing the password.
public struct SCRAMCredentials: Sendable, Hashable {
    public static let scheme = "SCRAM-SHA-256"
    /// RFC 7677 asks for at least 4096 (Dovecot uses 4096). 10,000 is the most Cyrus SASL clients (mbsync, mutt built with
    /// it) accept by default, so a higher count would lock them out.
    public static let defaultIterations = 10_000
    public static let minimumIterations = 4096

    public let iterations: Int
    public let salt: [UInt8]
    public let storedKey: [UInt8]
    public let serverKey: [UInt8]

    public init(iterations: Int, salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8]) {
        self.iterations = iterations
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    /// Derives credentials from a password (already SASLprep'd by the caller, or plain UTF-8).
    public static func derive(password: String, salt: [UInt8]? = nil, iterations: Int = defaultIterations) throws -> SCRAMCredentials {
        let salt = salt ?? (0..<16).map { _ in UInt8.random(in: .min ... .max) }
        let salted = try saltedPassword(password, salt: salt, iterations: iterations)
        let clientKey = HMAC<SHA256>.authenticationCode(for: Array("Client Key".utf8), using: salted)
        let serverKey = HMAC<SHA256>.authenticationCode(for: Array("Server Key".utf8), using: salted)
        return SCRAMCredentials(
            iterations: iterations, salt: salt,
            storedKey: Array(SHA256.hash(data: Array(clientKey))), serverKey: Array(serverKey))
    }

    /// `SaltedPassword := Hi(Normalize(password), salt, i)` — PBKDF2-HMAC-SHA-256 with one 32-byte block.
    public static func saltedPassword(_ password: String, salt: [UInt8], iterations: Int) throws -> SymmetricKey {
        try KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: iterations)
    }

    /// True when `password` derives these credentials. Constant-time in the comparison of the derived key.
    public func verify(password: String) -> Bool {
        guard let candidate = try? SCRAMCredentials.derive(password: password, salt: salt, iterations: iterations) else {
            return false
        }
        return constantTimeEqual(candidate.storedKey, storedKey)
    }

    /// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64), the layout PostgreSQL uses.
    public var encoded: String {
        "\(Self.scheme)$\(iterations):\(Data(salt).base64EncodedString())$"
            + "\(Data(storedKey).base64EncodedString()):\(Data(serverKey).base64EncodedString())"
    }

    public init?(encoded: String) {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == Self.scheme else { return nil }
        let first = parts[1].split(separator: ":"), second = parts[2].split(separator: ":")
        guard first.count == 2, second.count == 2, let iterations = Int(first[0]), iterations >= Self.minimumIterations,
              let salt = Data(base64Encoded: String(first[1])), let stored = Data(base64Encoded: String(second[0])),
              let server = Data(base64Encoded: String(second[1])), stored.count == 32, server.count == 32 else { return nil }
        self.init(iterations: iterations, salt: Array(salt), storedKey: Array(stored), serverKey: Array(server))
    }
}

/// Compares two byte strings in time that depends only on their lengths.
public func constantTimeEqual(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for (a, b) in zip(lhs, rhs) { difference |= a ^ b }
    return difference == 0
}
