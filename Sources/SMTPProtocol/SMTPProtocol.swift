/// SMTPProtocol: SMTP command parser, reply encoder and the server and client session state machines (RFC 5321 and extensions).
/// Pure: no I/O. `ByteBuffer` is the only NIO type used.
import MailCore
