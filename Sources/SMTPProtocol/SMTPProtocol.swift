/// SMTPProtocol: the SMTP command parser, reply encoder, body decoders and the server and client session state
/// machines. Pure: no I/O, no logging; `ByteBuffer` is the only NIO type used.
///
/// Implements RFC 5321 (SMTP), 1870 (SIZE), 2920 (PIPELINING), 3030 (CHUNKING/BDAT; BINARYMIME optional),
/// 3207 (STARTTLS), 3461 (DSN parameters), 3463 + 2034 (enhanced status codes), 4954 (AUTH framing; the SASL
/// mechanisms themselves live in `SASL`), 6152 (8BITMIME), 6531 (SMTPUTF8) and 8689 (REQUIRETLS).
///
/// Map of the module:
/// - `SMTPCommandParser.parse(line:)` → `SMTPCommand` or a typed `SMTPCommandError` whose `reply` is the one place
///   syntax errors become 500/501/504/555 replies. Paths (`SMTPPath`, `SMTPMailbox`) follow RFC 5321 §4.1.2 exactly.
/// - `SMTPReply` (+ the catalogue in `SMTPReply+Catalogue.swift`) and its wire encoder.
/// - `SMTPDataDecoder` (DATA: dot-unstuffing, ends only at `<CRLF>.<CRLF>`, bare CR/LF refused, bounded memory) and
///   `SMTPChunkChecker` (BDAT).
/// - `SMTPInputFramer`: bytes → `SMTPServerInput` (command lines, AUTH lines, body octets) for the session's mode.
/// - `SMTPServerSession`: the server state machine. `SMTPClientSession`: the outbound client state machine.
///
/// ## How a server module drives `SMTPServerSession`
///
/// One task per connection owns a `SMTPServerSession`, a `SMTPInputFramer` and an input `ByteBuffer`:
///
/// ```swift
/// var session = SMTPServerSession(configuration: config)
/// var framer = SMTPInputFramer()
/// try await perform(session.start())                       // 220 greeting
/// for try await bytes in inbound {
///     buffer.writeBuffer(&bytes)
///     while let input = framer.next(from: &buffer, mode: session.inputMode) {
///         try await perform(session.receive(input))
///     }
///     try await flush()                                    // nothing complete left in the buffer: flush replies
/// }
/// perform(session.connectionClosed())
/// ```
///
/// `perform` carries the actions out in order. `.reply` appends the reply to an output buffer (not flushed).
/// Questions (`.checkSender`, `.checkRecipient`, `.authenticate`, `.authenticationResponse`, `.deliver`) are answered
/// at once by awaiting the collaborator and calling the matching answer method (`senderChecked`, `recipientChecked`,
/// `authenticationChallenge` / `authenticationSucceeded` / `authenticationFailed`, `deliveryFinished`), whose
/// actions are performed in turn. `.startTLS(reply)` writes and flushes the reply, **clears the input buffer**
/// (RFC 3207 §4.2: plaintext pipelined behind STARTTLS is never executed), runs the handshake and calls
/// `tlsEstablished()`. `.close` flushes and closes.
///
/// Batching (RFC 2920 §3.2, §3.1 (9)): the session handles commands strictly one at a time, so replies come out in
/// command order. The server flushes only when `framer.next` returns nil — i.e. when the input buffer holds no further
/// complete input — and before a TLS handshake or close. A pipelined batch of MAIL/RCPT/… therefore gets its replies
/// in one write, while a client waiting for a single reply gets it at once. The server must never drop buffered input
/// after a failed command. Body octets (`.appendData`) go straight to the spool as they arrive; nothing accumulates.
///
/// ## How Delivery drives `SMTPClientSession`
///
/// See `SMTPClientSession`: feed the server's reply lines through `SMTPReplyParser`, hand each complete reply to
/// `receive(_:)`, and perform the returned actions (`.send`, `.startTLS`, `.finished`).
public enum SMTPProtocol {
    /// The default command line limit including CRLF (RFC 5321 §4.5.3.1.4).
    public static let defaultCommandLineLimit = 512
}
