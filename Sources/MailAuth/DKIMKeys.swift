import MailCore
import Crypto
import Foundation
import _CryptoExtras

/// The signing algorithms (`a=`, RFC 6376 §3.3 and RFC 8463 §3). rsa-sha1 is recognised only to be refused (RFC 8301 §3.1).
public enum DKIMAlgorithm: String, Sendable, Hashable, CaseIterable {
    case rsaSHA256 = "rsa-sha256"
    case ed25519SHA256 = "ed25519-sha256"

    /// The key type (`k=`) this algorithm needs.
    public var keyType: DKIMKeyType {
        switch self {
        case .rsaSHA256: .rsa
        case .ed25519SHA256: .ed25519
        }
    }
}

/// `k=` of a key record (RFC 6376 §3.6.1, RFC 8463 §4).
public enum DKIMKeyType: String, Sendable, Hashable, CaseIterable {
    case rsa
    case ed25519
}

public enum DKIMKeyError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreadablePEM(String)
    case generationFailed(String)

    public var description: String {
        switch self {
        case .unreadablePEM(let detail): "not a usable RSA or Ed25519 private key PEM: \(detail)"
        case .generationFailed(let detail): "key generation failed: \(detail)"
        }
    }
}

/// A DKIM signing key.
public enum DKIMPrivateKey: Sendable {
    case rsa(_RSA.Signing.PrivateKey)
    case ed25519(Curve25519.Signing.PrivateKey)

    /// A new 2048-bit RSA key (RFC 8301 §3.2: signers SHOULD use at least 2048 bits).
    public static func generateRSA() throws(DKIMKeyError) -> DKIMPrivateKey {
        do { return .rsa(try _RSA.Signing.PrivateKey(keySize: .bits2048)) } catch { throw .generationFailed("\(error)") }
    }

    public static func generateEd25519() -> DKIMPrivateKey { .ed25519(Curve25519.Signing.PrivateKey()) }

    /// Reads `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1) or `-----BEGIN PRIVATE KEY-----` (PKCS#8, RSA or Ed25519).
    /// RSA keys from 1024 bits are accepted so that existing keys keep working; new keys should be 2048.
    public init(pem: String) throws(DKIMKeyError) {
        if pem.contains("BEGIN PRIVATE KEY"), let key = try? Curve25519.Signing.PrivateKey(pemRepresentation: pem) {
            self = .ed25519(key)
            return
        }
        do { self = .rsa(try _RSA.Signing.PrivateKey(unsafePEMRepresentation: pem)) } catch {
            throw .unreadablePEM("\(error)")
        }
    }

    /// PEM for storing the key: PKCS#1 for RSA, PKCS#8 for Ed25519. Both read back with `init(pem:)`.
    public var pemRepresentation: String {
        switch self {
        case .rsa(let key): key.pemRepresentation
        case .ed25519(let key): key.pemRepresentation
        }
    }

    public var algorithm: DKIMAlgorithm {
        switch self {
        case .rsa: .rsaSHA256
        case .ed25519: .ed25519SHA256
        }
    }

    /// The record to publish at `selector._domainkey.domain`.
    public var publicKeyRecord: DKIMPublicKeyRecord {
        switch self {
        case .rsa(let key): DKIMPublicKeyRecord(keyType: .rsa, publicKey: Array(key.publicKey.derRepresentation))
        case .ed25519(let key): DKIMPublicKeyRecord(keyType: .ed25519, publicKey: Array(key.publicKey.rawRepresentation))
        }
    }

    /// Signs the hashed data as the algorithm says: RSASSA-PKCS1-v1_5 over SHA-256 (RFC 6376 §3.3.1), or PureEdDSA over
    /// the SHA-256 digest (RFC 8463 §3).
    func sign(_ data: [UInt8]) throws -> [UInt8] {
        let digest = SHA256.hash(data: data)
        switch self {
        case .rsa(let key):
            return Array(try key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation)
        case .ed25519(let key):
            return Array(try key.signature(for: Data(digest)))
        }
    }
}

/// A DKIM key record (RFC 6376 §3.6.1): the TXT at `selector._domainkey.domain`.
public struct DKIMPublicKeyRecord: Sendable, Hashable {
    public var keyType: DKIMKeyType
    /// `p=` decoded: SubjectPublicKeyInfo (or PKCS#1) DER for RSA, the raw 32 bytes for Ed25519. Empty: revoked.
    public var publicKey: [UInt8]
    /// `h=`: the hash algorithms the key may be used with; nil when absent (all).
    public var hashAlgorithms: [String]?
    /// `s=`: service types; `["*"]` when absent.
    public var serviceTypes: [String]
    /// `t=`: flags, lower-cased (`y` testing, `s` no subdomains in `i=`).
    public var flags: [String]
    public var notes: String?

