/// IMAPProtocol: incremental IMAP grammar parser (with literals), response encoder and session state machine (RFC 3501, RFC 9051).
/// Pure: no I/O. `ByteBuffer` is the only NIO type used.
import MailCore
