/// MailStore: the storage contract of Letterbox — value types, the `MailStore`, `BlobStore`, `DirectoryStore` and `QueueStore`
/// protocols every backend implements, and the in-process change feed that carries mailbox changes to IMAP sessions.
///
/// Invariants every backend keeps (the conformance suite in MailTestSupport checks them):
/// - A message's bytes are a content-addressed blob, written and fsync'd before the metadata that references it commits.
/// - Per mailbox, UIDs are strictly ascending and never reused, UIDVALIDITY never changes for the life of a mailbox name,
///   and every change (append, flag change, expunge) stamps the rows it touches with a new, higher modseq.
/// - An expunge leaves (uid, modseq) in the expunge log so sessions can resynchronise from a modseq.
/// - Change notifications are published only after the transaction that made the change has committed.
import MailCore

/// An account (a user) in the directory.
public struct AccountID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { "account-\(rawValue)" }
}

/// A mailbox, unique per store (not per account).
public struct MailboxID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { "mailbox-\(rawValue)" }
}

/// A blob's identity: the lower-case hex SHA-256 of its bytes.
public struct BlobID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let hex: String
    public init?(hex: String) {
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else { return nil }
        self.hex = hex
    }
    public var description: String { hex }
}

/// IMAP message UID (RFC 9051 §2.3.1.1): 32-bit, non-zero, strictly ascending per mailbox.
public typealias UID = UInt32

/// CONDSTORE mod-sequence (RFC 7162): 63-bit, strictly ascending per mailbox.
public typealias ModSeq = Int64

/// RFC 6154 special-use attributes.
public enum SpecialUse: String, Sendable, Codable, CaseIterable {
    case all = "\\All"
    case archive = "\\Archive"
    case drafts = "\\Drafts"
    case flagged = "\\Flagged"
    case junk = "\\Junk"
    case sent = "\\Sent"
    case trash = "\\Trash"
}

/// The mailboxes every new account gets (issue: "INBOX, Drafts, Sent, Trash, Junk, Archive with SPECIAL-USE attributes").
public let defaultMailboxes: [(name: String, specialUse: SpecialUse?)] = [
    ("INBOX", nil), ("Drafts", .drafts), ("Sent", .sent), ("Trash", .trash), ("Junk", .junk), ("Archive", .archive),
]
