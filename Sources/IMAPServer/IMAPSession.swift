import Directory
import IMAPProtocol
import Logging
import Metrics
import MailStore
import NIOCore
import ServerCore

/// Why a command failed, as the client is told: the one place commands' failures become tagged responses.
struct CommandFailure: Error {
    var status: TaggedStatus
    var code: ResponseCode?
    var text: String

    static func no(_ text: String, code: ResponseCode? = nil) -> CommandFailure { CommandFailure(status: .no, code: code, text: text) }
    static func bad(_ text: String, code: ResponseCode? = nil) -> CommandFailure { CommandFailure(status: .bad, code: code, text: text) }
}

/// One IMAP connection: reads commands with `IMAPCommandParser`, asks `IMAPSessionState` what may run, carries commands out
/// against the store and writes responses with `IMAPResponseEncoder`.
///
/// Invariants:
/// - Owned by the connection's task; nothing else touches it. The change feed reaches it only through `ChangeSignal`
///   and the connection's waker.
/// - Untagged updates for the selected mailbox are sent after a command's own responses and before its tagged completion,
///   EXPUNGE only when `SelectedMailboxView.expungesAllowed(during:)` says so.
/// - `input` holds at most the command being parsed; pipelined bytes stay in the connection's buffer.
final class IMAPSession {
    let connection: Connection
    let store: any MailStore
    let authenticator: Authenticator
    let configuration: IMAPServerConfiguration
    let userConnections: UserConnectionCounter
    let mailboxStates: MailboxStateCache
    var logger: Logger

    var state: IMAPSessionState
    var parser: IMAPCommandParser
    /// The parser's limits once authenticated; `state.parserLimits` narrows them before.
    let parserLimits: IMAPParserLimits
    var input = ByteBuffer()
    var account: AccountRecord?
    var selected: SelectedMailbox?
    var authenticationFailures = 0
    var closing = false
    /// The verb of the command being run (`UID FETCH`, `SELECT`, …), for the commands metric.
    var commandVerb = "-"
    /// This session in the authenticator's registry while logged in; `revoked` is set when its account was disabled.
    var registration: SessionRegistry.Registration?
    let revoked = RevocationFlag()

    init(connection: Connection, handler: IMAPConnectionHandler) {
        self.connection = connection
        self.store = handler.store
        self.authenticator = handler.authenticator
        self.configuration = handler.configuration
        self.userConnections = handler.userConnections
        self.mailboxStates = handler.mailboxStates
        self.logger = connection.logger
        let sessionConfiguration = IMAPSessionState.Configuration(
            appendLimit: handler.configuration.appendLimit,
            allowCleartextAuthentication: handler.configuration.allowCleartextAuthentication,
            startTLSAvailable: handler.configuration.startTLSAvailable,
            serverID: [IDParameter(key: "name", value: handler.configuration.serverName)],
            maximumLiteralSizeBeforeAuthentication: handler.configuration.maximumLiteralSizeBeforeAuthentication)
        self.state = IMAPSessionState(configuration: sessionConfiguration, isTLS: connection.isTLS)
        self.parserLimits = IMAPParserLimits(
            maximumLineLength: handler.configuration.maximumLineLength,
            maximumLiteralSize: handler.configuration.appendLimit)
        self.parser = IMAPCommandParser(limits: state.parserLimits(parserLimits))
    }

    var encoder: IMAPResponseEncoder { IMAPResponseEncoder(utf8Enabled: state.utf8Enabled) }

    func send(_ response: IMAPResponse) async throws(ConnectionError) {
        if case .tagged(_, let status, _, _) = response {
            // Every command ends with exactly one tagged response: count it by verb and result (`/metrics`).
            Counter(label: "letterbox_commands_total", dimensions: [("protocol", "imap"), ("command", commandVerb), ("result", status.rawValue.lowercased())])
                .increment()
        }
        let encoder = self.encoder
        try await connection.write { encoder.encode(response, into: &$0) }
    }

    func send(_ response: UntaggedResponse) async throws(ConnectionError) {
        try await send(.untagged(response))
    }

    // MARK: The session loop

