import MailCore

/// A mailbox as the store sees it.
public struct MailboxInfo: Hashable, Sendable {
    public var id: MailboxID
    public var account: AccountID
    /// The full name with `/` as hierarchy separator, in UTF-8 (never modified UTF-7). `INBOX` is always spelt so.
    public var name: String
    public var uidValidity: UInt32
    public var uidNext: UID
    public var highestModSeq: ModSeq
    public var specialUse: SpecialUse?
    public var subscribed: Bool

    public init(
        id: MailboxID, account: AccountID, name: String, uidValidity: UInt32, uidNext: UID, highestModSeq: ModSeq,
        specialUse: SpecialUse?, subscribed: Bool
    ) {
        self.id = id
        self.account = account
        self.name = name
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.highestModSeq = highestModSeq
        self.specialUse = specialUse
        self.subscribed = subscribed
    }
}

/// Counters for STATUS (RFC 9051 §6.3.11) and SELECT.
public struct MailboxStatus: Hashable, Sendable {
    public var messages: Int
    public var unseen: Int
    public var deleted: Int
    public var recent: Int
    /// Sum of RFC822.SIZE of all messages (STATUS=SIZE, RFC 8438).
    public var size: Int64
    public var uidNext: UID
    public var uidValidity: UInt32
    public var highestModSeq: ModSeq

    public init(
        messages: Int, unseen: Int, deleted: Int, recent: Int, size: Int64, uidNext: UID, uidValidity: UInt32,
        highestModSeq: ModSeq
    ) {
        self.messages = messages
        self.unseen = unseen
        self.deleted = deleted
        self.recent = recent
        self.size = size
        self.uidNext = uidNext
        self.uidValidity = uidValidity
        self.highestModSeq = highestModSeq
    }
}

/// The IMAP date a message carries (INTERNALDATE): seconds since 1970 plus the zone it was given in.
public struct InternalDate: Hashable, Sendable, Codable, Comparable {
    public var secondsSince1970: Int64
    public var zoneOffsetMinutes: Int

    public init(secondsSince1970: Int64, zoneOffsetMinutes: Int = 0) {
        self.secondsSince1970 = secondsSince1970
        self.zoneOffsetMinutes = zoneOffsetMinutes
    }

    public static func < (lhs: InternalDate, rhs: InternalDate) -> Bool { lhs.secondsSince1970 < rhs.secondsSince1970 }
}

/// Views of a message computed once at delivery so IMAP never re-parses to answer FETCH ENVELOPE/BODYSTRUCTURE/SEARCH.
/// The IMAP views are stored as the exact wire bytes the FETCH response carries. Empty means "not computed": the reader
/// computes it from the blob.
public struct MessageSummary: Hashable, Sendable {
    public var envelope: [UInt8]
    public var bodyStructure: [UInt8]
    /// Non-extensible BODY form.
    public var body: [UInt8]
    /// Decoded header and body text for SEARCH, bounded by the writer.
    public var searchText: String

    public init(envelope: [UInt8] = [], bodyStructure: [UInt8] = [], body: [UInt8] = [], searchText: String = "") {
        self.envelope = envelope
        self.bodyStructure = bodyStructure
        self.body = body
        self.searchText = searchText
    }
}

/// A message to add to one or more mailboxes; its blob must already be in the blob store.
public struct NewMessage: Sendable {
    public var blob: BlobID
    public var size: Int
    public var internalDate: InternalDate
    public var flags: MessageFlags
    public var summary: MessageSummary

    public init(blob: BlobID, size: Int, internalDate: InternalDate, flags: MessageFlags = MessageFlags(), summary: MessageSummary = MessageSummary()) {
        self.blob = blob
        self.size = size
        self.internalDate = internalDate
        self.flags = flags
        self.summary = summary
    }
}

/// A message in a mailbox.
public struct MessageRecord: Hashable, Sendable {
    public var uid: UID
    public var modSeq: ModSeq
    public var flags: MessageFlags
    public var internalDate: InternalDate
    public var size: Int
    public var blob: BlobID

    public init(uid: UID, modSeq: ModSeq, flags: MessageFlags, internalDate: InternalDate, size: Int, blob: BlobID) {
        self.uid = uid
        self.modSeq = modSeq
        self.flags = flags
        self.internalDate = internalDate
        self.size = size
        self.blob = blob
    }

