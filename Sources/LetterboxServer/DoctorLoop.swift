import Foundation

/// The full loop: a throwaway account `doctor-<random>@<domain>` submits a message to itself over submission (AUTH PLAIN
/// over TLS) and reads it back over IMAP within 10 seconds; the account is removed afterwards.
extension Doctor {
    func loopCheck(_ system: MailSystem, domain: String) async -> DoctorCheck {
        let name = "submission → IMAP loop"
        guard let submit = firstListener([.submissions, .submission]), let read = firstListener([.imaps, .imap]) else {
            return .fail(name, "needs a submission and an IMAP listener", fix: "set listen.submissions (or listen.submission) and listen.imaps (or listen.imap)")
        }
        let token = Self.randomToken()
        let address = "doctor-\(token.prefix(12))@\(domain)"
        let password = Self.randomToken()
        do {
            _ = try await system.directory.addUser(address, password: password)
        } catch {
            return .fail(name, "cannot create the test account \(address): \(error)", fix: "check that the data directory is writable by this user")
        }
        let outcome: DoctorCheck
        do {
            let start = ContinuousClock.now
            try await submitMessage(submit, from: address, password: password, token: token)
            let found = try await waitForMessage(read, user: address, password: password, token: token)
            let elapsed = ContinuousClock.now - start
            outcome = found ? .pass(name, "sent over listen.\(submit.0.rawValue), read back over listen.\(read.0.rawValue) in \(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000) ms")
                : .fail(name, "the message did not arrive within 10 s", fix: "look at the server log (letterbox serve --log-level debug) for the delivery")
        } catch {
            outcome = .fail(name, "\(error)", fix: "look at the server log (letterbox serve --log-level debug)")
        }
        try? await system.directory.removeUser(address)
        return outcome
    }

    func submitMessage(_ listener: (LetterboxConfiguration.Service, ListenAddress), from address: String, password: String, token: String) async throws {
        let credentials = Data("\0\(address)\0\(password)".utf8).base64EncodedString()
        try await open(listener.0, listener.1, tls: .anyCertificate) { line in
            _ = try await line.smtp("EHLO doctor.invalid")
            try Self.expect(try await line.smtp("AUTH PLAIN \(credentials)"), 235, "AUTH")
            try Self.expect(try await line.smtp("MAIL FROM:<\(address)>"), 250, "MAIL FROM")
            try Self.expect(try await line.smtp("RCPT TO:<\(address)>"), 250, "RCPT TO")
            try Self.expect(try await line.smtp("DATA"), 354, "DATA")
            let message = [
                "From: <\(address)>", "To: <\(address)>", "Subject: letterbox doctor \(token)",
                "Date: \(Self.rfc5322Date())", "Message-ID: <\(token)@\(hostname)>", "",
                "A test message from letterbox doctor; it is removed with its account.", ".",
            ]
            try Self.expect(try await line.smtp(message.joined(separator: "\r\n")), 250, "end of data")
            _ = try? await line.smtp("QUIT")
        }
    }

    func waitForMessage(_ listener: (LetterboxConfiguration.Service, ListenAddress), user: String, password: String, token: String) async throws -> Bool {
        try await open(listener.0, listener.1, tls: .anyCertificate) { line in
            let login = try await line.imap("l1", "LOGIN \"\(user)\" \"\(password)\"")
            guard login.last?.hasPrefix("l1 OK") == true else { throw DoctorConnectionError(description: "IMAP LOGIN failed: \(login.last ?? "")") }
            _ = try await line.imap("l2", "SELECT INBOX")
            for attempt in 0..<40 {
                let lines = try await line.imap("s\(attempt)", "SEARCH SUBJECT \"\(token)\"")
                if lines.contains(where: { $0.hasPrefix("* SEARCH ") && $0.count > 9 }) { return true }
                try await Task.sleep(for: .milliseconds(200))
            }
            return false
        }
    }

    static func expect(_ reply: (code: Int, lines: [String]), _ code: Int, _ step: String) throws {
        guard reply.code == code else {
            throw DoctorConnectionError(description: "\(step) got \(reply.code) \(reply.lines.joined(separator: " "))")
        }
    }

    static func randomToken() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<24).map { _ in alphabet.randomElement()! })
    }

    static func rfc5322Date() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: Date())
    }
}