    func run() async {
        connection.maxLineLength = configuration.maximumLineLength + 2
        connection.idleTimeout = configuration.unauthenticatedTimeout
        defer {
            selected?.close()
            if let account { userConnections.release(account.id) }
            if let registration { authenticator.sessions.unregister(registration) }
        }
        do throws(ConnectionError) {
            try await send(state.greeting)
            try await connection.flush()
            while !closing {
                let input = try await readCommand()
                switch input {
                case .command(let tag, let command):
                    logger.trace("command", metadata: ["tag": "\(tag)"])
                    try await dispatch(tag: tag, command)
                case .syntaxError(let tag, let reason):
                    try await send(tag.map { IMAPResponse.tagged(tag: $0, .bad, text: reason) } ?? .untagged(.status(.bad, text: reason)))
                case .tooBig(let tag, let synchronizing):
                    logger.debug("literal over the limit", metadata: ["authenticated": "\(account != nil)"])
                    try await carryOut(state.literalTooLarge(tag: tag, synchronizing: synchronizing))
                case .lineTooLong:
                    try await send(.status(.bye, text: "command line too long"))
                    closing = true
                case .shutdown:
                    try await send(.status(.bye, text: shutdownReason))
                    closing = true
                }
                try await connection.flush()
            }
        } catch {
            await farewell(after: error)
        }
        await connection.close()
    }

    private func farewell(after error: ConnectionError) async {
        switch error {
        case .idleTimeout:
            try? await send(.status(.bye, text: "Autologout; idle for too long"))
        case .lineTooLong:
            try? await send(.status(.bye, text: "command line too long"))
        case .plaintextAfterSTARTTLS:
            logger.notice("plaintext after STARTTLS; closing")
        case .endOfStream, .tlsUnavailable, .transport:
            logger.debug("connection ended", metadata: ["reason": "\(error)"])
        }
    }

    enum Input {
        case command(tag: String, IMAPCommand)
        case syntaxError(tag: String?, reason: String)
        case tooBig(tag: String?, synchronizing: Bool)
        case lineTooLong
        case shutdown
    }

    /// Reads lines and literals until the parser has a whole command (RFC 9051 §2.2.1, RFC 7888 LITERAL+).
    func readCommand() async throws(ConnectionError) -> Input {
        while true {
            let head = input.getString(at: input.readerIndex, length: min(48, input.readableBytes)) ?? ""
            switch parser.parseCommand(&input) {
            case .needMoreBytes:
                let line: Line
                if input.readableBytes == 0 {
                    // Between commands: a graceful shutdown ends the session (RFC 9051 §7.1.5 BYE).
                    switch try await connection.readLineOrWakeUp() {
                    case .line(let next): line = next
                    case .wokenUp: continue  // a mailbox change: announced with the next command
                    case .shutdownRequested: return .shutdown
                    }
                } else {
                    line = try await connection.readLine()
                }
                input.writeImmutableBuffer(line.bytes)
                input.writeString("\r\n")
            case .needLiteral(let size, let synchronizing):
                if synchronizing {
                    try await send(.continuation("Ready for literal data"))
                    try await connection.flush()
                }
                var bytes = try await connection.readBytes(exactly: size)
                input.writeBuffer(&bytes)
            case .command(let tag, let command):
                commandVerb = Self.verb(of: head)
                compactInput()
                return .command(tag: tag, command)
            case .syntaxError(let tag, let reason):
                parser.skipFailedCommand(&input)
                compactInput()
                return .syntaxError(tag: tag, reason: reason)
            case .literalTooLarge(let tag, _, let synchronizing):
                parser.skipFailedCommand(&input)
                compactInput()
                return .tooBig(tag: tag, synchronizing: synchronizing)
            case .lineTooLong:
                return .lineTooLong
            }
        }
    }

