#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOSSL
import SwiftASN1
import Synchronization
import X509

/// What is wrong with the TLS certificate or key; each case names the file.
public enum TLSMaterialError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file does not exist.
    case fileMissing(path: String)
    /// The file exists but cannot be read (permissions, a directory, …).
    case fileUnreadable(path: String, reason: String)
    /// The file holds no PEM block of the expected kind ("CERTIFICATE", or "PRIVATE KEY" / "EC PRIVATE KEY" / "RSA PRIVATE KEY").
    case notPEM(path: String, expected: String)
    /// A PEM block is there but does not parse as a certificate.
    case invalidCertificate(path: String, reason: String)
    /// A PEM block is there but does not parse as a supported private key.
    case invalidPrivateKey(path: String, reason: String)
    /// The private key does not belong to the first certificate of the chain.
    case keyDoesNotMatchCertificate(certificatePath: String, keyPath: String)
    /// NIOSSL refused the material.
    case tlsContextFailed(reason: String)
    /// Writing a file failed.
    case fileNotWritten(path: String, reason: String)

    public var description: String {
        switch self {
        case .fileMissing(let path): "\(path): file does not exist"
        case .fileUnreadable(let path, let reason): "\(path): cannot read file (\(reason))"
        case .notPEM(let path, let expected): "\(path): no PEM \(expected) block found"
        case .invalidCertificate(let path, let reason): "\(path): not a valid certificate (\(reason))"
        case .invalidPrivateKey(let path, let reason): "\(path): not a valid private key (\(reason))"
        case .keyDoesNotMatchCertificate(let cert, let key): "\(key): private key does not match the certificate in \(cert)"
        case .tlsContextFailed(let reason): "cannot build the TLS context (\(reason))"
        case .fileNotWritten(let path, let reason): "\(path): cannot write file (\(reason))"
        }
    }
}

/// The server's certificate chain and key, as the `NIOSSLContext` new connections use.
///
/// Sendable. `reload()` (on SIGHUP) re-reads the files: connections accepted afterwards get the new certificate, live
/// connections keep theirs. A failed reload keeps the previous context and throws.
public final class TLSCertificateStore: Sendable {
    enum Source: Sendable {
        case files(certificatePath: String, privateKeyPath: String)
        case pem(certificateChain: String, privateKey: String)
    }

    let source: Source
    private let current: Mutex<NIOSSLContext>

    /// Loads a PEM certificate chain (leaf first) and a PEM private key from files.
    public convenience init(certificateFile: String, privateKeyFile: String) throws(TLSMaterialError) {
        try self.init(source: .files(certificatePath: certificateFile, privateKeyPath: privateKeyFile))
    }

    /// Uses an in-memory PEM certificate chain and key (e.g. a fresh `SelfSignedCertificate`).
    public convenience init(certificateChainPEM: String, privateKeyPEM: String) throws(TLSMaterialError) {
        try self.init(source: .pem(certificateChain: certificateChainPEM, privateKey: privateKeyPEM))
    }

    init(source: Source) throws(TLSMaterialError) {
        self.source = source
        self.current = Mutex(try Self.makeContext(source))
    }

    /// The context for a new connection.
    public var context: NIOSSLContext { current.withLock { $0 } }

    /// Re-reads the source; on success new connections use the new material.
    public func reload() throws(TLSMaterialError) {
        let context = try Self.makeContext(source)
        current.withLock { $0 = context }
    }

