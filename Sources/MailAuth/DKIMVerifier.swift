import Crypto
import Foundation
import MailCore
import _CryptoExtras

/// The outcome of checking one DKIM signature (RFC 8601 §2.7.1 vocabulary).
public struct DKIMResult: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// No signature (only used by callers summarising an empty result list).
        case none
        case pass
        /// The signature or body hash did not verify, or the signature has expired.
        case fail
        /// The signature verified but covers only part of the body (`l=`) and content follows the signed part.
        case policy
        /// A signature we did not check (past `DKIMVerifier.maximumSignatures`).
        case neutral
        /// The key could not be fetched for now.
        case temperror
        /// A broken signature or key record, a revoked or too small key, a refused algorithm.
        case permerror
    }

    public var status: Status
    /// `d=`, `s=`, `a=` and `i=` of the signature ("" when the field could not be parsed that far).
    public var domain: String
    public var selector: String
    public var algorithm: String
    public var identity: String
    /// The first 8 characters of `b=` (RFC 6008 `header.b`), to tell apart signatures with the same d= and s=.
    public var signaturePrefix: String
    /// Why, for anything but a plain pass.
    public var reason: String?
    /// The key record says `t=y` (testing): receivers should not treat a failure differently from no signature.
    public var isTesting: Bool
    /// The signature uses `l=` (a body length limit). A pass with this set covers the whole current body.
    public var hasBodyLengthLimit: Bool

    public init(status: Status, domain: String = "", selector: String = "", algorithm: String = "", identity: String = "",
                signaturePrefix: String = "", reason: String? = nil, isTesting: Bool = false,
                hasBodyLengthLimit: Bool = false) {
        self.status = status
        self.domain = domain
        self.selector = selector
        self.algorithm = algorithm
        self.identity = identity
        self.signaturePrefix = signaturePrefix
        self.reason = reason
        self.isTesting = isTesting
        self.hasBodyLengthLimit = hasBodyLengthLimit
    }
}

/// Verifies the DKIM-Signature fields of a message (RFC 6376 §6).
///
/// Policy choices, each from the RFCs' MAY/SHOULD:
/// - At most `maximumSignatures` (5) signatures are checked, top first; later ones are reported `neutral`.
/// - rsa-sha1 is refused (`permerror`, RFC 8301 §3.1); RSA keys under 1024 bits are `permerror` (RFC 8301 §3.2).
/// - An expired signature (`x=` before now) is `fail`; a `t=` more than `allowedClockSkew` in the future is `fail`.
/// - `l=`: the signature is verified over the first `l` bytes of the canonical body. If more body follows, the result
///   is `policy` (the added content is unsigned, RFC 6376 §8.2); if `l` covers the whole body it is `pass` with
///   `hasBodyLengthLimit` set. An `l` larger than the body is `fail`.
/// - No signatures at all: an empty array (Authentication-Results then says `dkim=none`).
public struct DKIMVerifier: Sendable {
    public var resolver: any DNSResolving
    public var maximumSignatures = 5
    public var allowedClockSkew: UnixTime = 300

    public init(resolver: any DNSResolving) {
        self.resolver = resolver
    }

    public func verify(message: [UInt8], now: UnixTime) async -> [DKIMResult] {
        let parsed = RawMessage(message)
        let signatureFields = parsed.fields.filter { $0.lowercasedName == "dkim-signature" }
        var results: [DKIMResult] = []
        for (index, field) in signatureFields.enumerated() {
            if index >= maximumSignatures {
                results.append(DKIMResult(status: .neutral, reason: "not checked: more than \(maximumSignatures) signatures"))
                continue
            }
            results.append(await verify(field: field, in: parsed, now: now))
        }
        return results
    }