    /// `SELECT`, `UID FETCH`: the words after the tag at the start of a command line, upper-cased, for metrics.
    static func verb(of line: String) -> String {
        let words = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).dropFirst()
        guard let first = words.first?.prefix(while: { $0.isLetter || $0 == "-" }).uppercased(), !first.isEmpty else { return "-" }
        guard first == "UID", words.count > 1 else { return first }
        return "UID " + words.dropFirst().first!.prefix(while: { $0.isLetter }).uppercased()
    }

    private func compactInput() {
        if input.readableBytes == 0 { input = ByteBuffer() } else { input.discardReadBytes() }
    }

    // MARK: Dispatch

    func dispatch(tag: String, _ command: IMAPCommand) async throws(ConnectionError) {
        try await carryOut(state.receive(tag: tag, command))
        if case .enable = command { enabledChanged() }
        parser.limits = state.parserLimits(parserLimits)  // LOGIN or AUTHENTICATE may have succeeded
    }

    /// Carries out the state machine's actions in order.
    private func carryOut(_ actions: [IMAPSessionState.Action]) async throws(ConnectionError) {
        var index = 0
        while index < actions.count {
            switch actions[index] {
            case .send(let response):
                if index + 1 < actions.count, actions[index + 1] == .startTLS {
                    try await startTLS(reply: response)
                    index += 1
                } else {
                    try await send(response)
                }
            case .startTLS:
                break  // always preceded by its reply, handled above
            case .execute(let tag, let command):
                try await execute(tag: tag, command)
            case .close:
                closing = true
            }
            index += 1
        }
    }

    private func startTLS(reply: IMAPResponse) async throws(ConnectionError) {
        try await connection.flush()
        try await connection.startTLS(sending: encoder.encode(reply))
        state.tlsStarted()
    }

    private func enabledChanged() {
        parser.options.utf8Enabled = state.utf8Enabled
        selected?.view.reportsRecent = !state.imap4rev2Enabled
        selected?.view.reportsModSeq = state.condStoreEnabled
        selected?.view.reportsVanished = state.qresyncEnabled
    }

    /// A CONDSTORE-enabling command is running (RFC 7162 §3.1). The first one while a mailbox is selected also tells the
    /// client the mailbox's HIGHESTMODSEQ, which it has not been told at SELECT.
    func enableCondStore() async throws(ConnectionError) {
        guard state.enableCondStore() else { return }
        enabledChanged()
        if let current = selected { try await send(.status(.ok, code: .highestModSeq(UInt64(current.modSeq)), text: "CONDSTORE enabled")) }
    }

    /// Runs a command the state machine handed over, then sends pending mailbox updates and the tagged completion.
    func execute(tag: String, _ command: IMAPCommand) async throws(ConnectionError) {
        var completion: Completion
        do {
            completion = try await perform(tag: tag, command)
        } catch let error as ConnectionError {
            throw error
        } catch let failure as CommandFailure {
            completion = Completion(status: failure.status, code: failure.code, text: failure.text)
        } catch let error as MailStoreError {
            completion = Self.completion(for: error, logger: logger)
        } catch {
            logger.error("command failed", metadata: ["tag": "\(tag)", "error": "\(error)"])
            completion = Completion(status: .no, code: .unavailable, text: "temporary server failure, try again later")
        }
        if selected != nil {
            if Self.changesMessages(command) { selected?.signal.raise() }  // announce our own changes now
            do {
                try await announceUpdates(expungesAllowed: SelectedMailboxView.expungesAllowed(during: command))
            } catch let error as ConnectionError {
                throw error
            } catch MailStoreError.mailboxNotFound {
                // Another session deleted the selected mailbox: end the session as Dovecot does.
                try await send(.status(.bye, text: "selected mailbox was deleted"))
                closing = true
            } catch {
                logger.error("mailbox resynchronisation failed", metadata: ["error": "\(error)"])
            }
        }
        if completion.reportsHighestModSeq, let current = selected { completion.code = .highestModSeq(UInt64(current.modSeq)) }
        try await send(.tagged(tag: tag, completion.status, code: completion.code, text: completion.text))
    }

    /// Commands after which the selected mailbox is resynchronised at once rather than when the feed's event arrives.
    static func changesMessages(_ command: IMAPCommand) -> Bool {
        switch command {
        case .append, .copy, .move, .store, .expunge, .uidExpunge, .noop, .check: true
        default: false
        }
    }

    struct Completion {
        var status: TaggedStatus = .ok
        var code: ResponseCode?
        var text: String
        /// Answer with [HIGHESTMODSEQ n] of the selected mailbox as it stands once the updates have been announced
        /// (RFC 7162 §3.2.7: EXPUNGE that removed messages, with QRESYNC enabled).
        var reportsHighestModSeq = false

        static func ok(_ text: String, code: ResponseCode? = nil) -> Completion { Completion(status: .ok, code: code, text: text) }
    }

    static func completion(for error: MailStoreError, logger: Logger) -> Completion {
        switch error {
        case .mailboxNotFound: return Completion(status: .no, code: .nonexistent, text: "no such mailbox")
        case .mailboxExists: return Completion(status: .no, code: .alreadyExists, text: "mailbox already exists")
        case .cannotDeleteInbox: return Completion(status: .no, code: .cannot, text: "INBOX cannot be deleted")
        case .invalidMailboxName(let name): return Completion(status: .no, code: .cannot, text: "invalid mailbox name: \(name)")
        case .quotaExceeded: return Completion(status: .no, code: .overQuota, text: "quota exceeded")
        default:
            logger.error("store failure", metadata: ["error": "\(error)"])
            return Completion(status: .no, code: .unavailable, text: "temporary server failure, try again later")
        }
    }

    func perform(tag: String, _ command: IMAPCommand) async throws -> Completion {
        switch command {
        case .login(let username, let password):
            return try await login(username: username, password: password)
        case .authenticate(let mechanism, let initialResponse):
            return try await authenticate(mechanism: mechanism, initialResponse: initialResponse)
        case .select(let name, let parameters):
            return try await select(name, readOnly: false, parameters: parameters)
        case .examine(let name, let parameters):
            return try await select(name, readOnly: true, parameters: parameters)
        case .create(let name, let specialUse):
            return try await create(name, specialUse: specialUse)
        case .delete(let name):
            return try await delete(name)
        case .rename(let from, let to):
            return try await rename(from: from, to: to)
        case .subscribe(let name):
            try await store.setSubscribed(of: try accountID(), name: name.name, true)
            return .ok("SUBSCRIBE completed")
        case .unsubscribe(let name):
            try await store.setSubscribed(of: try accountID(), name: name.name, false)
            return .ok("UNSUBSCRIBE completed")
        case .list(let list):
            return try await self.list(list)
        case .lsub(let reference, let pattern):
            return try await lsub(reference: reference, pattern: pattern)
        case .namespace:
            try await send(.namespace(personal: [NamespaceDescription(prefix: "")], otherUsers: [], shared: []))
            return .ok("NAMESPACE completed")
        case .status(let name, let attributes):
            return try await status(name, attributes)
        case .getQuota(let root):
            return try await getQuota(root: root)
        case .getQuotaRoot(let name):
            return try await getQuotaRoot(name)
        case .setQuota:
            // RFC 9208 §4.1: only an administrator may; quotas are set with `letterbox user quota`.
            throw CommandFailure.no("quotas are set by the administrator", code: .noPermission)
        case .append(let name, let messages):
            return try await append(to: name, messages)
        case .idle:
            return try await idle()
        case .unauthenticate:
            return try await unauthenticate()
        case .check, .noop:
            return .ok("\(command == .check ? "CHECK" : "NOOP") completed")
        case .close:
            return try await close(expunging: true)
        case .unselect:
            return try await close(expunging: false)
        case .expunge:
            return try await expunge(uids: nil)
        case .uidExpunge(let set):
            return try await expunge(uids: set)
        case .sort(let criteria, let charset, let key, let uid):
            return try await sort(criteria, charset: charset, key: key, uid: uid)
        case .thread(let algorithm, let charset, let key, let uid):
            return try await thread(algorithm, charset: charset, key: key, uid: uid)
        case .search(let search, let uid):
            return try await self.search(search, uid: uid, tag: tag)
        case .fetch(let set, let attributes, let modifiers, let uid):
            return try await fetch(set, attributes, modifiers: modifiers, uid: uid)
        case .store(let set, let flags, let uid):
            return try await storeFlags(set, flags, uid: uid)
        case .copy(let set, let name, let uid):
            return try await copy(set, to: name, uid: uid, move: false)
        case .move(let set, let name, let uid):
            return try await copy(set, to: name, uid: uid, move: true)
        case .capability, .logout, .id, .startTLS, .enable:
            return .ok("completed")  // answered by IMAPSessionState
        }
    }

    func accountID() throws(CommandFailure) -> AccountID {
        guard let account else { throw .bad("not authenticated") }
        return account.id
    }
}
