/// The connection-level IMAP state machine (RFC 9051 §3): which commands are legal in which state, TLS and
/// cleartext-authentication policy, capabilities and ENABLE. It answers what it can by itself (CAPABILITY, NOOP outside
/// a mailbox, LOGOUT, STARTTLS, ENABLE, ID) and hands everything else back as `.execute` for the server to carry out
/// against the directory and the store, which then reports the outcome (`authenticated()`, `selected(…)`, …).
public struct IMAPSessionState: Hashable, Sendable {
    public struct Configuration: Hashable, Sendable {
        /// Largest message APPEND accepts, advertised as APPENDLIMIT=n (RFC 7889).
        public var appendLimit: Int
        /// Allow LOGIN and AUTHENTICATE before TLS. Off by default: a cleartext connection advertises LOGINDISABLED.
        public var allowCleartextAuthentication: Bool
        /// Whether STARTTLS can be offered (the server has a certificate and this is not already a TLS connection).
        public var startTLSAvailable: Bool
        /// SASL mechanisms advertised as AUTH=… once authentication is allowed.
        public var authenticationMechanisms: [String]
        /// Fields sent in the ID response (RFC 2971).
        public var serverID: [IDParameter]
        /// Largest literal accepted before authentication (`IMAPParserLimits.beforeAuthentication`). Default 8 KiB.
        public var maximumLiteralSizeBeforeAuthentication: Int

        public init(
            appendLimit: Int = IMAPParserLimits.defaultMaximumLiteralSize,
            allowCleartextAuthentication: Bool = false,
            startTLSAvailable: Bool = true,
            authenticationMechanisms: [String] = ["PLAIN", "SCRAM-SHA-256"],
            serverID: [IDParameter] = [IDParameter(key: "name", value: "Letterbox")],
            maximumLiteralSizeBeforeAuthentication: Int = IMAPParserLimits.defaultMaximumLiteralSizeBeforeAuthentication
        ) {
            self.appendLimit = appendLimit
            self.allowCleartextAuthentication = allowCleartextAuthentication
            self.startTLSAvailable = startTLSAvailable
            self.authenticationMechanisms = authenticationMechanisms
            self.serverID = serverID
            self.maximumLiteralSizeBeforeAuthentication = maximumLiteralSizeBeforeAuthentication
        }
    }

    public enum ConnectionState: Hashable, Sendable {
        case notAuthenticated
        case authenticated
        case selected(MailboxName, readOnly: Bool)
        case logout
    }

    /// What the server should do next, in order.
    public enum Action: Hashable, Sendable {
        case send(IMAPResponse)
        /// Upgrade the connection to TLS now (the tagged OK has been queued before this action).
        case startTLS
        /// Carry the command out and answer it; report state changes back to this machine.
        case execute(tag: String, IMAPCommand)
        /// Close the connection after sending what came before.
        case close
    }

    public let configuration: Configuration
    public private(set) var state: ConnectionState = .notAuthenticated
    public private(set) var isTLS: Bool
    /// Capabilities enabled with ENABLE (upper-cased): IMAP4REV2, UTF8=ACCEPT, CONDSTORE, QRESYNC. CONDSTORE is also
    /// enabled by the first CONDSTORE-enabling command (`enableCondStore()`).
    public private(set) var enabled: Set<String> = []

    public init(configuration: Configuration = Configuration(), isTLS: Bool) {
        self.configuration = configuration
        self.isTLS = isTLS
    }

    /// ENABLE-able capabilities this server supports (RFC 5161, RFC 9051 §6.3.1, RFC 6855).
    public static let enableable: Set<String> = ["IMAP4REV2", "UTF8=ACCEPT", "CONDSTORE", "QRESYNC"]

    public var imap4rev2Enabled: Bool { enabled.contains("IMAP4REV2") }
    /// RFC 7162 §3.1: MODSEQ in unsolicited FETCH responses, HIGHESTMODSEQ on SELECT.
    public var condStoreEnabled: Bool { enabled.contains("CONDSTORE") }
    /// RFC 7162 §3.2.3: VANISHED instead of EXPUNGE; SELECT (QRESYNC …) and FETCH (VANISHED) are allowed.
    public var qresyncEnabled: Bool { enabled.contains("QRESYNC") }

