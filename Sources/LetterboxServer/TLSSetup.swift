import Foundation
import Logging
import ServerCore

/// The server's TLS material: the configured PEM files, or a self-signed certificate kept in `DATA_DIR/tls/` — made on
/// first start, and made again when it no longer covers the host name or expires within 14 days.
enum TLSSetup {
    static func certificateStore(for configuration: LetterboxConfiguration, logger: Logger) throws(ConfigurationError) -> TLSCertificateStore {
        if let certificate = configuration.tlsCertificate, let key = configuration.tlsKey {
            do {
                return try TLSCertificateStore(certificateFile: certificate, privateKeyFile: key)
            } catch {
                throw ConfigurationError(key: "tls.cert", value: certificate, problem: error.description)
            }
        }
        let directory = configuration.dataDirectory + "/tls"
        let certificateFile = directory + "/self-signed.pem", keyFile = directory + "/self-signed.key"
        if !isUsable(certificateFile: certificateFile, hostname: configuration.hostname) {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let generated = try SelfSignedCertificate.generate(hostnames: [configuration.hostname], ipAddresses: ["127.0.0.1", "::1"])
                try generated.write(certificateFile: certificateFile, privateKeyFile: keyFile)
            } catch {
                throw ConfigurationError(key: "tls", value: directory, problem: "cannot make a self-signed certificate: \(error)")
            }
        }
        logger.warning(
            "no TLS certificate configured: using a self-signed certificate; mail clients will warn. Set tls.cert and tls.key for production.",
            metadata: ["certificate": "\(certificateFile)", "hostname": "\(configuration.hostname)"])
        do {
            return try TLSCertificateStore(certificateFile: certificateFile, privateKeyFile: keyFile)
        } catch {
            throw ConfigurationError(key: "tls", value: certificateFile, problem: error.description)
        }
    }

    static func isUsable(certificateFile: String, hostname: String) -> Bool {
        guard let summary = try? CertificateSummary(certificateFile: certificateFile) else { return false }
        return summary.dnsNames.contains(hostname.lowercased()) && summary.notValidAfter.timeIntervalSinceNow > 14 * 86_400
    }
}
