import MailCore
import NIOCore

/// AUTH (RFC 4954), DATA (RFC 5321 §4.1.1.4) and BDAT (RFC 3030) handling.
extension SMTPServerSession {
    // MARK: AUTH

    mutating func authenticate(_ mechanism: String, _ initial: [UInt8]?) -> [SMTPServerAction] {
        guard authenticatedUser == nil, transaction == nil, clientName != nil else { return fail(.badSequence) }
        guard authenticationAllowed else {
            return fail(configuration.authenticationMechanisms.isEmpty ? .commandNotImplemented : .encryptionRequired)
        }
        guard configuration.authenticationMechanisms.contains(mechanism) else { return fail(.mechanismNotSupported) }
        awaiting = .authentication
        reading = .authenticationLine
        return [.authenticate(mechanism: mechanism, initialResponse: initial)]
    }

    /// The SASL mechanism sends a challenge: 334 with its base64 form (RFC 4954 §4).
    public mutating func authenticationChallenge(_ challenge: [UInt8]) -> [SMTPServerAction] {
        guard awaiting == .authentication else { return [] }
        awaiting = nil
        return [.reply(.authChallenge(Base64.encode(challenge)))]
    }

    /// The SASL exchange succeeded for `user`: 235 2.7.0.
    public mutating func authenticationSucceeded(user: String) -> [SMTPServerAction] {
        guard awaiting == .authentication else { return [] }
        awaiting = nil
        reading = .commands
        authenticatedUser = user
        return [.reply(.authenticationSucceeded)]
    }

    /// The SASL exchange failed. Too many failures close the connection.
    public mutating func authenticationFailed(_ failure: SMTPAuthenticationFailure) -> [SMTPServerAction] {
        guard awaiting == .authentication else { return [] }
        awaiting = nil
        reading = .commands
        switch failure {
        case .temporary: return fail(.temporaryAuthenticationFailure)
        case .malformedResponse: return fail(.invalidBase64)
        case .invalidCredentials:
            authenticationFailures += 1
            guard authenticationFailures >= configuration.maximumAuthenticationFailures else { return fail(.authenticationFailed) }
            isClosed = true
            return [.reply(.authenticationFailed), .reply(.tooManyErrors), .close]
        }
    }

    mutating func handleAuthenticationInput(_ input: SMTPServerInput) -> [SMTPServerAction] {
        reading = .commands
        switch input {
        case .authenticationLine("*"):
            return [.cancelAuthentication] + fail(.authenticationCancelled)
        case .authenticationLine(let line):
            guard let response = line.isEmpty ? [] : Base64.decode(line) else {
                return [.cancelAuthentication] + fail(.invalidBase64)
            }
            reading = .authenticationLine
            awaiting = .authentication
            return [.authenticationResponse(response)]
        case .authenticationLineTooLong:
            return [.cancelAuthentication] + fail(.authenticationLineTooLong)
        default:
            return [.cancelAuthentication] + fail(.syntaxError)
        }
    }

    // MARK: DATA

    mutating func data() -> [SMTPServerAction] {
        guard let envelope = transaction, case .none = body else { return fail(.badSequence) }
        guard !envelope.recipients.isEmpty else { return fail(.noValidRecipients) }
        // RFC 3030 §3: BINARYMIME cannot be used with DATA.
        guard envelope.body != .binaryMIME else { return fail(.badSequence) }
        body = .data
        reading = .data
        return [.beginData(envelope), .reply(.startMailInput)]
    }

    mutating func finishData(_ outcome: SMTPBodyOutcome) -> [SMTPServerAction] {
        reading = .commands
        switch outcome {
        case .complete:
            guard let envelope = transaction else { return [.reply(.localError)] }
            awaiting = .delivery
            return [.deliver(envelope)]
        case .rejected(let rejection):
            let actions = resetTransaction()
            return actions + fail(rejection.reply)
        }
    }

    /// Answer to `.deliver`: the message is committed (250) or refused; either way the transaction ends.
    public mutating func deliveryFinished(_ result: SMTPDeliveryResult) -> [SMTPServerAction] {
        guard awaiting == .delivery else { return [] }
        awaiting = nil
        transaction = nil
        body = .none
        switch result {
        case .accepted(let queueID): return [.reply(.queued(queueID))]
        case .failed(let reply): return fail(reply)
        }
    }

    // MARK: BDAT

    /// RFC 3030 §2: the chunk's octets are always read; a refusal is replied after they have been discarded.
    mutating func bdat(size: UInt64, last: Bool) -> [SMTPServerAction] {
        var refusal: SMTPReply?
        var actions: [SMTPServerAction] = []
        if let envelope = transaction {
            if envelope.recipients.isEmpty {
                refusal = .noValidRecipients
            } else {
                switch body {
                case .data:
                    refusal = .badSequence
                case .none:
                    let checker = SMTPChunkChecker(limits: configuration.bodyLimits, isBinary: envelope.body == .binaryMIME)
                    body = .chunks(checker, began: true)
                    actions.append(.beginData(envelope))
                case .chunks:
                    break
                }
            }
        } else {
            refusal = .badSequence
        }
        if refusal == nil, case .chunks(var checker, let began) = body {
            checker.announce(size)
            body = .chunks(checker, began: began)
        }
        reading = .chunk(size: size, last: last, refusal: refusal)
        return actions
    }

    mutating func receiveChunk(_ content: ByteBuffer) -> [SMTPServerAction] {
        guard case .chunk(_, _, nil) = reading, case .chunks(var checker, let began) = body, checker.rejection == nil else {
            return []
        }
        checker.scan(content)
        body = .chunks(checker, began: began)
        return checker.rejection == nil ? [.appendData(content)] : []
    }

    mutating func finishChunk() -> [SMTPServerAction] {
        guard case .chunk(let size, let last, let refusal) = reading else { return [.reply(.localError)] }
        reading = .commands
        if let refusal { return fail(refusal) }
        guard case .chunks(var checker, let began) = body, let envelope = transaction else { return [.reply(.localError)] }
        if last { checker.finish() }
        if let rejection = checker.rejection {
            // RFC 3030 §2: a failed BDAT fails the transaction; later pipelined chunks get 503 and are discarded.
            return resetTransaction() + fail(rejection.reply)
        }
        body = .chunks(checker, began: began)
        guard last else { return [.reply(.chunkReceived(size))] }
        awaiting = .delivery
        return [.deliver(envelope)]
    }
}
