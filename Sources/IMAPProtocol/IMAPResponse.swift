import NIOCore

/// Every response the server sends (RFC 9051 §7 and the extensions). One exhaustive encoder: `IMAPResponseEncoder`.
public enum IMAPResponse: Hashable, Sendable {
    /// tag OK/NO/BAD [code] text — completes a command.
    case tagged(tag: String, TaggedStatus, code: ResponseCode? = nil, text: String)
    case untagged(UntaggedResponse)
    /// "+" SP (resp-text / base64): ready for a literal, an IDLE, or a SASL challenge.
    case continuation(String)
}

public enum TaggedStatus: String, Hashable, Sendable {
    case ok = "OK"
    case no = "NO"
    case bad = "BAD"
}

/// Untagged status responses (resp-cond-state, resp-cond-auth, resp-cond-bye).
public enum UntaggedStatus: String, Hashable, Sendable {
    case ok = "OK"
    case no = "NO"
    case bad = "BAD"
    case preauth = "PREAUTH"
    case bye = "BYE"
}

public enum UntaggedResponse: Hashable, Sendable {
    case status(UntaggedStatus, code: ResponseCode? = nil, text: String)
    case capability([String])
    case enabled([String])
    case flags([Flag])
    case list(MailboxListItem)
    case lsub(MailboxListItem)
    case mailboxStatus(MailboxName, [StatusValue])
    /// The RFC 3501 SEARCH response (obsolete in RFC 9051, which answers ESEARCH); `modSeq` is RFC 7162's
    /// search-sort-mod-seq, sent when the search used MODSEQ.
    case search([UInt32], modSeq: UInt64? = nil)
    case esearch(ESearchResponse)
    /// sort-data = "SORT" *(SP nz-number) (RFC 5256 §4)
    case sort([UInt32])
    /// thread-data = "THREAD" [SP 1*thread-list] (RFC 5256 §4)
    case thread([ThreadNode])
    case exists(Int)
    /// RFC 3501 only.
    case recent(Int)
    case expunge(Int)
    /// expunged-resp = "VANISHED" [SP "(EARLIER)"] SP known-uids (RFC 7162 §3.2.10), once QRESYNC is enabled.
    case vanished(earlier: Bool, SequenceSet)
    case fetch(Int, [FetchResponseItem])
    case namespace(personal: [NamespaceDescription], otherUsers: [NamespaceDescription], shared: [NamespaceDescription])
    case id([IDParameter]?)
    /// quota-response = "QUOTA" SP quota-root-name SP quota-list (RFC 9208 §5.1)
    case quota(root: String, [QuotaResource])
    /// quotaroot-response = "QUOTAROOT" SP mailbox *(SP quota-root-name) (RFC 9208 §5.2)
    case quotaRoot(MailboxName, roots: [String])
}

/// resp-text-code (RFC 9051 §7.1, RFC 4315 UIDPLUS, RFC 7889 APPENDLIMIT-related TOOBIG, RFC 5530 codes).
public enum ResponseCode: Hashable, Sendable {
    case alert
    case badCharset([String])
    case capability([String])
    case parse
    /// The flags a client may change; `allowsNewKeywords` adds `\*`.
    case permanentFlags([Flag], allowsNewKeywords: Bool)
    case readOnly
    case readWrite
    case tryCreate
    case uidNext(UInt32)
    case uidValidity(UInt32)
    case unseen(UInt32)
    case highestModSeq(UInt64)
    /// RFC 7162 §3.1.2.2: the mailbox does not keep modseqs.
    case noModSeq
    /// RFC 7162 §3.1.3: the messages a STORE … (UNCHANGEDSINCE n) left alone.
    case modified(SequenceSet)
    /// APPENDUID uidvalidity uid-set (RFC 4315)
    case appendUID(uidValidity: UInt32, uids: SequenceSet)
    /// COPYUID uidvalidity source-uids destination-uids (RFC 4315)
    case copyUID(uidValidity: UInt32, source: SequenceSet, destination: SequenceSet)
    case uidNotSticky
    case closed
    case unavailable, authenticationFailed, authorizationFailed, expired, privacyRequired, contactAdmin, noPermission
    case inUse, expungeIssued, corruption, serverBug, clientBug, cannot, limit, overQuota, alreadyExists, nonexistent
    case notSaved, hasChildren, unknownCTE
    case tooBig
    /// Any other atom, with optional text.
    case other(String, String?)
}

