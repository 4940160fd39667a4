import MailCore
import NIOCore

/// The outbound SMTP client: greeting → EHLO (HELO on 5yz) → STARTTLS per policy → EHLO again → MAIL/RCPT
/// (pipelined when offered, RFC 2920) → DATA (dot-stuffed) or BDAT (RFC 3030) → QUIT.
///
/// Drive it with complete replies: bytes from the server go through `SMTPReplyParser`, each reply into `receive(_:)`;
/// perform the returned actions in order. A parse error is reported with `receiveInvalidReply()`.
///
/// Invariants: exactly one `.finished` per session; after it only QUIT is sent, then `.close`. Replies are matched to
/// commands in the order the commands were sent, so a pipelined batch is accounted reply by reply.
public struct SMTPClientSession: Sendable {
    public struct Configuration: Hashable, Sendable {
        /// Our name for EHLO/HELO.
        public var hostname: String
        public var tlsPolicy: SMTPClientTLSPolicy
        /// Use BDAT when the server offers CHUNKING. Default false (DATA).
        public var preferChunking: Bool
        /// Log in with AUTH PLAIN (RFC 4954, RFC 4616) before MAIL — for a smarthost. Sent only over TLS.
        public var credentials: SMTPClientCredentials?
        /// After a message, wait for `send(_:)` (the next message on this connection) or `quit()` instead of sending QUIT.
        public var keepsConnectionOpen: Bool

        public init(
            hostname: String, tlsPolicy: SMTPClientTLSPolicy = .opportunistic, preferChunking: Bool = false,
            credentials: SMTPClientCredentials? = nil, keepsConnectionOpen: Bool = false
        ) {
            self.hostname = hostname
            self.tlsPolicy = tlsPolicy
            self.preferChunking = preferChunking
            self.credentials = credentials
            self.keepsConnectionOpen = keepsConnectionOpen
        }
    }

    enum Expecting: Hashable, Sendable {
        case greeting, ehlo, helo, startTLS, tlsHandshake, authentication, reset
        case mail, recipient(Int), data, message, quit, done
    }

    public let configuration: Configuration
    public private(set) var message: SMTPOutboundMessage
    public private(set) var extensions = SMTPServerExtensions(ehloReply: nil)
    public private(set) var tlsActive = false
    private var expecting: [Expecting] = [.greeting]
    private var recipientReplies: [SMTPReply?]
    private var authenticated = false
    private var mailFailed: SMTPReply?
    private var result: SMTPClientResult?
    /// Commands still to send when the server does not pipeline.
    private var pendingCommands: [PendingCommand] = []

    private struct PendingCommand: Hashable, Sendable {
        var command: String
        var stage: Expecting
    }

    public init(configuration: Configuration, message: SMTPOutboundMessage) {
        self.configuration = configuration
        self.message = message
        self.recipientReplies = Array(repeating: nil, count: message.recipients.count)
    }

    /// The finished result, once known.
    public var finishedResult: SMTPClientResult? { result }

    public mutating func receive(_ reply: SMTPReply) -> [SMTPClientAction] {
        guard let stage = expecting.first else { return [] }
        expecting.removeFirst()
        switch stage {
        case .greeting:
            guard reply.code == 220 else { return finish(.failed(stage: .greeting, reply: reply)) }
            return [send("EHLO \(configuration.hostname)")] + expect(.ehlo)
        case .ehlo:
            if reply.isPositive {
                extensions = SMTPServerExtensions(ehloReply: reply)
                return afterHello()
            }
            // RFC 5321 §4.1.1.1 / §3.2: a server without extensions answers EHLO with an error; fall back to HELO.
            guard reply.isPermanentFailure, !tlsActive else { return finish(.failed(stage: .hello, reply: reply)) }
            return [send("HELO \(configuration.hostname)")] + expect(.helo)
        case .helo:
            guard reply.isPositive else { return finish(.failed(stage: .hello, reply: reply)) }
            extensions = SMTPServerExtensions(ehloReply: nil)
            return afterHello()
        case .startTLS:
            if reply.code == 220 { return [.startTLS] + expect(.tlsHandshake) }
            if configuration.tlsPolicy == .required { return finish(.tlsUnavailable) }
            return beginTransaction()
        case .tlsHandshake:
            return finish(.protocolError)
        case .authentication:
            guard reply.code == 235 else { return finish(.failed(stage: .authentication, reply: reply)) }
            authenticated = true
            return beginTransaction()
        case .reset:
            guard reply.isPositive else { return finish(.failed(stage: .mail, reply: reply)) }
            return beginTransaction()
        case .mail:
            if !reply.isPositive { mailFailed = reply }
            return expecting.isEmpty ? afterRecipients() : []
        case .recipient(let index):
            recipientReplies[index] = reply
            return expecting.isEmpty ? afterRecipients() : []
        case .data:
            return afterDataReply(reply)
        case .message:
            return finishMessage(reply)
        case .quit, .done:
            expecting = []
            return [.close]
        }
    }

