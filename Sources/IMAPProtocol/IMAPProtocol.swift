/// IMAPProtocol: the pure IMAP4 core of Letterbox — an incremental command parser with literals, the command and response
/// vocabulary, a response encoder that produces exact wire bytes, mailbox-name handling and the session state machines.
///
/// Implements the grammar of RFC 3501 (IMAP4rev1) and RFC 9051 (IMAP4rev2), plus RFC 2177 IDLE, RFC 2342 NAMESPACE,
/// RFC 2971 ID, RFC 3516 BINARY, RFC 4315 UIDPLUS, RFC 4466 (collected ABNF extensions), RFC 4731 ESEARCH, RFC 4959 SASL-IR,
/// RFC 5161 ENABLE, RFC 5182 (`$` saved search result), RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE,
/// RFC 6851 MOVE, RFC 6855 UTF8=ACCEPT, RFC 7162 CONDSTORE and QRESYNC, RFC 7888 LITERAL+, RFC 8438 STATUS=SIZE and
/// RFC 7889 APPENDLIMIT.
///
/// Pure: no I/O, no logging. `ByteBuffer` is the only NIO type used. The server module owns the channel:
/// - `IMAPCommandParser` turns bytes into `IMAPCommand`s (or says it needs more bytes / a literal).
/// - `IMAPResponseEncoder` turns `IMAPResponse`s into bytes.
/// - `IMAPSessionState` decides which commands are legal and computes capabilities.
/// - `SelectedMailboxView` keeps the client's view of a selected mailbox (sequence numbers ↔ UIDs) and decides when
///   pending changes may be announced (RFC 3501 §7.4.1, RFC 9051 §7.5.1).
///
/// How a server drives it, per connection:
/// 1. Send `session.greeting`. On every read, call `parser.parseCommand(&buffer)` until it says `.needMoreBytes`:
///    `.needLiteral(_, synchronizing: true)` → send `.continuation("Ready")`; `.syntaxError` → `tag BAD reason`, then
///    `parser.skipFailedCommand(&buffer)`; `.literalTooLarge` → `tag NO [TOOBIG]` and skip (close after a
///    non-synchronizing one); `.lineTooLong` → `* BYE` and close.
/// 2. `.command(tag, command)` → `session.receive(tag:command)` → carry out its actions; for `.execute` do the work,
///    report outcomes back (`authenticated()`, `selected(_:readOnly:)`, `unselected()`, `tlsStarted()`), and keep
///    `parser.options.utf8Enabled` and `IMAPResponseEncoder.utf8Enabled` equal to `session.utf8Enabled`.
/// 3. While a mailbox is selected, feed the store's change feed into `SelectedMailboxView.apply(_:)` and, before each
///    tagged reply, send `view.pendingResponses(expungesAllowed: SelectedMailboxView.expungesAllowed(during: command))`.
/// 4. During AUTHENTICATE read lines with `parseAuthenticationResponse`, during IDLE with `parseIdleDone`.
import MailCore