    /// A CONDSTORE-enabling command ran (RFC 7162 §3.1: SELECT/EXAMINE (CONDSTORE), FETCH MODSEQ or CHANGEDSINCE,
    /// STORE UNCHANGEDSINCE, SEARCH MODSEQ, STATUS HIGHESTMODSEQ). Returns true when CONDSTORE was not enabled before.
    @discardableResult
    public mutating func enableCondStore() -> Bool { enabled.insert("CONDSTORE").inserted }
    /// Mailbox names and quoted strings are UTF-8 (RFC 9051 §5.1, RFC 6855).
    public var utf8Enabled: Bool { imap4rev2Enabled || utf8AcceptEnabled }
    /// ENABLE UTF8=ACCEPT (RFC 6855 §3): besides UTF-8 strings, SEARCH may no longer name a charset.
    public var utf8AcceptEnabled: Bool { enabled.contains("UTF8=ACCEPT") }
    /// LOGIN and AUTHENTICATE are refused: cleartext connection and cleartext authentication not allowed.
    public var loginDisabled: Bool { !isTLS && !configuration.allowCleartextAuthentication }

    /// The capability list for the current state (RFC 9051 §7.2.2).
    public var capabilities: [String] {
        var list = [
            "IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ENABLE", "IDLE", "UIDPLUS", "MOVE", "NAMESPACE", "ID",
            "UNSELECT", "CHILDREN", "SPECIAL-USE", "CREATE-SPECIAL-USE", "LIST-EXTENDED", "LIST-STATUS", "ESEARCH",
            "SEARCHRES", "STATUS=SIZE", "MULTIAPPEND", "BINARY", "APPENDLIMIT=\(configuration.appendLimit)", "CONDSTORE",
            "QRESYNC", "UTF8=ACCEPT", "QUOTA", "QUOTA=RES-STORAGE", "SORT", "SORT=DISPLAY", "THREAD=ORDEREDSUBJECT",
            "THREAD=REFERENCES", "WITHIN", "UNAUTHENTICATE", "PREVIEW",
        ]
        guard state == .notAuthenticated else { return list }
        if !isTLS, configuration.startTLSAvailable { list.append("STARTTLS") }
        if loginDisabled {
            list.append("LOGINDISABLED")
        } else {
            list += configuration.authenticationMechanisms.map { "AUTH=" + $0 }
        }
        return list
    }

    /// The greeting: `* OK [CAPABILITY …] ready`.
    public var greeting: IMAPResponse {
        .untagged(.status(.ok, code: .capability(capabilities), text: "Letterbox ready"))
    }

    // MARK: Commands

    public mutating func receive(tag: String, _ command: IMAPCommand) -> [Action] {
        if let refusal = refusal(for: command) { return [.send(.tagged(tag: tag, refusal.status, code: refusal.code, text: refusal.text))] }
        switch command {
        case .capability:
            return [.send(.untagged(.capability(capabilities))), ok(tag, "CAPABILITY completed")]
        case .noop where !isSelected:
            return [ok(tag, "NOOP completed")]
        case .logout:
            state = .logout
            return [.send(.untagged(.status(.bye, text: "Letterbox logging out"))), ok(tag, "LOGOUT completed"), .close]
        case .startTLS:
            return [ok(tag, "Begin TLS negotiation now"), .startTLS]
        case .enable(let requested):
            let newlyEnabled = requested.map { $0.uppercased() }.filter { Self.enableable.contains($0) && !enabled.contains($0) }
            enabled.formUnion(newlyEnabled)
            if newlyEnabled.contains("QRESYNC") { enabled.insert("CONDSTORE") }  // RFC 7162 §3.2.3
            let names = newlyEnabled.map { $0 == "IMAP4REV2" ? "IMAP4rev2" : $0 }
            return [.send(.untagged(.enabled(names))), ok(tag, "ENABLE completed")]
        case .id:
            return [.send(.untagged(.id(configuration.serverID))), ok(tag, "ID completed")]
        default:
            return [.execute(tag: tag, command)]
        }
    }

    private func ok(_ tag: String, _ text: String) -> Action { .send(.tagged(tag: tag, .ok, text: text)) }

    private var isSelected: Bool {
        if case .selected = state { return true }
        return false
    }

