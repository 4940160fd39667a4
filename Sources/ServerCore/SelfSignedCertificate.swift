#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Crypto
import NIOCore
import SwiftASN1
import X509

/// A freshly made self-signed server certificate (ECDSA P-256) and its key, both PEM.
///
/// Used by `letterbox serve` without configured certificates and by `--dev`: CA:FALSE, KeyUsage digitalSignature,
/// ExtendedKeyUsage serverAuth, the host names and IP addresses as subjectAltNames (CN = the first host name).
public struct SelfSignedCertificate: Sendable {
    public let certificatePEM: String
    public let privateKeyPEM: String

    /// Makes a certificate valid from 5 minutes ago (clock skew) for `validity`.
    /// - Parameters:
    ///   - hostnames: DNS names (at least one), e.g. ["mail.example.test"].
    ///   - ipAddresses: IPv4 or IPv6 literals, e.g. ["127.0.0.1", "::1"].
    public static func generate(
        hostnames: [String],
        ipAddresses: [String] = [],
        validity: Duration = .seconds(365 * 86_400)
    ) throws -> SelfSignedCertificate {
        precondition(!hostnames.isEmpty, "a certificate needs at least one host name")
        let key = P256.Signing.PrivateKey()
        let privateKey = Certificate.PrivateKey(key)
        let subject = try DistinguishedName {
            CommonName(hostnames[0])
            OrganizationName("Letterbox self-signed")
        }
        var names: [GeneralName] = hostnames.map { .dnsName($0) }
        for literal in ipAddresses {
            guard let bytes = Self.addressBytes(literal) else { throw SelfSignedCertificateError.invalidIPAddress(literal) }
            names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...])))
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: privateKey.publicKey,
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(validity.components.seconds)),
            issuer: subject,
            subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            },
            issuerPrivateKey: privateKey
        )
        return SelfSignedCertificate(
            certificatePEM: try certificate.serializeAsPEM().pemString,
            privateKeyPEM: key.pemRepresentation
        )
    }

    /// Writes the certificate (mode 0644) and the key (mode 0600) to the given paths, replacing existing files.
    public func write(certificateFile: String, privateKeyFile: String) throws(TLSMaterialError) {
        try Self.writeFile(certificateFile, contents: certificatePEM, permissions: 0o644)
        try Self.writeFile(privateKeyFile, contents: privateKeyPEM, permissions: 0o600)
    }

    static func writeFile(_ path: String, contents: String, permissions: Int) throws(TLSMaterialError) {
        let files = FileManager.default
        if files.fileExists(atPath: path) {
            do { try files.removeItem(atPath: path) } catch { throw .fileNotWritten(path: path, reason: "\(error)") }
        }
        // Created with the final mode, so the key is never readable by others, not even briefly.
        guard files.createFile(atPath: path, contents: Data(contents.utf8), attributes: [.posixPermissions: permissions])
        else { throw .fileNotWritten(path: path, reason: "cannot create file") }
    }

    /// Network-order bytes of an IPv4 or IPv6 literal.
    static func addressBytes(_ literal: String) -> [UInt8]? {
        guard let address = try? SocketAddress(ipAddress: literal, port: 0) else { return nil }
        switch address {
        case .v4(let v4): return withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
        case .v6(let v6): return withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        case .unixDomainSocket: return nil
        }
    }
}

/// Why `SelfSignedCertificate.generate` failed before reaching swift-certificates.
public enum SelfSignedCertificateError: Error, Sendable, Equatable {
    case invalidIPAddress(String)
}

/// What `letterbox doctor` checks in a certificate: its validity period and the names it covers.
public struct CertificateSummary: Sendable, Hashable {
    public var subject: String
    public var notValidBefore: Date
    public var notValidAfter: Date
    /// subjectAltName dNSName entries.
    public var dnsNames: [String]
    /// subjectAltName iPAddress entries, as text.
    public var ipAddresses: [String]

    /// Summarises the first (leaf) certificate of a PEM chain.
    public init(certificatePEM: String, path: String = "<certificate PEM>") throws(TLSMaterialError) {
        let leaf = try TLSCertificateStore.parseCertificateChain(certificatePEM, path: path)[0]
        subject = "\(leaf.subject)"
        notValidBefore = leaf.notValidBefore
        notValidAfter = leaf.notValidAfter
        dnsNames = []
        ipAddresses = []
        let alternativeNames = (try? leaf.extensions.subjectAlternativeNames) ?? nil
        for name in alternativeNames ?? SubjectAlternativeNames([]) {
            switch name {
            case .dnsName(let dns): dnsNames.append(dns)
            case .ipAddress(let octets): ipAddresses.append(Self.addressText(Array(octets.bytes)))
            default: continue
            }
        }
    }

    /// Summarises the leaf certificate of a PEM file.
    public init(certificateFile: String) throws(TLSMaterialError) {
        try self.init(certificatePEM: try TLSCertificateStore.readTextFile(certificateFile), path: certificateFile)
    }

    static func addressText(_ bytes: [UInt8]) -> String {
        let address = try? SocketAddress(packedIPAddress: ByteBuffer(bytes: bytes), port: 0)
        return address?.ipAddress ?? bytes.map { String($0, radix: 16) }.joined(separator: ":")
    }
}
