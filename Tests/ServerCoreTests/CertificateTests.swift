import Foundation
import ServerCore
import Testing

@Suite("Certificates")
struct CertificateTests {
    @Test("a self-signed certificate carries the names, validity and a key that matches")
    func selfSigned() throws {
        let generated = try SelfSignedCertificate.generate(
            hostnames: ["mail.example.test", "example.test"],
            ipAddresses: ["127.0.0.1", "::1"],
            validity: .seconds(30 * 86_400)
        )
        let summary = try CertificateSummary(certificatePEM: generated.certificatePEM)
        #expect(summary.dnsNames == ["mail.example.test", "example.test"])
        #expect(summary.ipAddresses == ["127.0.0.1", "::1"])
        let days = summary.notValidAfter.timeIntervalSinceNow / 86_400
        #expect(days > 29.9 && days < 30.01)  // X.509 times have whole seconds
        #expect(summary.notValidBefore < Date())
        #expect(summary.subject.contains("CN=mail.example.test"))
        _ = try TLSCertificateStore(certificateChainPEM: generated.certificatePEM, privateKeyPEM: generated.privateKeyPEM)
    }

    @Test("an invalid IP address literal is rejected")
    func invalidIPAddress() {
        #expect(throws: SelfSignedCertificateError.invalidIPAddress("300.1.2.3")) {
            try SelfSignedCertificate.generate(hostnames: ["localhost"], ipAddresses: ["300.1.2.3"])
        }
    }

    @Test("written files: key mode 0600, certificate readable, both load back")
    func writeFiles() async throws {
        try await withTemporaryDirectory { directory in
            let generated = try SelfSignedCertificate.generate(hostnames: ["localhost"])
            let certificatePath = directory + "/cert.pem"
            let keyPath = directory + "/key.pem"
            try generated.write(certificateFile: certificatePath, privateKeyFile: keyPath)
            let keyMode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? Int
            let certificateMode = try FileManager.default.attributesOfItem(atPath: certificatePath)[.posixPermissions] as? Int
            #expect(keyMode == 0o600)
            #expect(certificateMode == 0o644)
            _ = try TLSCertificateStore(certificateFile: certificatePath, privateKeyFile: keyPath)
            #expect(try CertificateSummary(certificateFile: certificatePath).dnsNames == ["localhost"])
        }
    }

    enum Material: Sendable {
        case good
        case missing
        case text(String)
        case otherKey
    }

    struct BadCase: CustomTestStringConvertible, Sendable {
        let name: String
        let certificate: Material
        let key: Material
        /// The expected error, given the certificate and key paths.
        let expected: @Sendable (String, String) -> TLSMaterialError
        var testDescription: String { name }
    }

    static let badCases: [BadCase] = [
        BadCase(name: "certificate file missing", certificate: .missing, key: .good) { cert, _ in .fileMissing(path: cert) },
        BadCase(name: "key file missing", certificate: .good, key: .missing) { _, key in .fileMissing(path: key) },
        BadCase(name: "certificate not PEM", certificate: .text("hello, I am not a certificate\n"), key: .good) { cert, _ in
            .notPEM(path: cert, expected: "CERTIFICATE")
        },
        BadCase(name: "key not PEM", certificate: .good, key: .text("garbage")) { _, key in
            .notPEM(path: key, expected: "PRIVATE KEY")
        },
        BadCase(
            name: "certificate PEM block with garbage inside",
            certificate: .text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            key: .good
        ) { cert, _ in .invalidCertificate(path: cert, reason: "") },
        BadCase(name: "key of another certificate", certificate: .good, key: .otherKey) { cert, key in
            .keyDoesNotMatchCertificate(certificatePath: cert, keyPath: key)
        },
    ]

    @Test("bad PEM material: a clear error naming the file", arguments: badCases)
    func badMaterial(_ testCase: BadCase) async throws {
        let good = try SelfSignedCertificate.generate(hostnames: ["localhost"])
        let other = try SelfSignedCertificate.generate(hostnames: ["localhost"])
        try await withTemporaryDirectory { directory in
            let certificatePath = directory + "/cert.pem"
            let keyPath = directory + "/key.pem"
            func place(_ material: Material, at path: String, good: String, other: String) throws {
                switch material {
                case .good: try good.write(toFile: path, atomically: true, encoding: .utf8)
                case .missing: break
                case .text(let text): try text.write(toFile: path, atomically: true, encoding: .utf8)
                case .otherKey: try other.write(toFile: path, atomically: true, encoding: .utf8)
                }
            }
            try place(testCase.certificate, at: certificatePath, good: good.certificatePEM, other: other.certificatePEM)
            try place(testCase.key, at: keyPath, good: good.privateKeyPEM, other: other.privateKeyPEM)
            let expected = testCase.expected(certificatePath, keyPath)
            do throws(TLSMaterialError) {
                _ = try TLSCertificateStore(certificateFile: certificatePath, privateKeyFile: keyPath)
                Issue.record("loaded bad material")
            } catch {
                if case .invalidCertificate(let path, _) = expected {
                    guard case .invalidCertificate(path, _) = error else {
                        Issue.record("got \(error)")
                        return
                    }
                } else {
                    #expect(error == expected)
                }
                #expect(error.description.hasPrefix(expected.description.prefix(while: { $0 != ":" })))
            }
        }
    }

    @Test("a failed reload keeps the previous context")
    func failedReloadKeepsContext() async throws {
        try await withTemporaryDirectory { directory in
            let generated = try SelfSignedCertificate.generate(hostnames: ["localhost"])
            let certificatePath = directory + "/cert.pem"
            let keyPath = directory + "/key.pem"
            try generated.write(certificateFile: certificatePath, privateKeyFile: keyPath)
            let store = try TLSCertificateStore(certificateFile: certificatePath, privateKeyFile: keyPath)
            let before = store.context
            try "broken".write(toFile: certificatePath, atomically: true, encoding: .utf8)
            #expect(throws: TLSMaterialError.notPEM(path: certificatePath, expected: "CERTIFICATE")) { try store.reload() }
            #expect(store.context === before)
        }
    }
}