    /// Why `command` may not run now, or nil when it may (RFC 9051 §6: commands by state).
    public func refusal(for command: IMAPCommand) -> (status: TaggedStatus, code: ResponseCode?, text: String)? {
        let wrongState = (TaggedStatus.bad, ResponseCode?.none, "command not valid in this state")
        switch command {
        case .capability, .noop, .logout, .id:
            return state == .logout ? wrongState : nil
        case .startTLS:
            guard state == .notAuthenticated else { return wrongState }
            guard !isTLS, configuration.startTLSAvailable else { return (.bad, nil, "TLS is not available") }
            return nil
        case .login, .authenticate:
            guard state == .notAuthenticated else { return wrongState }
            if loginDisabled { return (.no, .privacyRequired, "authentication requires TLS: use STARTTLS first") }
            if case .authenticate(let mechanism, _) = command,
               !configuration.authenticationMechanisms.contains(where: { $0.uppercased() == mechanism.uppercased() }) {
                return (.no, .cannot, "unsupported authentication mechanism")
            }
            return nil
        case .enable:
            return state == .authenticated ? nil : wrongState
        case .select, .examine, .create, .delete, .rename, .subscribe, .unsubscribe, .list, .lsub, .namespace, .status,
             .append, .idle, .getQuota, .getQuotaRoot, .setQuota, .unauthenticate:
            return state == .authenticated || isSelected ? nil : wrongState
        case .check, .close, .unselect, .search, .sort, .thread, .fetch, .copy:
            return isSelected ? nil : wrongState
        case .expunge, .uidExpunge, .store, .move:
            guard case .selected(_, let readOnly) = state else { return wrongState }
            return readOnly ? (.no, .readOnly, "mailbox is read-only") : nil
        }
    }

    // MARK: Literals over the limit

    /// The parser limits for the current state: `limits` once authenticated; before, narrowed to
    /// `maximumLiteralSizeBeforeAuthentication` (`IMAPParserLimits.beforeAuthentication`), so that a client that has
    /// not logged in cannot make the server read and hold a large literal.
    public func parserLimits(_ limits: IMAPParserLimits) -> IMAPParserLimits {
        guard state == .notAuthenticated else { return limits }
        return limits.beforeAuthentication(maximumLiteralSize: configuration.maximumLiteralSizeBeforeAuthentication)
    }

    /// The answer to a literal over the limit, given before any of its bytes is read (RFC 7888 §4 and §5, the LITERAL-
    /// model; RFC 7889 TOOBIG).
    /// - Before authentication the client gets no `+` continuation: a synchronizing literal is answered `tag BAD
    ///   [TOOBIG]` (the client sends its next command instead of the bytes), a non-synchronizing one `* BYE [TOOBIG]`
    ///   and the connection closes, since its bytes are already on their way.
    /// - Once authenticated (a message over APPENDLIMIT): `tag NO [TOOBIG]`, and for a non-synchronizing literal also
    ///   `* BYE` and close.
    public func literalTooLarge(tag: String?, synchronizing: Bool) -> [Action] {
        guard state == .notAuthenticated else {
            let text = "literal exceeds the limit of \(configuration.appendLimit) bytes"
            let refusal = tag.map { IMAPResponse.tagged(tag: $0, .no, code: .tooBig, text: text) } ?? .untagged(.status(.no, code: .tooBig, text: text))
            return synchronizing ? [.send(refusal)] : [.send(refusal), .send(.untagged(.status(.bye, text: "literal too large"))), .close]
        }
        let text = "literal exceeds \(configuration.maximumLiteralSizeBeforeAuthentication) bytes before authentication"
        guard synchronizing else { return [.send(.untagged(.status(.bye, code: .tooBig, text: text))), .close] }
        return [.send(tag.map { .tagged(tag: $0, .bad, code: .tooBig, text: text) } ?? .untagged(.status(.bad, code: .tooBig, text: text)))]
    }

    // MARK: Outcomes reported by the server

    public mutating func tlsStarted() { isTLS = true }

    public mutating func authenticated() {
        guard state == .notAuthenticated else { return }
        state = .authenticated
    }

    /// UNAUTHENTICATE succeeded (RFC 8437 §2): not authenticated again, with every ENABLEd extension off.
    public mutating func unauthenticated() {
        state = .notAuthenticated
        enabled = []
    }

    /// SELECT/EXAMINE succeeded.
    public mutating func selected(_ mailbox: MailboxName, readOnly: Bool) { state = .selected(mailbox, readOnly: readOnly) }

    /// CLOSE, UNSELECT, or a failed SELECT/EXAMINE (which leaves no mailbox selected, RFC 9051 §6.3.2).
    public mutating func unselected() {
        if isSelected { state = .authenticated }
    }
}
