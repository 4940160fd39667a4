// ServerCore: the one generic listener service that the SMTP, submission and IMAP servers plug into.
//
// What it implements:
// - `Listener`: a ServiceLifecycle `Service` that binds a TCP port (SwiftNIO `ServerBootstrap` + `NIOAsyncChannel`), runs one
//   child task per connection in a discarding task group, enforces connection limits (total and per remote address), and
//   shuts down gracefully (stop accepting → signal live sessions → bounded grace period → close).
// - `Connection`: what a protocol session gets: identity, addresses, a per-connection `Logger`, framed reads (`readLine`,
//   `readBytes(exactly:)`, `readAvailable(max:)`), batched writes, idle timeouts, wake-ups and `startTLS(sending:)`.
// - TLS material: `TLSCertificateStore` (PEM files → `NIOSSLContext`, TLS 1.2 minimum, `reload()` on SIGHUP),
//   `SelfSignedCertificate` (swift-certificates), `CertificateSummary` (notAfter and names, for `letterbox doctor`).
//
// RFCs: RFC 3207 §4.2 and RFC 2595 §3.1 / RFC 8314 (STARTTLS: the server discards — here: refuses — any plaintext the client
// pipelined after the STARTTLS command; implicit TLS), RFC 8996 (TLS 1.0 and 1.1 are not offered).
//
// Invariants (each is relied on by the protocol servers; keep them true):
// 1. ServerCore knows nothing about SMTP or IMAP. Protocol text reaches it only as bytes the protocol supplies
//    (`ConnectionHandler.refusalMessage(for:)`, the reply passed to `startTLS(sending:)`).
// 2. Framing happens in the session task over `Connection`'s own buffer, fed by the channel's inbound stream. The
//    channel pipeline never switches decoding modes on behalf of the async side (that races with reads).
// 3. Everything the session task receives arrives in one ordered stream of `InboundEvent`s: bytes, the STARTTLS marker,
//    wake-ups and idle-timer expiries. Timers and wake-ups are stream elements, never tasks racing a read, so no read is ever
//    cancelled half-way and no task is leaked.
// 4. STARTTLS writes the plaintext reply, inserts `NIOSSLServerHandler` at `.first` and fires the `.tlsStarted` marker in ONE
//    event-loop task (see shared/notes/swift-stack.md §5). Bytes that precede the marker in the stream, or sit unread in the
//    connection's buffer, were sent in plaintext: they are never delivered as TLS input; `startTLS` throws
//    `ConnectionError.plaintextAfterSTARTTLS` and the session must close (CVE-2011-0411 class).
// 5. Memory per connection is bounded: a line never grows past its limit (the rest of an over-long line is discarded up to
//    its LF), queued output is flushed at `Connection.outputFlushThreshold`, and the inbound stream is back-pressured.
//    Only `readBytes(exactly:)` buffers what the caller asked for: the caller bounds `n`.
// 6. One bad connection never disturbs the listener: a session's error ends that session only, and is logged with the
//    connection id. Payload bytes are never logged above `.trace`.
// 7. Every admitted connection is released exactly once (limits, active gauge), whichever way its session ends.

import NIOCore

/// A short, unique, log-friendly connection id (10 characters of lowercase base32, 50 random bits).
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public let description: String

    static func random() -> ConnectionID {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        var generator = SystemRandomNumberGenerator()
        var bits = generator.next() as UInt64
        var characters: [Character] = []
        for _ in 0..<10 {
            characters.append(alphabet[Int(bits & 31)])
            bits >>= 5
        }
        return ConnectionID(description: String(characters))
    }
}

extension TimeAmount {
    /// `TimeAmount(duration)`, saturating instead of trapping on durations NIO cannot represent.
    static func clamped(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        guard seconds < Int64.max / 1_000_000_000 - 1 else { return .nanoseconds(.max) }
        return .nanoseconds(max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }
}
