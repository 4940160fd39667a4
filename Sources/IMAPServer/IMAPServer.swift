/// IMAPServer: IMAP4rev1 (RFC 3501) and IMAP4rev2 (RFC 9051) sessions over a ServerCore `Connection`, against `MailStore`
/// and its `MailboxChangeFeed`, authenticating through `AccountDirectory` and the SASL state machines.
///
/// Extensions served (as advertised by `IMAPSessionState.capabilities`): RFC 2177 IDLE, RFC 2342 NAMESPACE, RFC 2971 ID,
/// RFC 3502 MULTIAPPEND, RFC 3516 BINARY, RFC 4315 UIDPLUS, RFC 4731 ESEARCH, RFC 4959 SASL-IR, RFC 5161 ENABLE,
/// RFC 5182 SEARCHRES, RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE and CREATE-SPECIAL-USE, RFC 6851 MOVE,
/// RFC 6855 UTF8=ACCEPT, RFC 7162 CONDSTORE and QRESYNC, RFC 7888 LITERAL+, RFC 7889 APPENDLIMIT, RFC 8438 STATUS=SIZE.
///
/// Invariants:
/// 1. The protocol decisions (which command is legal now, capabilities, when EXPUNGE may be sent) are made by the pure
///    `IMAPSessionState` and `SelectedMailboxView`; this module only carries them out against the store.
/// 2. A selected session learns of changes only through the store's change feed and `changes(in:since:)`; the modseq is
///    the truth, a feed event only a wake-up. EXPUNGE is never sent while answering FETCH, STORE or SEARCH.
/// 3. A literal's size is checked before any of its bytes is read: against APPENDLIMIT once authenticated, against
///    `maximumLiteralSizeBeforeAuthentication` (a few KiB) before.
/// 4. Store faults are logged with detail and answered `NO [SERVERBUG]`-free: a bare temporary failure.
/// 5. One connection's failure ends that session only; malformed input is answered BAD, never trusted.
import Directory
import IMAPProtocol
import Logging
import MailStore
import ServerCore
import Synchronization

/// Settings of the IMAP server, with their defaults.
public struct IMAPServerConfiguration: Sendable {
    /// Allow LOGIN/AUTHENTICATE on a connection without TLS (test rigs only). Default false: LOGINDISABLED.
    public var allowCleartextAuthentication = false
    /// Whether the listener offers STARTTLS (true for the `imap` port, false for `imaps`, which is TLS already).
    public var startTLSAvailable = true
    /// Largest APPEND literal (RFC 7889 APPENDLIMIT). Default 50 MB.
    public var appendLimit = IMAPParserLimits.defaultMaximumLiteralSize
    /// Largest literal before authentication (RFC 7888 §4): larger ones are refused before they are read, `tag BAD`
    /// or, when non-synchronizing, `* BYE`. Default 8 KiB.
    public var maximumLiteralSizeBeforeAuthentication = IMAPParserLimits.defaultMaximumLiteralSizeBeforeAuthentication
    /// Longest command line, literals excluded. Default 64 KiB.
    public var maximumLineLength = IMAPParserLimits.defaultMaximumLineLength
    /// Storage quota in octets of accounts without their own (`quota.default`); 0 is unlimited. APPEND, COPY and MOVE
    /// past the quota get NO [OVERQUOTA].
    public var defaultQuota: Int64 = 0
    /// Connections one account may hold open at once. Default 50.
    public var maximumConnectionsPerUser = 50
    /// Failed authentications after which the connection is closed. Default 3.
    public var maximumAuthenticationFailures = 3
    /// Autologout before authentication (RFC 9051 §5.4 allows it). Default 60 s.
    public var unauthenticatedTimeout: Duration = .seconds(60)
    /// Autologout when authenticated and silent (RFC 9051 §5.4: at least 30 minutes). Default 30 min.
    public var authenticatedTimeout: Duration = .seconds(30 * 60)
    /// How long an IDLE may last without traffic (RFC 2177: at least 29 minutes). Default 31 min.
    public var idleTimeout: Duration = .seconds(31 * 60)
    /// Server software name for ID (RFC 2971).
    public var serverName = "Letterbox"
    /// Message states of recently selected mailboxes kept for every session's SELECT (`MailboxStateCache`). Default
    /// 500,000; 0 reads the store at each SELECT.
    public var stateCacheMessages = 500_000

    public init() {}
}

/// Counts open sessions per account, so one account cannot take every connection slot.
final class UserConnectionCounter: Sendable {
    private let counts = Mutex<[AccountID: Int]>([:])

    /// Takes a slot; false when the account already holds `limit`.
    func acquire(_ account: AccountID, limit: Int) -> Bool {
        counts.withLock { counts in
            let current = counts[account, default: 0]
            guard current < limit else { return false }
            counts[account] = current + 1
            return true
        }
    }

    func release(_ account: AccountID) {
        counts.withLock { counts in
            let current = counts[account, default: 0]
            counts[account] = current > 1 ? current - 1 : nil
        }
    }
}

/// The IMAP protocol for a ServerCore `Listener`: one `IMAPSession` per connection.
public struct IMAPConnectionHandler: ConnectionHandler {
    public let store: any MailStore
    /// The process's one authenticator (shared with SMTP: failures and lockouts count across protocols).
    public let authenticator: Authenticator
    public let configuration: IMAPServerConfiguration
    let userConnections: UserConnectionCounter
    let mailboxStates: MailboxStateCache

    public init(store: any MailStore, authenticator: Authenticator, configuration: IMAPServerConfiguration = IMAPServerConfiguration()) {
        self.init(store: store, authenticator: authenticator, configuration: configuration, userConnections: UserConnectionCounter(),
                  mailboxStates: MailboxStateCache(store: store, capacity: configuration.stateCacheMessages))
    }

    /// A handler for a second listener that shares this one's per-user connection count and mailbox state cache
    /// (`imap` and `imaps`).
    public func sharingLimits(configuration: IMAPServerConfiguration) -> IMAPConnectionHandler {
        IMAPConnectionHandler(store: store, authenticator: authenticator, configuration: configuration, userConnections: userConnections,
                              mailboxStates: mailboxStates)
    }

    init(store: any MailStore, authenticator: Authenticator, configuration: IMAPServerConfiguration, userConnections: UserConnectionCounter,
         mailboxStates: MailboxStateCache) {
        self.store = store
        self.authenticator = authenticator
        self.configuration = configuration
        self.userConnections = userConnections
        self.mailboxStates = mailboxStates
    }

    public func handle(_ connection: Connection) async throws {
        let session = IMAPSession(connection: connection, handler: self)
        await session.run()
    }

    public func refusalMessage(for reason: RefusalReason) -> String {
        switch reason {
        case .tooManyConnections, .tooManyConnectionsFromAddress: "* BYE [UNAVAILABLE] Too many connections\r\n"
        case .shuttingDown: "* BYE [UNAVAILABLE] Server shutting down\r\n"
        }
    }
}
