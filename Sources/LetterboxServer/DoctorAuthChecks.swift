import Foundation

/// Authentication and relaying, as a client (or an attacker) sees them.
extension Doctor {
    static let cleartextFix = "set auth.allow_cleartext = false"

    func authenticationChecks() async -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        for service in [LetterboxConfiguration.Service.smtp, .submission] {
            if let address = addresses[service] { checks.append(await smtpNoAuthBeforeTLS(service, address)) }
        }
        if let address = addresses[.imap] { checks.append(await imapNoLoginBeforeTLS(address)) }
        if let address = addresses[.submission] ?? addresses[.submissions] {
            let service: LetterboxConfiguration.Service = addresses[.submission] != nil ? .submission : .submissions
            checks.append(await submissionRequiresAuth(service, address))
        }
        if let address = addresses[.smtp] { checks.append(await notAnOpenRelay(address)) }
        return checks
    }

    /// RFC 3207 §4 / RFC 4954 §4: no AUTH in the EHLO reply of a cleartext connection.
    func smtpNoAuthBeforeTLS(_ service: LetterboxConfiguration.Service, _ address: ListenAddress) async -> DoctorCheck {
        let name = "listen.\(service.rawValue): no AUTH before STARTTLS"
        do {
            let keywords = try await DoctorLine.with(address) { line in
                _ = try await line.smtpReply()
                return try await line.smtp("EHLO doctor.invalid").lines.map { $0.uppercased() }
            }
            if let auth = keywords.first(where: { $0.hasPrefix("AUTH") }) {
                return .fail(name, "the cleartext EHLO reply offers \(auth)", fix: Self.cleartextFix)
            }
            guard keywords.contains("STARTTLS") else {
                return .fail(name, "STARTTLS is not offered", fix: "set tls.cert/tls.key (or let Letterbox make a self-signed certificate)")
            }
            return .pass(name, "AUTH is offered only after STARTTLS")
        } catch {
            return .fail(name, "\(error)", fix: "start the server (letterbox serve)")
        }
    }

    /// RFC 9051 §6.2.3 / RFC 8314: LOGINDISABLED and no AUTH= before STARTTLS.
    func imapNoLoginBeforeTLS(_ address: ListenAddress) async -> DoctorCheck {
        let name = "listen.imap: no LOGIN or AUTH= before STARTTLS"
        do {
            let capabilities = try await DoctorLine.with(address) { line in
                _ = try await line.readLine()
                let lines = try await line.imap("c1", "CAPABILITY")
                return (lines.first { $0.uppercased().hasPrefix("* CAPABILITY") } ?? "").uppercased().split(separator: " ").map(String.init)
            }
            let auth = capabilities.filter { $0.hasPrefix("AUTH=") }
            if !capabilities.contains("LOGINDISABLED") || !auth.isEmpty {
                let offered = capabilities.contains("LOGINDISABLED") ? auth.joined(separator: " ") : (["LOGIN"] + auth).joined(separator: " ")
                return .fail(name, "the cleartext CAPABILITY offers \(offered)", fix: Self.cleartextFix)
            }
            return .pass(name, "LOGINDISABLED, no AUTH= before STARTTLS")
        } catch {
            return .fail(name, "\(error)", fix: "start the server (letterbox serve)")
        }
    }

    /// RFC 6409 §4.3 / RFC 4954 §6: MAIL FROM before AUTH gets 530.
    func submissionRequiresAuth(_ service: LetterboxConfiguration.Service, _ address: ListenAddress) async -> DoctorCheck {
        let name = "listen.\(service.rawValue): requires AUTH"
        do {
            let reply = try await open(service, address, tls: .anyCertificate) { line in
                _ = try await line.smtp("EHLO doctor.invalid")
                return try await line.smtp("MAIL FROM:<doctor@example.invalid>")
            }
            if reply.code == 530 { return .pass(name, "MAIL FROM before AUTH gets 530") }
            return .fail(name, "MAIL FROM before AUTH got \(reply.code) \(reply.lines.joined(separator: " "))",
                         fix: "make sure listen.\(service.rawValue) reaches Letterbox's submission service (not an MX or another MTA)")
        } catch {
            return .fail(name, "\(error)", fix: "start the server (letterbox serve)")
        }
    }

    /// The classic relay tricks (RFC 5321 §3.6, §4.1.1.3 source routes, `%` hack, quoted `@`): none may get 250.
    func notAnOpenRelay(_ address: ListenAddress) async -> DoctorCheck {
        let name = "listen.smtp: not an open relay"
        let local = hostname
        let recipients = [
            "<relay-test@example.invalid>", "<\"relay-test@example.invalid\"@\(local)>", "<relay-test%example.invalid@\(local)>",
            "<@\(local):relay-test@example.invalid>", "<relay-test@example.invalid@\(local)>",
        ]
        do {
            let accepted = try await DoctorLine.with(address) { line in
                _ = try await line.smtpReply()
                _ = try await line.smtp("EHLO doctor.invalid")
                _ = try await line.smtp("MAIL FROM:<>")
                var accepted: [String] = []
                for recipient in recipients {
                    let reply = try await line.smtp("RCPT TO:\(recipient)")
                    if (200..<300).contains(reply.code) { accepted.append(recipient) }
                }
                _ = try? await line.smtp("QUIT")
                return accepted
            }
            if accepted.isEmpty { return .pass(name, "refuses \(recipients.count) relay attempts") }
            return .fail(name, "accepts relaying to \(accepted.joined(separator: ", "))",
                         fix: "the MX port must only accept mail for local domains: remove catch-all aliases that forward outside and report this as a bug")
        } catch {
            return .fail(name, "\(error)", fix: "start the server (letterbox serve)")
        }
    }
}
