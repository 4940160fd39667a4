import Foundation
import ServerCore

/// The listener side of `letterbox doctor`: reachability and TLS of each listener, the certificate, authentication before
/// TLS (RFC 3207 §4, RFC 8314 §3, RFC 9051 §6.2.3), submission requiring AUTH (RFC 6409 §4.3) and open relaying.
extension Doctor {
    enum Kind { case plain, startTLSSMTP, startTLSIMAP, implicitTLS }

    static func kind(_ service: LetterboxConfiguration.Service) -> Kind {
        switch service {
        case .smtp, .submission: .startTLSSMTP
        case .imap: .startTLSIMAP
        case .submissions, .imaps: .implicitTLS
        case .http: .plain
        }
    }

    // MARK: Reachable, TLS works, TLS 1.2+ only

    func listenerChecks() async -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        for (service, address) in addresses.sorted(by: { $0.key < $1.key }) {
            let reachable = await reachable(service, address)
            checks.append(reachable)
            if reachable.passed, Self.kind(service) != .plain { checks.append(await legacyTLSRefused(service, address)) }
        }
        return checks
    }

    func reachable(_ service: LetterboxConfiguration.Service, _ address: ListenAddress) async -> DoctorCheck {
        let name = "listen.\(service.rawValue) \(address)"
        do {
            let detail = try await open(service, address, tls: .anyCertificate) { line in
                if Self.kind(service) == .plain { return "reachable" }
                let version = await line.tlsVersion()
                return "reachable, \(version) handshake works"
            }
            return .pass(name, detail)
        } catch {
            return .fail(name, "\(error)", fix: "start the server (letterbox serve) and check that nothing blocks \(address) (firewall, another program)")
        }
    }

    func legacyTLSRefused(_ service: LetterboxConfiguration.Service, _ address: ListenAddress) async -> DoctorCheck {
        let name = "listen.\(service.rawValue) refuses TLS 1.1"
        do {
            let version = try await open(service, address, tls: .legacyOnly) { line in await line.tlsVersion() }
            return .fail(name, "a TLS 1.1 client got a \(version) session", fix: "upgrade Letterbox: TLS below 1.2 must be refused (RFC 8996)")
        } catch {
            return .pass(name, "a client offering at most TLS 1.1 is refused")
        }
    }

    /// Connects to a listener, reads its greeting, brings up TLS (implicitly or with STARTTLS) and runs `body`.
    func open<T: Sendable>(_ service: LetterboxConfiguration.Service, _ address: ListenAddress, tls: DoctorTLS,
                           _ body: (inout DoctorLine) async throws -> T) async throws -> T {
        switch Self.kind(service) {
        case .plain:
            return try await DoctorLine.with(address) { line in try await body(&line) }
        case .implicitTLS:
            return try await DoctorLine.with(address, tls: tls) { line in
                _ = try await line.readLine()
                return try await body(&line)
            }
        case .startTLSSMTP:
            return try await DoctorLine.with(address) { line in
                _ = try await line.smtpReply()
                _ = try await line.smtp("EHLO doctor.invalid")
                let reply = try await line.smtp("STARTTLS")
                guard reply.code == 220 else { throw DoctorConnectionError(description: "STARTTLS refused: \(reply.code) \(reply.lines.joined(separator: " "))") }
                try await line.startTLS(tls)
                return try await body(&line)
            }
        case .startTLSIMAP:
            return try await DoctorLine.with(address) { line in
                _ = try await line.readLine()
                let reply = try await line.imap("t1", "STARTTLS")
                guard reply.last?.hasPrefix("t1 OK") == true else { throw DoctorConnectionError(description: "STARTTLS refused: \(reply.last ?? "")") }
                try await line.startTLS(tls)
                return try await body(&line)
            }
        }
    }

    // MARK: The certificate

    /// The TLS listener the certificate checks look at: implicit TLS first.
    var tlsListener: (LetterboxConfiguration.Service, ListenAddress)? { firstListener([.submissions, .imaps, .submission, .imap, .smtp]) }

    /// The first of `services` that has a listener.
    func firstListener(_ services: [LetterboxConfiguration.Service]) -> (LetterboxConfiguration.Service, ListenAddress)? {
        for service in services {
            if let address = addresses[service] { return (service, address) }
        }
        return nil
    }

    func certificateChecks() async -> [DoctorCheck] {
        guard let listener = tlsListener else { return [] }
        let (service, address) = listener
        let summary: CertificateSummary
        do {
            guard let pem = try await open(service, address, tls: .anyCertificate, { line in try await line.peerCertificatePEM() }) else {
                return [.fail("certificate", "no certificate was presented", fix: "set tls.cert and tls.key")]
            }
            summary = try CertificateSummary(certificatePEM: pem)
        } catch {
            return [.fail("certificate", "cannot read the served certificate: \(error)", fix: "set tls.cert and tls.key to a valid PEM certificate and key")]
        }
        return [certificateDates(summary), certificateNames(summary), await certificateChain(service, address)]
    }

    var renewFix: String {
        "renew the certificate for \(hostname) (e.g. certbot renew), point tls.cert/tls.key at it and reload with kill -HUP <letterbox pid>"
    }

    func certificateDates(_ summary: CertificateSummary, now: Date = Date()) -> DoctorCheck {
        let name = "certificate validity"
        let days = Int(summary.notValidAfter.timeIntervalSince(now) / 86_400)
        if summary.notValidAfter < now { return .fail(name, "expired on \(summary.notValidAfter)", fix: renewFix) }
        if summary.notValidBefore > now { return .fail(name, "not valid before \(summary.notValidBefore)", fix: "check the system clock, or \(renewFix)") }
        if days < 14 { return .fail(name, "expires in \(days) days (\(summary.notValidAfter))", fix: renewFix) }
        return .pass(name, "valid for \(days) more days")
    }

    func certificateNames(_ summary: CertificateSummary) -> DoctorCheck {
        let name = "certificate names"
        if summary.dnsNames.contains(where: { Self.nameMatches($0, hostname) }) {
            return .pass(name, "covers \(hostname)")
        }
        return .fail(name, "covers \(summary.dnsNames.joined(separator: ", ")), not \(hostname)",
                     fix: "get a certificate whose names include \(hostname) and set tls.cert/tls.key to it")
    }

    static func nameMatches(_ pattern: String, _ host: String) -> Bool {
        let pattern = pattern.lowercased()
        if pattern.hasPrefix("*.") {
            guard let dot = host.firstIndex(of: ".") else { return false }
            return host[host.index(after: dot)...] == pattern.dropFirst(2)
        }
        return pattern == host
    }

    func certificateChain(_ service: LetterboxConfiguration.Service, _ address: ListenAddress) async -> DoctorCheck {
        let name = "certificate chain"
        do {
            _ = try await open(service, address, tls: .verify(hostname: hostname, extraRoots: configuration.delivery.trustRoots)) { _ in true }
            return .pass(name, "verifies for \(hostname) against the system trust roots")
        } catch {
            let selfSigned = configuration.tlsCertificate == nil
            return .fail(name, selfSigned ? "self-signed (no tls.cert configured): clients will warn" : "does not verify: \(error)",
                         fix: selfSigned ? "set tls.cert/tls.key to a certificate for \(hostname) from a public CA (e.g. Let's Encrypt)"
                            : "set tls.cert to the full chain (leaf first, then intermediates) of a certificate for \(hostname) from a trusted CA")
        }
    }
}