    static func makeContext(_ source: Source) throws(TLSMaterialError) -> NIOSSLContext {
        let chainPEM: String
        let keyPEM: String
        let certificatePath: String
        let keyPath: String
        switch source {
        case .files(let cert, let key):
            chainPEM = try readTextFile(cert)
            keyPEM = try readTextFile(key)
            (certificatePath, keyPath) = (cert, key)
        case .pem(let chain, let key):
            (chainPEM, keyPEM) = (chain, key)
            (certificatePath, keyPath) = ("<certificate PEM>", "<private key PEM>")
        }
        let chain = try parseCertificateChain(chainPEM, path: certificatePath)
        let key = try parsePrivateKey(keyPEM, path: keyPath)
        guard key.publicKey == chain[0].publicKey else {
            throw .keyDoesNotMatchCertificate(certificatePath: certificatePath, keyPath: keyPath)
        }
        do {
            let nioChain = try chain.map { certificate in
                var serializer = DER.Serializer()
                try serializer.serialize(certificate)
                return NIOSSLCertificateSource.certificate(
                    try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
                )
            }
            let nioKey = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
            return try NIOSSLContext(configuration: serverConfiguration(certificateChain: nioChain, privateKey: nioKey))
        } catch {
            throw .tlsContextFailed(reason: "\(error)")
        }
    }

    /// TLS 1.2 cipher suites: ECDHE (forward secrecy) with AES-128-GCM (AEAD), one per certificate key type.
    ///
    /// NIOSSL (2.37) has no switch for server cipher preference (BoringSSL's `SSL_OP_CIPHER_SERVER_PREFERENCE`): with
    /// several suites per key type the client's order would pick. With one the choice is the server's whatever the
    /// client's order, and AES-128-GCM is the suite every TLS 1.2 client implements (RFC 9325 §4.2). TLS 1.3 suites
    /// (AES-128-GCM, AES-256-GCM, CHACHA20-POLY1305; all AEAD) are BoringSSL's fixed set and not affected by this list.
    /// No CBC suite (LUCKY13), no RSA key exchange, no DHE, nothing below 128 bits.
    static let tls12CipherSuites = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

    /// The one server TLS configuration every listener uses (implicit TLS and STARTTLS alike): TLS 1.2 and 1.3 only,
    /// AEAD suites only (Mozilla "intermediate", narrowed as `tls12CipherSuites` says).
    static func serverConfiguration(certificateChain: [NIOSSLCertificateSource], privateKey: NIOSSLPrivateKey) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: certificateChain, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        configuration.cipherSuites = tls12CipherSuites
        return configuration
    }

    /// The certificates of a PEM chain, leaf first.
    static func parseCertificateChain(_ pem: String, path: String) throws(TLSMaterialError) -> [Certificate] {
        let documents = (try? PEMDocument.parseMultiple(pemString: pem)) ?? []
        let blocks = documents.filter { $0.discriminator == "CERTIFICATE" }
        guard !blocks.isEmpty else { throw .notPEM(path: path, expected: "CERTIFICATE") }
        var chain: [Certificate] = []
        for block in blocks {
            do {
                chain.append(try Certificate(derEncoded: block.derBytes))
            } catch {
                throw .invalidCertificate(path: path, reason: "\(error)")
            }
        }
        return chain
    }

    static func parsePrivateKey(_ pem: String, path: String) throws(TLSMaterialError) -> Certificate.PrivateKey {
        let kinds = ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"]
        let documents = (try? PEMDocument.parseMultiple(pemString: pem)) ?? []
        guard let block = documents.first(where: { kinds.contains($0.discriminator) }) else {
            throw .notPEM(path: path, expected: "PRIVATE KEY")
        }
        do {
            return try Certificate.PrivateKey(pemDocument: block)
        } catch {
            throw .invalidPrivateKey(path: path, reason: "\(error)")
        }
    }

    static func readTextFile(_ path: String) throws(TLSMaterialError) -> String {
        let files = FileManager.default
        guard files.fileExists(atPath: path) else { throw .fileMissing(path: path) }
        if (try? files.contentsOfDirectory(atPath: path)) != nil { throw .fileUnreadable(path: path, reason: "is a directory") }
        guard let data = files.contents(atPath: path) else {
            throw .fileUnreadable(path: path, reason: "permission denied or I/O error")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