    func verify(field: RawHeaderField, in message: RawMessage, now: UnixTime) async -> DKIMResult {
        let value = String(decoding: field.raw.drop { $0 != UInt8(ascii: ":") }.dropFirst(), as: UTF8.self)
        let signature: DKIMSignature
        do { signature = try DKIMSignature(parsing: value) } catch {
            var result = DKIMResult(status: .permerror, reason: error.description)
            if let tags = try? TagList(parsing: value) {
                result.domain = tags["d"]?.removingWhitespace().lowercased() ?? ""
                result.selector = tags["s"]?.removingWhitespace() ?? ""
                result.algorithm = tags["a"] ?? ""
            }
            return result
        }
        var result = DKIMResult(status: .pass, domain: signature.domain, selector: signature.selector,
                                algorithm: signature.algorithmName, identity: signature.identity,
                                signaturePrefix: String(Base64.encode(signature.signature).prefix(8)),
                                hasBodyLengthLimit: signature.bodyLength != nil)
        func outcome(_ status: DKIMResult.Status, _ reason: String?) -> DKIMResult {
            result.status = status
            result.reason = reason
            return result
        }
        guard let algorithm = signature.algorithm else {
            return outcome(.permerror, "algorithm \(signature.algorithmName) not accepted (RFC 8301)")
        }
        if let expiration = signature.expiration, expiration < now { return outcome(.fail, "signature expired") }
        if let timestamp = signature.timestamp, timestamp > now + allowedClockSkew {
            return outcome(.fail, "signature timestamp in the future")
        }

        let record: DKIMPublicKeyRecord
        switch await fetchKey(signature) {
        case .success(let found): record = found
        case .failure(let failure): return outcome(failure.status, failure.reason)
        }
        result.isTesting = record.isTesting
        if let problem = Self.keyProblem(record, for: signature, algorithm: algorithm) { return outcome(.permerror, problem) }

        var body = signature.canonicalization.body.canonicalize(body: message.body)
        var unsignedBytes = 0
        if let length = signature.bodyLength {
            guard length <= body.count else { return outcome(.fail, "l= is longer than the body") }
            unsignedBytes = body.count - length
            body = Array(body.prefix(length))
        }
        guard Array(SHA256.hash(data: body)) == signature.bodyHash else { return outcome(.fail, "body hash mismatch") }

        let data = dkimSignedData(fields: message.fields, signedHeaders: signature.signedHeaders, signatureField: field,
                                  canonicalization: signature.canonicalization.header)
        switch Self.check(signature.signature, over: data, key: record.publicKey, type: record.keyType) {
        case .valid:
            if unsignedBytes > 0 { return outcome(.policy, "l=: \(unsignedBytes) body bytes after the signed part") }
            return outcome(.pass, nil)
        case .invalid:
            return outcome(.fail, "signature did not verify")
        case .unusableKey(let reason):
            return outcome(.permerror, reason)
        }
    }

    /// §6.1.2 steps 6–10 and §3.6.1: why this key record cannot check this signature, if it cannot.
    static func keyProblem(_ record: DKIMPublicKeyRecord, for signature: DKIMSignature, algorithm: DKIMAlgorithm) -> String? {
        if record.isRevoked { return "key revoked" }
        guard record.keyType == algorithm.keyType else {
            return "key type \(record.keyType.rawValue) does not match \(algorithm.rawValue)"
        }
        if let hashes = record.hashAlgorithms, !hashes.contains("sha256") { return "key record does not allow sha256 (h=)" }
        guard record.serviceTypes.contains("*") || record.serviceTypes.contains("email") else {
            return "key record not for email (s=)"
        }
        if record.isStrictIdentity, signature.identityDomain != signature.domain {
            return "key record forbids subdomains in i= (t=s)"
        }
        return nil
    }

    struct KeyFailure: Error {
        var status: DKIMResult.Status
        var reason: String
    }

    /// §6.1.2: the TXT at `s._domainkey.d`; the first record that parses is used.
    func fetchKey(_ signature: DKIMSignature) async -> Result<DKIMPublicKeyRecord, KeyFailure> {
        guard let name = DomainName("\(signature.selector)._domainkey.\(signature.domain)") else {
            return .failure(KeyFailure(status: .permerror, reason: "invalid key name"))
        }
        let texts: [String]
        do { texts = try await resolver.txt(name) } catch {
            return .failure(error.isTemporary
                ? KeyFailure(status: .temperror, reason: "key lookup: \(error)")
                : KeyFailure(status: .permerror, reason: "no key record at \(name)"))
        }
        var firstError: DKIMPublicKeyRecord.ParseError?
        for text in texts {
            do { return .success(try DKIMPublicKeyRecord(parsing: text)) } catch { firstError = firstError ?? error }
        }
        return .failure(KeyFailure(status: .permerror, reason: firstError.map(\.description) ?? "no key record at \(name)"))
    }

    enum CryptoCheck { case valid, invalid, unusableKey(String) }

    static func check(_ signature: [UInt8], over data: [UInt8], key: [UInt8], type: DKIMKeyType) -> CryptoCheck {
        let digest = SHA256.hash(data: data)
        switch type {
        case .rsa:
            guard let publicKey = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: key) else {
                return .unusableKey("RSA key unreadable or under 1024 bits")
            }
            guard publicKey.keySizeInBits >= 1024 else { return .unusableKey("RSA key under 1024 bits") }
            let valid = publicKey.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest,
                                                   padding: .insecurePKCS1v1_5)
            return valid ? .valid : .invalid
        case .ed25519:
            guard let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key) else {
                return .unusableKey("Ed25519 key is not 32 bytes")
            }
            return publicKey.isValidSignature(signature, for: Data(digest)) ? .valid : .invalid
        }
    }
}