/// A `LIST`/`LSUB` entry: mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox
/// [SP mbox-list-extended].
public struct MailboxListItem: Hashable, Sendable {
    /// `\HasChildren`, `\Noselect`, `\Subscribed`, `\Sent`, …
    public var attributes: [String]
    public var separator: Character?
    public var name: MailboxName
    /// RFC 5258 CHILDINFO extended data item: the selection options matched by children (e.g. `SUBSCRIBED`).
    public var childInfo: [String]

    public init(attributes: [String], separator: Character? = MailboxName.separator, name: MailboxName, childInfo: [String] = []) {
        self.attributes = attributes
        self.separator = separator
        self.name = name
        self.childInfo = childInfo
    }
}

/// status-att-val: an attribute and its value.
public struct StatusValue: Hashable, Sendable {
    public var attribute: StatusAttribute
    public var value: UInt64
    public init(_ attribute: StatusAttribute, _ value: UInt64) {
        self.attribute = attribute
        self.value = value
    }
}

/// esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)   (RFC 4731, RFC 9051)
public struct ESearchResponse: Hashable, Sendable {
    public var tag: String?
    public var uid: Bool
    public var min: UInt32?
    public var max: UInt32?
    public var all: SequenceSet?
    public var count: Int?
    /// RFC 7162 §3.1.5: the highest modseq of the messages found, when the search used MODSEQ.
    public var modSeq: UInt64?

    public init(
        tag: String?, uid: Bool, min: UInt32? = nil, max: UInt32? = nil, all: SequenceSet? = nil, count: Int? = nil,
        modSeq: UInt64? = nil
    ) {
        self.tag = tag
        self.uid = uid
        self.min = min
        self.max = max
        self.all = all
        self.count = count
        self.modSeq = modSeq
    }
}

/// namespace-descr = "(" string SP (DQUOTE QUOTED-CHAR DQUOTE / nil) ")"   (RFC 2342)
public struct NamespaceDescription: Hashable, Sendable {
    public var prefix: String
    public var separator: Character?
    public init(prefix: String, separator: Character? = MailboxName.separator) {
        self.prefix = prefix
        self.separator = separator
    }
}

/// msg-att items of a FETCH response. ENVELOPE and BODYSTRUCTURE are embedded pre-encoded (the store caches their wire
/// bytes); body sections are raw bytes sent as literals (`nil` data is sent as NIL).
public enum FetchResponseItem: Hashable, Sendable {
    /// "PREVIEW" SP nstring (RFC 8970 §7): at most 256 characters of the message's text, "" when it has none.
    case preview(String?)
    case flags([Flag])
    case uid(UInt32)
    /// fetch-mod-resp = "MODSEQ" SP "(" permsg-modsequence ")" (RFC 7162 §3.1.4.1)
    case modSeq(UInt64)
    case internalDate(IMAPDateTime)
    case rfc822Size(UInt64)
    /// Pre-encoded `envelope` production, written verbatim.
    case envelope(ByteBuffer)
    /// Pre-encoded non-extensible `body` production (FETCH BODY), written verbatim.
    case body(ByteBuffer)
    /// Pre-encoded `body` production with extension data (FETCH BODYSTRUCTURE), written verbatim.
    case bodyStructure(ByteBuffer)
    /// BODY[section]<origin> data; `origin` is the partial's offset when a partial was requested.
    case bodySection(SectionSpecifier, origin: UInt64?, data: ByteBuffer?)
    /// BINARY[part]<origin> data, sent as literal8 when it contains NUL.
    case binary(part: [Int], origin: UInt64?, data: ByteBuffer?)
    case binarySize(part: [Int], size: UInt64)
    case rfc822(ByteBuffer?)
    case rfc822Header(ByteBuffer?)
    case rfc822Text(ByteBuffer?)
}
