import Foundation
import NIOCore
import NIOSSL
import ServerCore
import Testing

@Suite("TLS")
struct TLSTests {
    @Test("implicit TLS: the client verifies the self-signed chain and host name, the session sees TLS 1.3")
    func implicitTLS() async throws {
        let certificate = try TestCertificate()
        let client = try TestCertificate.client(trusting: [certificate.selfSigned])
        let configuration = ListenerConfiguration(name: "imaps", port: 0, tlsMode: .implicit)
        try await withListener(configuration, certificates: certificate.store) { _, port in
            try await TestClient.with(port: port, tls: client) { client in
                #expect(try await client.readLine() == "+OK ready")
                try await client.send("TLS?\r\n")
                #expect(try await client.readLine() == "+OK tls=true version=tlsv13")
                #expect(try await client.peerCertificateDER() == certificate.der)
            }
        }
    }

    @Test("the client check is real: a wrong host name or another certificate fails the handshake")
    func clientCheckCanFail() async throws {
        // No IP address SAN: NIOSSL would accept the connection's IP (127.0.0.1) whatever the host name.
        let certificate = try TestCertificate(ipAddresses: [])
        var wrongName = try TestCertificate.client(trusting: [certificate.selfSigned])
        wrongName.serverHostname = "other.example.test"
        let wrongCertificate = try TestCertificate.client(
            trusting: [try SelfSignedCertificate.generate(hostnames: ["localhost"])]
        )
        let configuration = ListenerConfiguration(name: "imaps", port: 0, tlsMode: .implicit)
        try await withListener(configuration, certificates: certificate.store) { _, port in
            for client in [wrongName, wrongCertificate] {
                await #expect(throws: (any Error).self) {
                    try await TestClient.with(port: port, tls: client) { client in _ = try await client.readLine() }
                }
            }
        }
    }

    @Test("a TLS 1.1 client is refused")
    func tls11Refused() async throws {
        let certificate = try TestCertificate()
        let old = try TestCertificate.client(trusting: [certificate.selfSigned], maximumVersion: .tlsv11)
        let log = SessionLog()
        let configuration = ListenerConfiguration(name: "imaps", port: 0, tlsMode: .implicit)
        try await withListener(configuration, certificates: certificate.store, log: log) { _, port in
            await #expect(throws: (any Error).self) {
                try await TestClient.with(port: port, tls: old) { client in
                    // Never a greeting: the handshake fails and the stream ends with the TLS error.
                    _ = try await client.readLine()
                    Issue.record("no handshake failure")
                }
            }
            // The session saw the failure too (its greeting was never delivered).
            #expect(await log.waitFor { $0.hasPrefix("read error") || $0.hasPrefix("session") } != nil)
        }
    }

    @Test("STARTTLS upgrades the connection, 20 times out of 20")
    func startTLSLoop() async throws {
        let certificate = try TestCertificate()
        let context = try TestCertificate.client(trusting: [certificate.selfSigned])
        let configuration = ListenerConfiguration(name: "smtp", port: 0, tlsMode: .startTLS)
        try await withListener(configuration, certificates: certificate.store) { _, port in
            for round in 1...20 {
                try await TestClient.with(port: port) { client in
                    #expect(try await client.readLine() == "+OK ready")
                    try await client.send("TLS?\r\n")
                    #expect(try await client.readLine() == "+OK tls=false version=none")
                    try await client.send("STARTTLS\r\n")
                    #expect(try await client.readLine() == "+OK begin TLS", "round \(round)")
                    try await client.startTLS(context)
                    try await client.send("TLS?\r\n")
                    #expect(try await client.readLine() == "+OK tls=true version=tlsv13", "round \(round)")
                    try await client.send("QUIT\r\n")
                    #expect(try await client.readLine() == "+OK bye")
                }
            }
        }
    }

    @Test("STARTTLS refused where the listener does not offer it")
    func startTLSUnavailable() async throws {
        let log = SessionLog()
        try await withListener(log: log) { _, port in
            try await TestClient.with(port: port) { client in
                #expect(try await client.readLine() == "+OK ready")
                try await client.send("STARTTLS\r\n")
                #expect(try await client.readLine() == "-ERR TLS is not available on this connection")
            }
        }
    }

    /// RFC 3207 §4.2: "INJECTED\r\n" sent in plaintext right behind STARTTLS must never be executed, before or after
    /// the upgrade. Sent in the same TCP write (always in the connection's buffer) and in a second write (in the buffer
    /// or in the inbound stream ahead of the TLS marker, depending on timing): both paths must catch it.
    @Test("plaintext pipelined after STARTTLS is detected and never delivered", arguments: [true, false])
    func startTLSInjection(sameWrite: Bool) async throws {
        let certificate = try TestCertificate()
        let configuration = ListenerConfiguration(name: "smtp", port: 0, tlsMode: .startTLS)
        for _ in 1...5 {
            let log = SessionLog()
            try await withListener(configuration, certificates: certificate.store, log: log) { _, port in
                try await TestClient.with(port: port) { client in
                    #expect(try await client.readLine() == "+OK ready")
                    if sameWrite {
                        try await client.send("STARTTLS\r\nINJECTED\r\n")
                    } else {
                        try await client.send("STARTTLS\r\n")
                        try await client.send("INJECTED\r\n")
                    }
                    var replies: [String] = []
                    while let line = try? await client.readLine() { replies.append(line) }
                    #expect(!replies.contains { $0.contains("INJECTED") })
                }
                let failure = await log.waitFor { $0.hasPrefix("starttls failed") }
                #expect(failure == "starttls failed 10 plaintext bytes pipelined after STARTTLS")
            }
        }
    }

    @Test("reload: new connections get the new certificate, a live connection keeps working")
    func reload() async throws {
        try await withTemporaryDirectory { directory in
            let certificatePath = directory + "/cert.pem"
            let keyPath = directory + "/key.pem"
            let first = try SelfSignedCertificate.generate(hostnames: ["localhost"])
            // Another subject name: a trust store holding two roots of the same name would pick one by name.
            let second = try SelfSignedCertificate.generate(hostnames: ["mail.example.test", "localhost"])
            try first.write(certificateFile: certificatePath, privateKeyFile: keyPath)
            let store = try TLSCertificateStore(certificateFile: certificatePath, privateKeyFile: keyPath)
            let client = try TestCertificate.client(trusting: [first, second])
            let configuration = ListenerConfiguration(name: "imaps", port: 0, tlsMode: .implicit)
            try await withListener(configuration, certificates: store) { _, port in
                try await TestClient.with(port: port, tls: client) { live in
                    #expect(try await live.readLine() == "+OK ready")
                    #expect(try await live.peerCertificateDER() == TestCertificate.der(first.certificatePEM))

                    try second.write(certificateFile: certificatePath, privateKeyFile: keyPath)
                    try store.reload()

                    try await TestClient.with(port: port, tls: client) { fresh async throws in
                        #expect(try await fresh.readLine() == "+OK ready")
                        #expect(try await fresh.peerCertificateDER() == TestCertificate.der(second.certificatePEM))
                    }
                    try await live.send("still\r\n")
                    #expect(try await live.readLine() == "+ECHO still crlf")
                }
            }
        }
    }
}