    public init(_ state: MessageState, blob: BlobID) {
        self.init(uid: state.uid, modSeq: state.modSeq, flags: state.flags, internalDate: state.internalDate, size: state.size, blob: blob)
    }
}

/// A message's state without its blob id: what an IMAP session keeps of each message of its selected mailbox (about
/// 56 bytes, no allocation unless the message has keywords), and what SELECT reads for every message.
public struct MessageState: Hashable, Sendable {
    public var uid: UID
    public var modSeq: ModSeq
    public var flags: MessageFlags
    public var internalDate: InternalDate
    public var size: Int

    public init(uid: UID, modSeq: ModSeq, flags: MessageFlags, internalDate: InternalDate, size: Int) {
        self.uid = uid
        self.modSeq = modSeq
        self.flags = flags
        self.internalDate = internalDate
        self.size = size
    }

    public init(_ record: MessageRecord) {
        self.init(uid: record.uid, modSeq: record.modSeq, flags: record.flags, internalDate: record.internalDate, size: record.size)
    }
}

/// Every message's state in a mailbox, read in one snapshot with the mailbox's HIGHESTMODSEQ: the states hold every
/// change up to `highestModSeq` and none after it, so `changes(in:since: highestModSeq)` brings them up to date.
public struct MailboxStates: Sendable {
    /// In ascending UID order.
    public var states: [MessageState]
    public var highestModSeq: ModSeq

    public init(states: [MessageState], highestModSeq: ModSeq) {
        self.states = states
        self.highestModSeq = highestModSeq
    }
}

/// What changed in a mailbox after a given modseq: the resynchronisation a session does when it is told of a change.
public struct MailboxChanges: Sendable {
    /// Messages added or with changed flags since the modseq, in UID order.
    public var changed: [MessageRecord]
    /// UIDs expunged since the modseq, ascending.
    public var expunged: [UID]
    public var highestModSeq: ModSeq
    public var uidNext: UID

    public init(changed: [MessageRecord], expunged: [UID], highestModSeq: ModSeq, uidNext: UID) {
        self.changed = changed
        self.expunged = expunged
        self.highestModSeq = highestModSeq
        self.uidNext = uidNext
    }
}

public enum FlagOperation: Sendable, Hashable {
    case add, remove, replace
}

/// The result of APPEND/COPY/MOVE, for UIDPLUS (RFC 4315) response codes.
public struct UIDMapping: Sendable, Hashable {
    public var uidValidity: UInt32
    public var source: [UID]
    public var destination: [UID]

    public init(uidValidity: UInt32, source: [UID], destination: [UID]) {
        self.uidValidity = uidValidity
        self.source = source
        self.destination = destination
    }
}

/// Errors a store reports to its callers; the protocols map them to NO responses / 4xx-5xx replies.
public enum MailStoreError: Error, Equatable, Sendable {
    case mailboxNotFound(String)
    case mailboxExists(String)
    case cannotDeleteInbox
    case invalidMailboxName(String)
    case accountNotFound(String)
    case accountExists(String)
    case domainNotFound(String)
    case domainExists(String)
    case domainNotEmpty(String)
    case aliasExists(String)
    case aliasNotFound(String)
    case blobMissing(BlobID)
    case quotaExceeded
    case queueEntryNotFound(String)
    /// A fault of the backend (disk, database); logged with detail, shown to clients as a temporary failure.
    case storage(String)
}

extension MailStoreError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .mailboxNotFound(let name): "no mailbox named '\(name)'"
        case .mailboxExists(let name): "mailbox '\(name)' already exists"
        case .cannotDeleteInbox: "INBOX cannot be deleted"
        case .invalidMailboxName(let name): "'\(name)' is not a valid mailbox name"
        case .accountNotFound(let name): "no such user '\(name)'"
        case .accountExists(let name): "user '\(name)' already exists"
        case .domainNotFound(let name): "no such domain '\(name)'"
        case .domainExists(let name): "domain '\(name)' already exists"
        case .domainNotEmpty(let name): "domain '\(name)' still has users or aliases"
        case .aliasExists(let text): "alias \(text) already exists"
        case .aliasNotFound(let text): "no such alias '\(text)'"
        case .blobMissing(let blob): "message data \(blob.hex) is missing"
        case .quotaExceeded: "over quota"
        case .queueEntryNotFound(let id): "no queued message with id '\(id)' (see: letterbox queue list)"
        case .storage(let detail): "storage error: \(detail)"
        }
    }
}