    /// The server sent something `SMTPReplyParser` refused: give up.
    public mutating func receiveInvalidReply() -> [SMTPClientAction] {
        guard result == nil else { return [.close] }
        result = makeResult(.protocolError)
        expecting = []
        return [.finished(result!), .close]
    }

    /// The TLS handshake after `.startTLS` succeeded: EHLO again, forgetting what the server said before (RFC 3207 §4.2).
    public mutating func tlsEstablished() -> [SMTPClientAction] {
        guard expecting.first == .tlsHandshake else { return [] }
        expecting.removeFirst()
        tlsActive = true
        extensions = SMTPServerExtensions(ehloReply: nil)
        return [send("EHLO \(configuration.hostname)")] + expect(.ehlo)
    }

    /// The TLS handshake failed: the connection is unusable.
    public mutating func tlsFailed() -> [SMTPClientAction] {
        expecting = []
        guard result == nil else { return [.close] }
        result = makeResult(configuration.tlsPolicy == .required ? .tlsUnavailable : .protocolError)
        return [.finished(result!), .close]
    }

    // MARK: steps

    private mutating func afterHello() -> [SMTPClientAction] {
        if !tlsActive, configuration.tlsPolicy != .none {
            if extensions.has("STARTTLS") { return [send("STARTTLS")] + expect(.startTLS) }
            if configuration.tlsPolicy == .required { return finish(.tlsUnavailable) }
        }
        if let credentials = configuration.credentials, !authenticated {
            // A password never crosses the network in clear, whatever the TLS policy says.
            guard tlsActive else { return finish(.tlsUnavailable) }
            let plain = [0] + Array(credentials.username.utf8) + [0] + Array(credentials.password.utf8)
            return [send("AUTH PLAIN \(Base64.encode(plain))")] + expect(.authentication)
        }
        return beginTransaction()
    }

    /// With `keepsConnectionOpen`, after `.finished`: sends `next` on the same connection (RSET first, RFC 5321 §4.1.1.5).
    public mutating func send(_ next: SMTPOutboundMessage) -> [SMTPClientAction] {
        guard result != nil, expecting.isEmpty else { return [] }
        message = next
        result = nil
        mailFailed = nil
        pendingCommands = []
        recipientReplies = Array(repeating: nil, count: next.recipients.count)
        return [send("RSET")] + expect(.reset)
    }

    /// With `keepsConnectionOpen`, after `.finished`: ends the session.
    public mutating func quit() -> [SMTPClientAction] {
        guard expecting.isEmpty else { return [.close] }
        expecting = [.quit]
        return [send("QUIT")]
    }

    /// True while a kept-open session waits for `send(_:)` or `quit()`.
    public var isIdle: Bool { result != nil && expecting.isEmpty }

    private mutating func beginTransaction() -> [SMTPClientAction] {
        let size = UInt64(message.body.readableBytes)
        if let limit = extensions.sizeLimit, size > limit { return finish(.messageTooLarge(limit: limit)) }
        if message.is8Bit, !extensions.has("8BITMIME") { return finish(.needs8BitMIME) }
        if message.needsSMTPUTF8, !extensions.has("SMTPUTF8") { return finish(.needsSMTPUTF8) }
        if message.parameters.requireTLS, !(tlsActive && extensions.has("REQUIRETLS")) { return finish(.requireTLSUnsupported) }

        var parameters = SMTPMailParameters(requireTLS: message.parameters.requireTLS)
        if extensions.has("SIZE") { parameters.size = size }
        if message.is8Bit { parameters.body = .eightBitMIME }
        parameters.smtpUTF8 = message.needsSMTPUTF8
        let dsn = extensions.has("DSN")
        if dsn {
            parameters.dsnReturn = message.parameters.dsnReturn
            parameters.envelopeID = message.parameters.envelopeID
        }
        let from = message.mailFrom.map { "<\($0)>" } ?? "<>"
        var commands = ["MAIL FROM:\(from)\(parameters.encoded)"]
        var stages: [Expecting] = [.mail]
        for (index, recipient) in message.recipients.enumerated() {
            let rcptParameters = dsn ? SMTPRecipientParameters(notify: recipient.notify, originalRecipient: recipient.originalRecipient) : SMTPRecipientParameters()
            commands.append("RCPT TO:<\(recipient.address)>\(rcptParameters.encoded)")
            stages.append(.recipient(index))
        }
        let pipelining = extensions.has("PIPELINING")
        if pipelining, !usesChunking {
            commands.append("DATA")
            stages.append(.data)
        }
        guard pipelining else {
            // One command at a time: send MAIL now, the rest as replies arrive.
            expecting = [.mail]
            pendingCommands = zip(commands.dropFirst(), stages.dropFirst()).map { PendingCommand(command: $0, stage: $1) }
            return [send(commands[0])]
        }
        expecting = stages
        return [send(commands.joined(separator: "\r\n"))]
    }

