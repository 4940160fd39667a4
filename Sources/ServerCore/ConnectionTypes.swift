import NIOCore
import NIOSSL

/// How a line read by `Connection.readLine` ended.
public enum LineTerminator: Sendable, Hashable {
    /// "\r\n", as the mail protocols require.
    case crlf
    /// A bare "\n" (SMTP must treat it with suspicion: RFC 5321 §2.3.8, SMTP smuggling).
    case lf
}

/// One line, without its terminator.
public struct Line: Sendable, Hashable {
    public var bytes: ByteBuffer
    public var terminator: LineTerminator

    public init(bytes: ByteBuffer, terminator: LineTerminator) {
        self.bytes = bytes
        self.terminator = terminator
    }

    /// The line as text (invalid UTF-8 repaired); for logs and tests.
    public var text: String { String(buffer: bytes) }
}

/// What `Connection.readLineOrWakeUp` returns.
public enum InputEvent: Sendable, Hashable {
    /// A complete line arrived.
    case line(Line)
    /// `ConnectionWaker.wakeUp()` was called (possibly several times, coalesced) and no complete line was buffered.
    case wokenUp
    /// The listener started a graceful shutdown. Reported once; `Connection.isShutdownRequested` stays true afterwards.
    case shutdownRequested
}

/// Why a read, write or TLS upgrade failed.
public enum ConnectionError: Error, Sendable, CustomStringConvertible {
    /// The line exceeded `limit` bytes. The offending bytes are discarded up to and including the next LF, so the session
    /// may answer (e.g. "500 5.5.6 Line too long") and read the next line.
    case lineTooLong(limit: Int)
    /// No input for the current idle timeout.
    case idleTimeout
    /// The client closed its side (or the connection was closed).
    case endOfStream
    /// The client sent `byteCount` plaintext bytes after the STARTTLS command (RFC 3207 §4.2). They were discarded;
    /// the session must close the connection.
    case plaintextAfterSTARTTLS(byteCount: Int)
    /// `startTLS` on a listener whose mode is not `.startTLS`, or on a connection that already uses TLS.
    case tlsUnavailable
    /// The socket or TLS layer failed (reset, handshake failure, …).
    case transport(any Error)

    public var description: String {
        switch self {
        case .lineTooLong(let limit): "line longer than \(limit) bytes"
        case .idleTimeout: "idle timeout"
        case .endOfStream: "end of stream"
        case .plaintextAfterSTARTTLS(let count): "\(count) plaintext bytes pipelined after STARTTLS"
        case .tlsUnavailable: "TLS is not available on this connection"
        case .transport(let error): "transport error: \(error)"
        }
    }
}

/// What is known about a connection's TLS session.
public struct TLSInfo: Sendable, Hashable {
    /// The negotiated protocol version; nil until the handshake completed. (NIOSSL does not expose the cipher suite.)
    public var version: TLSVersion?
}
