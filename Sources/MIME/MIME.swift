/// MIME: the message parser, MIME tree, charsets, IMAP views (ENVELOPE, BODYSTRUCTURE, sections), search text and builder.
/// RFC 2045, 2046, 2047, 2231, 5322; RFC 3501 / 9051 for the IMAP views.
import MailCore
