import MailCore

/// Command handlers: order rules of RFC 5321 §4.1.4 and the extensions' rules.
extension SMTPServerSession {
    mutating func handle(_ command: SMTPCommand) -> [SMTPServerAction] {
        switch command {
        case .ehlo(let host): return hello(host, extended: true)
        case .helo(let host): return hello(host, extended: false)
        case .mail(let path, let parameters): return mail(path, parameters)
        case .rcpt(let path, let parameters): return rcpt(path, parameters)
        case .data: return data()
        case .bdat(let size, let last): return bdat(size: size, last: last)
        case .rset: return resetTransaction() + [.reply(.ok)]
        case .noop: return [.reply(.ok)]
        case .quit:
            isClosed = true
            return discardBody() + [.reply(.closing(configuration.hostname.name)), .close]
        // RFC 5321 §3.5.3, §7.3: VRFY answers 252 and discloses nothing; EXPN is not offered.
        case .vrfy: return [.reply(.cannotVerify)]
        case .expn: return fail(.commandNotImplemented)
        case .help: return [.reply(.help)]
        case .startTLS: return startTLS()
        case .auth(let mechanism, let initial): return authenticate(mechanism, initial)
        }
    }

    // RFC 5321 §4.1.4: an acceptable EHLO resets the state exactly like RSET.
    private mutating func hello(_ host: SMTPHost, extended: Bool) -> [SMTPServerAction] {
        var actions = resetTransaction()
        clientName = host
        usedEHLO = extended
        let name = configuration.hostname.name
        guard extended else {
            actions.append(.reply(SMTPReply(250, nil, name)))
            return actions
        }
        actions.append(.reply(SMTPReply(code: 250, enhanced: nil, lines: ["\(name) greets \(host)"] + extensions)))
        return actions
    }

    private mutating func mail(_ path: SMTPPath?, _ parameters: SMTPMailParameters) -> [SMTPServerAction] {
        guard clientName != nil, transaction == nil else { return fail(.badSequence) }
        if configuration.role == .submission, authenticatedUser == nil { return fail(.authRequired) }
        if parameters.body == .binaryMIME, !configuration.acceptBinaryMIME { return fail(.parameterNotRecognized) }
        if parameters.requireTLS, !tlsActive { return fail(.parameterNotRecognized) }
        if let size = parameters.size, size > configuration.maximumMessageSize { return fail(.messageTooBig) }
        var sender: EmailAddress?
        if let path {
            if !path.mailbox.isASCII, !parameters.smtpUTF8 { return fail(.nonASCIISenderRefused) }
            guard let address = path.mailbox.emailAddress else { return fail(.badSenderSyntax) }
            sender = address
        }
        let envelope = SMTPEnvelope(
            mailFrom: sender, parameters: parameters, authenticatedUser: authenticatedUser, clientName: clientName, tlsActive: tlsActive)
        awaiting = .sender(envelope)
        return [.checkSender(sender, envelope)]
    }

    /// Answer to `.checkSender`.
    public mutating func senderChecked(_ verdict: SMTPSenderVerdict) -> [SMTPServerAction] {
        guard case .sender(let envelope) = awaiting else { return [] }
        awaiting = nil
        switch verdict {
        case .accepted:
            transaction = envelope
            body = .none
            return [.reply(.senderOk)]
        case .notOwned: return fail(.senderNotOwned)
        case .temporaryFailure: return fail(.localError)
        case .rejected(let reply): return fail(reply)
        }
    }

    private mutating func rcpt(_ forward: SMTPForwardPath, _ parameters: SMTPRecipientParameters) -> [SMTPServerAction] {
        guard clientName != nil, let envelope = transaction, case .none = body else { return fail(.badSequence) }
        let address: EmailAddress
        switch forward {
        case .postmaster:
            address = EmailAddress(localPart: "postmaster", domain: configuration.hostname)
        case .path(let path):
            if let refusal = relayRefusal(path) { return fail(refusal) }
            if !path.mailbox.isASCII, !envelope.smtpUTF8 { return fail(.nonASCIIRecipientRefused) }
            guard let mailboxAddress = path.mailbox.emailAddress else { return fail(.addressLiteralRefused) }
            address = mailboxAddress
        }
        if envelope.recipients.contains(where: { $0.address.normalized == address.normalized }) {
            return [.reply(.recipientOk)]  // a duplicate: already accepted once
        }
        // Not counted as an error: a client with many recipients legitimately sends the rest in a later transaction.
        guard envelope.recipients.count < configuration.maximumRecipients else { return [.reply(.tooManyRecipients)] }
        let recipient = SMTPRecipient(address: address, notify: parameters.notify, originalRecipient: parameters.originalRecipient)
        awaiting = .recipient(recipient)
        return [.checkRecipient(recipient, envelope)]
    }

    /// Relay tricks the MX role refuses by itself, before asking the server (which knows the local domains):
    /// source routes `<@a,@b:u@d>`, `"user@other"@local`, `user%other@local`, `other!user@local`, address literals.
    /// `<user@other@local>` does not parse and is refused by the parser's error mapping.
    func relayRefusal(_ path: SMTPPath) -> SMTPReply? {
        guard configuration.role == .mx else { return nil }
        if !path.sourceRoute.isEmpty { return .relayDenied }
        if path.mailbox.unquotedLocalPart.contains(where: { $0 == "@" || $0 == "%" || $0 == "!" }) { return .relayDenied }
        if case .addressLiteral = path.mailbox.host { return .relayDenied }
        return nil
    }

    /// Answer to `.checkRecipient`.
    public mutating func recipientChecked(_ verdict: SMTPRecipientVerdict) -> [SMTPServerAction] {
        guard case .recipient(let recipient) = awaiting else { return [] }
        awaiting = nil
        switch verdict {
        case .accepted:
            transaction?.recipients.append(recipient)
            return [.reply(.recipientOk)]
        case .unknownUser: return fail(.unknownUser)
        case .relayDenied: return fail(.relayDenied)
        case .temporaryFailure: return fail(.recipientTemporarilyUnavailable)
        case .rejected(let reply): return fail(reply)
        }
    }

    private mutating func startTLS() -> [SMTPServerAction] {
        guard configuration.tlsAvailable, !tlsActive else { return fail(tlsActive ? .badSequence : .commandNotImplemented) }
        guard clientName != nil, transaction == nil else { return fail(.badSequence) }
        awaiting = .tls
        return [.startTLS(.readyToStartTLS)]
    }

    /// The TLS handshake after `.startTLS` succeeded. RFC 3207 §4.2: forget everything learnt from the client,
    /// including the EHLO argument (and any authentication); the client must EHLO again.
    public mutating func tlsEstablished() -> [SMTPServerAction] {
        guard awaiting == .tls else { return [] }
        awaiting = nil
        tlsActive = true
        clientName = nil
        usedEHLO = false
        authenticatedUser = nil
        reading = .commands
        return resetTransaction()
    }
}