    public enum ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        case syntax(String)
        case wrongVersion(String)
        case unknownKeyType(String)
        case missingPublicKey
        case badBase64

        public var description: String {
            switch self {
            case .syntax(let detail): "key record syntax: \(detail)"
            case .wrongVersion(let version): "key record version \(version), not DKIM1"
            case .unknownKeyType(let type): "unknown key type k=\(type)"
            case .missingPublicKey: "key record without p="
            case .badBase64: "key record p= is not base64"
            }
        }
    }

    public init(keyType: DKIMKeyType, publicKey: [UInt8], hashAlgorithms: [String]? = nil, serviceTypes: [String] = ["*"],
                flags: [String] = [], notes: String? = nil) {
        self.keyType = keyType
        self.publicKey = publicKey
        self.hashAlgorithms = hashAlgorithms
        self.serviceTypes = serviceTypes
        self.flags = flags
        self.notes = notes
    }

    /// RFC 6376 §3.6.1: `v=` if present must be first and `DKIM1`; `k=` defaults to rsa; `p=` is required (empty means
    /// revoked); unknown tags are ignored.
    public init(parsing text: String) throws(ParseError) {
        let tags: TagList
        do { tags = try TagList(parsing: text) } catch { throw .syntax("\(error)") }
        if let version = tags["v"] {
            guard version == "DKIM1", tags.firstName == "v" else { throw .wrongVersion(version) }
        }
        let type = tags["k"]?.lowercased() ?? "rsa"
        guard let keyType = DKIMKeyType(rawValue: type) else { throw .unknownKeyType(type) }
        guard let p = tags["p"] else { throw .missingPublicKey }
        let compact = p.removingWhitespace()
        guard let key = compact.isEmpty ? [] : Base64.decode(compact) else { throw .badBase64 }
        func list(_ value: String?) -> [String]? {
            value.map { $0.split(separator: ":").map { String($0.trimmingWhitespace()).lowercased() }.filter { !$0.isEmpty } }
        }
        self.init(keyType: keyType, publicKey: key, hashAlgorithms: list(tags["h"]), serviceTypes: list(tags["s"]) ?? ["*"],
                  flags: list(tags["t"]) ?? [], notes: tags["n"])
    }

    public var isRevoked: Bool { publicKey.isEmpty }
    public var isTesting: Bool { flags.contains("y") }
    /// `t=s`: the `i=` domain must equal `d=` (no subdomains).
    public var isStrictIdentity: Bool { flags.contains("s") }

    /// The TXT value: `v=DKIM1; k=rsa; p=…` (with `h=`, `s=`, `t=` when set).
    public var text: String {
        var parts = ["v=DKIM1", "k=\(keyType.rawValue)"]
        if let hashAlgorithms { parts.append("h=" + hashAlgorithms.joined(separator: ":")) }
        if serviceTypes != ["*"] { parts.append("s=" + serviceTypes.joined(separator: ":")) }
        if !flags.isEmpty { parts.append("t=" + flags.joined(separator: ":")) }
        parts.append("p=" + Base64.encode(publicKey))
        return parts.joined(separator: "; ")
    }
}

/// Formatting of TXT values for zone files and DNS control panels.
public enum DNSTXTValue {
    /// The value cut into character-strings of at most 255 bytes (RFC 1035 §3.3.14); resolvers concatenate them
    /// again (RFC 6376 §3.6.2.2). Cuts fall between characters, never inside a UTF-8 sequence.
    public static func characterStrings(_ value: String, maxLength: Int = 255) -> [String] {
        var strings: [String] = []
        var current = ""
        var currentLength = 0
        for character in value {
            let length = character.utf8.count
            if currentLength + length > maxLength, !current.isEmpty {
                strings.append(current)
                current = ""
                currentLength = 0
            }
            current.append(character)
            currentLength += length
        }
        if !current.isEmpty || strings.isEmpty { strings.append(current) }
        return strings
    }

    /// The value as a zone-file RDATA: `"…"` or, when longer than 255 bytes, `( "…" "…" )` — quotes and backslashes
    /// escaped.
    public static func zoneFileRData(_ value: String) -> String {
        let quoted = characterStrings(value).map {
            "\"" + $0.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
        }
        return quoted.count == 1 ? quoted[0] : "( " + quoted.joined(separator: " ") + " )"
    }

    /// A whole zone-file line for a DKIM selector: `selector._domainkey.domain. IN TXT ( "…" "…" )`.
    public static func dkimZoneLine(selector: String, domain: String, record: DKIMPublicKeyRecord) -> String {
        "\(selector)._domainkey.\(domain). IN TXT \(zoneFileRData(record.text))"
    }
}
