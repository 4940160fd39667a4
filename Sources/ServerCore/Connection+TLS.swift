import NIOCore
import NIOSSL

extension Connection {
    /// Sends `reply` in plaintext (e.g. "220 2.0.0 Ready to start TLS\r\n" or "a1 OK Begin TLS negotiation now\r\n") and
    /// upgrades the connection to TLS with the listener's current certificate.
    ///
    /// The reply write, the insertion of `NIOSSLServerHandler` at `.first` and the `.tlsStarted` marker happen in ONE
    /// event-loop task (shared/notes/swift-stack.md §5): no socket read can fall between them, so the ClientHello always
    /// reaches TLS. Output queued with `write` and not yet flushed goes out before `reply`.
    ///
    /// STARTTLS command injection (RFC 3207 §4.2, CVE-2011-0411): plaintext the client sent after the command line, whether
    /// still in this connection's buffer or already in the inbound stream ahead of the marker, is discarded and reported
    /// as `.plaintextAfterSTARTTLS`; the session must then close the connection. If it was found before the upgrade,
    /// `reply` was not sent and the connection is still plaintext.
    /// - Throws: `.tlsUnavailable`, `.plaintextAfterSTARTTLS`, `.endOfStream`, `.transport`.
    public func startTLS(sending reply: ByteBuffer) async throws(ConnectionError) {
        guard tlsMode == .startTLS, !isTLS, let certificates else { throw .tlsUnavailable }
        let early = discardBufferedInput()
        if early > 0 {
            logger.notice("plaintext pipelined after STARTTLS", metadata: ["bytes": "\(early)"])
            throw .plaintextAfterSTARTTLS(byteCount: early)
        }
        let context = certificates.context
        let queued = takePendingOutput()
        let channel = self.channel
        let handler = self.handler
        do {
            try await channel.eventLoop.submit {
                for bytes in queued { channel.write(bytes, promise: nil) }
                channel.writeAndFlush(reply, promise: nil)
                let tls = NIOSSLServerHandler(context: context)
                try channel.pipeline.syncOperations.addHandler(tls, position: .first)
                handler.value.inject(.tlsStarted)
            }.get()
        } catch {
            throw .transport(error)
        }
        isTLS = true
        // Everything ahead of the marker in the stream was read before TLS was in place: plaintext.
        var late = 0
        while true {
            switch try await nextEvent() {
            case .bytes(let bytes): late += bytes.readableBytes
            case .tlsStarted:
                if late > 0 {
                    outputAbandoned = true  // TLS is half set up: nothing more can be said to this client
                    logger.notice("plaintext pipelined after STARTTLS", metadata: ["bytes": "\(late)"])
                    throw .plaintextAfterSTARTTLS(byteCount: late)
                }
                logger.debug("TLS started")
                return
            case .wakeUp:
                signals.endWakeUp()
                wakeUpPending = true
            case .idleTimeout:
                continue  // a timer of an earlier read
            }
        }
    }

    /// `startTLS(sending:)` with a text reply.
    public func startTLS(sending reply: String) async throws(ConnectionError) {
        try await startTLS(sending: ByteBuffer(string: reply))
    }
}
