import NIOCore

/// How a listener offers TLS.
public enum TLSMode: Sendable, Hashable {
    /// Plaintext only; `Connection.startTLS(sending:)` throws `.tlsUnavailable`.
    case none
    /// Plaintext first; the session may upgrade with `Connection.startTLS(sending:)` (SMTP STARTTLS, IMAP STARTTLS).
    case startTLS
    /// TLS from the first byte (RFC 8314: submissions on 465, imaps on 993).
    case implicit
}

/// The settings of one listening socket. Every default is documented where it is declared.
public struct ListenerConfiguration: Sendable {
    /// The name used in logs and metric dimensions, e.g. "smtp", "submission", "imaps".
    public var name: String
    /// The address to bind. Default "127.0.0.1"; "0.0.0.0" or "::" for all interfaces.
    public var host: String
    /// The port to bind; 0 picks a free port (read it back from `Listener.boundAddress`).
    public var port: Int
    /// How TLS is offered. Default `.none`.
    public var tlsMode: TLSMode
    /// Connections open at once on this listener; more are refused with `RefusalReason.tooManyConnections`. Default 1000.
    public var maxConnections: Int
    /// Connections open at once from one remote IP address; more are refused with
    /// `RefusalReason.tooManyConnectionsFromAddress`. Default 20.
    public var maxConnectionsPerAddress: Int
    /// How long a read may wait for the client before failing with `ConnectionError.idleTimeout`. Default 5 minutes
    /// (RFC 5321 §4.5.3.2.7 asks SMTP servers for at least 5 minutes). A session changes it per connection with
    /// `Connection.idleTimeout` (e.g. 60 s before authentication, 30 min in IMAP IDLE).
    public var idleTimeout: Duration
    /// The longest line `Connection.readLine()` accepts, terminator excluded. Default 8 KiB; protocols pass their own.
    public var maxLineLength: Int
    /// After a graceful shutdown starts, how long live sessions may go on before they are closed. Default 30 seconds.
    public var shutdownGracePeriod: Duration
    /// How long writing the refusal text to a refused connection may take (implicit TLS needs a handshake first). Default 10 s.
    public var refusalTimeout: Duration
    /// The listen(2) backlog: connections the kernel completes before we accept them. Default 4096 (the kernel caps it at
    /// net.core.somaxconn); a small backlog under a burst of clients makes the kernel drop handshakes it already
    /// acknowledged, and those clients then wait for a greeting that never comes.
    public var backlog: Int32

    public init(
        name: String,
        host: String = "127.0.0.1",
        port: Int,
        tlsMode: TLSMode = .none,
        maxConnections: Int = 1000,
        maxConnectionsPerAddress: Int = 20,
        idleTimeout: Duration = .seconds(300),
        maxLineLength: Int = 8192,
        shutdownGracePeriod: Duration = .seconds(30),
        refusalTimeout: Duration = .seconds(10),
        backlog: Int32 = 4096
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.tlsMode = tlsMode
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.idleTimeout = idleTimeout
        self.maxLineLength = maxLineLength
        self.shutdownGracePeriod = shutdownGracePeriod
        self.refusalTimeout = refusalTimeout
        self.backlog = backlog
    }
}

/// Why the listener refused a connection. The protocol turns it into its own text (`ConnectionHandler.refusalMessage`).
public enum RefusalReason: Sendable, Hashable, CustomStringConvertible {
    /// `ListenerConfiguration.maxConnections` connections are open.
    case tooManyConnections
    /// `ListenerConfiguration.maxConnectionsPerAddress` connections from this remote address are open.
    case tooManyConnectionsFromAddress
    /// The listener is shutting down.
    case shuttingDown

    public var description: String {
        switch self {
        case .tooManyConnections: "too_many_connections"
        case .tooManyConnectionsFromAddress: "too_many_connections_from_address"
        case .shuttingDown: "shutting_down"
        }
    }
}

/// The protocol side of a listener: SMTP, submission and IMAP each provide one.
public protocol ConnectionHandler: Sendable {
    /// Runs one session. The listener closes the connection when this returns or throws; a thrown error is logged and
    /// ends only this session.
    func handle(_ connection: Connection) async throws

    /// The bytes written to a refused client before the connection is closed, terminator included,
    /// e.g. "421 4.7.0 Too many connections\r\n" (SMTP) or "* BYE Too many connections\r\n" (IMAP).
    func refusalMessage(for reason: RefusalReason) -> String
}