    private var usesChunking: Bool { configuration.preferChunking && extensions.has("CHUNKING") }

    /// After the MAIL and RCPT replies: send the next unpipelined command, or DATA/BDAT, or give up.
    private mutating func afterRecipients() -> [SMTPClientAction] {
        if let mailFailed { return finish(.failed(stage: .mail, reply: mailFailed)) }
        if !pendingCommands.isEmpty {
            let next = pendingCommands.removeFirst()
            expecting = [next.stage]
            return [send(next.command)]
        }
        guard acceptedCount > 0 else { return finish(.allRecipientsRefused) }
        if usesChunking {
            var chunk = ByteBufferAllocator().buffer(capacity: message.body.readableBytes + 32)
            chunk.writeString("BDAT \(message.body.readableBytes) LAST\r\n")
            chunk.writeImmutableBuffer(message.body)
            expecting = [.message]
            return [.send(chunk)]
        }
        return [send("DATA")] + expect(.data)
    }

    private mutating func afterDataReply(_ reply: SMTPReply) -> [SMTPClientAction] {
        guard reply.code == 354 else {
            if let mailFailed { return finish(.failed(stage: .mail, reply: mailFailed)) }
            return acceptedCount == 0 ? finish(.allRecipientsRefused) : finish(.failed(stage: .data, reply: reply))
        }
        // RFC 2920 §3.1: DATA accepted although no recipient was: send an empty message to end it, then give up.
        if mailFailed != nil || acceptedCount == 0 {
            expecting = [.message]
            var terminator = ByteBuffer()
            terminator.writeString(".\r\n")
            return [.send(terminator)]
        }
        expecting = [.message]
        return [.send(SMTPDotStuffer.encode(message.body))]
    }

    private mutating func finishMessage(_ reply: SMTPReply) -> [SMTPClientAction] {
        if let mailFailed { return finish(.failed(stage: .mail, reply: mailFailed)) }
        if acceptedCount == 0 { return finish(.allRecipientsRefused) }
        guard reply.isPositive else { return finish(.failed(stage: .message, reply: reply), messageReply: reply) }
        return finish(.delivered, messageReply: reply)
    }

    private var acceptedCount: Int { recipientReplies.filter { $0?.isPositive == true }.count }

    private mutating func finish(_ outcome: SMTPClientOutcome, messageReply: SMTPReply? = nil) -> [SMTPClientAction] {
        result = makeResult(outcome, messageReply: messageReply)
        // Only a connection in a known, clean state is reused: after a delivered or refused transaction, not after a
        // failure to greet, log in or agree on TLS.
        let reusable: Bool
        switch outcome {
        case .delivered, .allRecipientsRefused, .messageTooLarge, .needs8BitMIME, .needsSMTPUTF8: reusable = true
        case .failed(let stage, let reply): reusable = (stage == .mail || stage == .data || stage == .message) && reply.code != 421
        case .tlsUnavailable, .requireTLSUnsupported, .protocolError: reusable = false
        }
        if configuration.keepsConnectionOpen, reusable {
            expecting = []
            return [.finished(result!)]
        }
        expecting = [.quit]
        return [.finished(result!), send("QUIT")]
    }

    private func makeResult(_ outcome: SMTPClientOutcome, messageReply: SMTPReply? = nil) -> SMTPClientResult {
        let recipients = zip(message.recipients, recipientReplies).compactMap { recipient, reply -> SMTPRecipientResult? in
            guard let reply else { return nil }
            // An accepted recipient's final word is the reply to the message.
            if reply.isPositive, let messageReply { return SMTPRecipientResult(recipient: recipient, reply: messageReply) }
            return SMTPRecipientResult(recipient: recipient, reply: reply)
        }
        return SMTPClientResult(outcome: outcome, recipients: recipients, messageReply: messageReply, tlsActive: tlsActive)
    }

    private mutating func expect(_ stage: Expecting) -> [SMTPClientAction] {
        expecting.append(stage)
        return []
    }

    private func send(_ command: String) -> SMTPClientAction {
        var buffer = ByteBufferAllocator().buffer(capacity: command.utf8.count + 2)
        buffer.writeString(command)
        buffer.writeString("\r\n")
        return .send(buffer)
    }
}
