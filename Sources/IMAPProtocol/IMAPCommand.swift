import NIOCore

/// Every command a Letterbox IMAP client may send (RFC 9051 §6 and the extensions listed in the module doc).
/// A closed enum: adding a case does not compile until the parser, encoder and session handle it.
public enum IMAPCommand: Hashable, Sendable {
    // Any state (RFC 9051 §6.1).
    case capability
    case noop
    case logout
    case id([IDParameter]?)
    // Not authenticated (§6.2).
    case startTLS
    /// AUTHENTICATE mechanism [initial-response] (RFC 4959 SASL-IR); the exchange continues with
    /// `IMAPCommandParser.parseAuthenticationResponse`.
    case authenticate(mechanism: String, initialResponse: SASLInitialResponse?)
    case login(username: String, password: String)
    // Authenticated (§6.3).
    case enable([String])
    case select(MailboxName, parameters: [SelectParameter])
    case examine(MailboxName, parameters: [SelectParameter])
    case create(MailboxName, specialUse: [String])
    case delete(MailboxName)
    case rename(from: MailboxName, to: MailboxName)
    case subscribe(MailboxName)
    case unsubscribe(MailboxName)
    case list(ListCommand)
    case lsub(reference: String, pattern: String)
    case namespace
    case status(MailboxName, [StatusAttribute])
    /// GETQUOTA quota-root (RFC 9208 §4.2).
    case getQuota(root: String)
    /// GETQUOTAROOT mailbox (RFC 9208 §4.3).
    case getQuotaRoot(MailboxName)
    /// SETQUOTA quota-root (resource limit …) (RFC 9208 §4.1); only administrators may, so the server refuses it.
    case setQuota(root: String, [QuotaLimit])
    /// APPEND with one message, or several (RFC 3502 MULTIAPPEND).
    case append(MailboxName, [AppendMessage])
    /// IDLE (RFC 2177): the server answers `+ idling` and waits for `DONE` (`IMAPCommandParser.parseIdleDone`).
    case idle
    /// UNAUTHENTICATE (RFC 8437): back to the not-authenticated state, to log in again on the same connection.
    case unauthenticate
    // Selected (§6.4).
    case check
    case close
    case unselect
    case expunge
    case uidExpunge(SequenceSet)
    case search(SearchCommand, uid: Bool)
    /// SORT (sort-criteria) charset search-key… (RFC 5256 §3, with RFC 5957's DISPLAYFROM/DISPLAYTO).
    case sort([SortCriterion], charset: String, key: SearchKey, uid: Bool)
    /// THREAD algorithm charset search-key… (RFC 5256 §3).
    case thread(ThreadAlgorithm, charset: String, key: SearchKey, uid: Bool)
    /// FETCH with optional RFC 7162 modifiers (CHANGEDSINCE, VANISHED).
    case fetch(SequenceSet, [FetchAttribute], modifiers: FetchModifiers = FetchModifiers(), uid: Bool)
    case store(SequenceSet, StoreFlags, uid: Bool)
    case copy(SequenceSet, MailboxName, uid: Bool)
    case move(SequenceSet, MailboxName, uid: Bool)
}

/// setquota-resource = resource-name SP resource-limit (RFC 9208 §9); a resource name is an atom (STORAGE, MESSAGE…).
public struct QuotaLimit: Hashable, Sendable {
    public var resource: String
    public var limit: UInt64
    public init(resource: String, limit: UInt64) {
        self.resource = resource
        self.limit = limit
    }
}

/// quota-resource = resource-name SP resource-usage SP resource-limit (RFC 9208 §9); STORAGE counts units of 1024 octets.
public struct QuotaResource: Hashable, Sendable {
    public var resource: String
    public var usage: UInt64
    public var limit: UInt64
    public init(resource: String, usage: UInt64, limit: UInt64) {
        self.resource = resource
        self.usage = usage
        self.limit = limit
    }
}

/// initial-resp = (base64 / "=")  ; "=" is an empty initial response (RFC 4959).
public enum SASLInitialResponse: Hashable, Sendable {
    case empty
    case base64(String)
}

/// One client line during an AUTHENTICATE exchange: base64 data, or "*" to cancel (RFC 9051 §6.2.2).
public enum SASLContinuation: Hashable, Sendable {
    case base64(String)
    case cancel
}

/// id-params-list entry (RFC 2971): field name and optional value.
public struct IDParameter: Hashable, Sendable {
    public var key: String
    public var value: String?
    public init(key: String, value: String?) {
        self.key = key
        self.value = value
    }
}

/// select-param (RFC 4466): a name with an optional value, e.g. `CONDSTORE`. The QRESYNC parameter (RFC 7162 §3.2.5)
/// is parsed into `qresync` (its `value` is then nil).
public struct SelectParameter: Hashable, Sendable {
    public var name: String
    public var value: String?
    public var qresync: QResyncParameters?

    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }

    public static let condStore = SelectParameter(name: "CONDSTORE")

    public static func qresync(_ parameters: QResyncParameters) -> SelectParameter {
        var parameter = SelectParameter(name: "QRESYNC")
        parameter.qresync = parameters
        return parameter
    }
}

/// LIST, basic (RFC 9051 §6.3.9) and extended (RFC 5258, RFC 5819, RFC 6154).
public struct ListCommand: Hashable, Sendable {
    public enum SelectionOption: Hashable, Sendable {
        case subscribed, remote, recursiveMatch, specialUse
        case other(String)
    }

    public enum ReturnOption: Hashable, Sendable {
        case subscribed, children, specialUse
        case status([StatusAttribute])
        case other(String)
    }

    public var selectionOptions: [SelectionOption]
    /// The reference name, decoded like a mailbox name.
    public var reference: String
    /// One or more patterns (more than one only in the extended form).
    public var patterns: [String]
    public var returnOptions: [ReturnOption]

    public init(selectionOptions: [SelectionOption] = [], reference: String, patterns: [String], returnOptions: [ReturnOption] = []) {
        self.selectionOptions = selectionOptions
        self.reference = reference
        self.patterns = patterns
        self.returnOptions = returnOptions
    }

    /// The patterns combined with the reference, ready to match.
    public var mailboxPatterns: [MailboxPattern] { patterns.map { MailboxPattern(reference: reference, pattern: $0) } }
}

/// status-att (RFC 9051 §6.3.11, RFC 8438 SIZE; RECENT from RFC 3501).
public enum StatusAttribute: String, Hashable, Sendable, CaseIterable {
    case messages = "MESSAGES"
    case uidNext = "UIDNEXT"
    case uidValidity = "UIDVALIDITY"
    case unseen = "UNSEEN"
    case deleted = "DELETED"
    case size = "SIZE"
    case recent = "RECENT"
    /// RFC 7162 §3.1.6 (CONDSTORE).
    case highestModSeq = "HIGHESTMODSEQ"
}

/// One message of an APPEND: flags, optional internal date and the message bytes (a slice of the command buffer).
public struct AppendMessage: Hashable, Sendable {
    public var flags: [Flag]
    public var internalDate: IMAPDateTime?
    public var data: ByteBuffer
    /// Sent as literal8 (`~{n}`, RFC 3516): the message may contain NUL and binary content.
    public var isBinary: Bool
    /// Sent as utf8-literal = "UTF8" SP "(" literal8 ")" (RFC 6855 §4): the header may hold UTF-8.
    public var isUTF8: Bool

    public init(flags: [Flag] = [], internalDate: IMAPDateTime? = nil, data: ByteBuffer, isBinary: Bool = false, isUTF8: Bool = false) {
        self.flags = flags
        self.internalDate = internalDate
        self.data = data
        self.isBinary = isBinary
        self.isUTF8 = isUTF8
    }
}

/// SEARCH [RETURN (...)] [CHARSET x] keys (RFC 9051 §6.4.4, RFC 4731 ESEARCH, RFC 5182 SAVE).
public struct SearchCommand: Hashable, Sendable {
    /// nil: a plain SEARCH (untagged SEARCH response in rev1); non-nil: ESEARCH with these options (empty means ALL).
    public var returnOptions: [SearchReturnOption]?
    public var charset: String?
    /// The keys, AND-ed (a single key when there was only one).
    public var key: SearchKey

    public init(returnOptions: [SearchReturnOption]? = nil, charset: String? = nil, key: SearchKey) {
        self.returnOptions = returnOptions
        self.charset = charset
        self.key = key
    }
}

/// sort-key (RFC 5256 §4; DISPLAYFROM and DISPLAYTO from RFC 5957).
public enum SortKey: String, Hashable, Sendable, CaseIterable {
    case arrival = "ARRIVAL", cc = "CC", date = "DATE", from = "FROM", size = "SIZE", subject = "SUBJECT", to = "TO"
    case displayFrom = "DISPLAYFROM", displayTo = "DISPLAYTO"
}

/// sort-criterion = ["REVERSE" SP] sort-key
public struct SortCriterion: Hashable, Sendable {
    public var key: SortKey
    public var reverse: Bool
    public init(_ key: SortKey, reverse: Bool = false) {
        self.key = key
        self.reverse = reverse
    }
}

/// thread-alg (RFC 5256 §3): the algorithms Letterbox implements.
public enum ThreadAlgorithm: String, Hashable, Sendable, CaseIterable {
    case orderedSubject = "ORDEREDSUBJECT"
    case references = "REFERENCES"
}

/// One node of a THREAD response: a message (nil for a placeholder that only groups its children) and its children.
public struct ThreadNode: Hashable, Sendable {
    public var message: UInt32?
    public var children: [ThreadNode]
    public init(_ message: UInt32?, children: [ThreadNode] = []) {
        self.message = message
        self.children = children
    }
}

public enum SearchReturnOption: String, Hashable, Sendable {
    case min = "MIN"
    case max = "MAX"
    case all = "ALL"
    case count = "COUNT"
    case save = "SAVE"
}

/// search-key (RFC 9051 §6.4.4, plus RFC 3501's NEW, OLD and RECENT).
public indirect enum SearchKey: Hashable, Sendable {
    case all
    case answered, deleted, draft, flagged, seen
    case unanswered, undeleted, undraft, unflagged, unseen
    case new, old, recent
    case keyword(Flag)
    case unkeyword(Flag)
    case bcc(String), body(String), cc(String), from(String), subject(String), text(String), to(String)
    case header(String, String)
    case before(IMAPDate), on(IMAPDate), since(IMAPDate)
    case sentBefore(IMAPDate), sentOn(IMAPDate), sentSince(IMAPDate)
    case larger(UInt64), smaller(UInt64)
    /// OLDER / YOUNGER n (RFC 5032 WITHIN): INTERNALDATE more than / at most n seconds before now.
    case older(UInt32), younger(UInt32)
    case uid(SequenceSet)
    case sequenceNumbers(SequenceSet)
    case not(SearchKey)
    case or(SearchKey, SearchKey)
    /// A parenthesised list, or several top-level keys: all must match.
    case and([SearchKey])
    /// MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162 §3.1.5): messages whose modseq is at least
    /// this. The optional per-flag entry is parsed and ignored: Letterbox keeps one modseq per message.
    case modSeq(UInt64)
}

/// fetch-att (RFC 9051 §6.4.5, RFC 3516 BINARY). The macros ALL, FAST and FULL are expanded by the parser.
public enum FetchAttribute: Hashable, Sendable {
    /// PREVIEW [(LAZY)] (RFC 8970): a short plain-text excerpt of the message. Letterbox always computes it (LAZY may
    /// be answered with the preview itself, §3.2).
    case preview(lazy: Bool)
    case envelope
    case flags
    case internalDate
    case rfc822Size
    /// BODY without a section: the non-extensible BODYSTRUCTURE.
    case body
    case bodyStructure
    case uid
    case bodySection(SectionSpecifier, partial: PartialRange?, peek: Bool)
    case binary(part: [Int], partial: PartialRange?, peek: Bool)
    case binarySize(part: [Int])
    /// RFC 3501 forms, equivalent to BODY[], BODY.PEEK[HEADER] and BODY[TEXT].
    case rfc822
    case rfc822Header
    case rfc822Text
    /// MODSEQ (RFC 7162 §3.1.4.1).
    case modSeq

    /// ALL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)
    public static let allMacro: [FetchAttribute] = [.flags, .internalDate, .rfc822Size, .envelope]
    /// FAST = (FLAGS INTERNALDATE RFC822.SIZE)
    public static let fastMacro: [FetchAttribute] = [.flags, .internalDate, .rfc822Size]
    /// FULL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY)
    public static let fullMacro: [FetchAttribute] = [.flags, .internalDate, .rfc822Size, .envelope, .body]

    /// Does fetching this attribute set \Seen (RFC 9051 §6.4.5)?
    public var setsSeen: Bool {
        switch self {
        case .bodySection(_, _, let peek), .binary(_, _, let peek): !peek
        case .rfc822, .rfc822Text: true
        default: false
        }
    }
}

/// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
public struct StoreFlags: Hashable, Sendable {
    public enum Operation: Hashable, Sendable { case replace, add, remove }
    public var operation: Operation
    public var silent: Bool
    public var flags: [Flag]
    /// The store-modifier UNCHANGEDSINCE (RFC 7162 §3.1.3).
    public var unchangedSince: UInt64?

    public init(_ operation: Operation, silent: Bool = false, flags: [Flag], unchangedSince: UInt64? = nil) {
        self.operation = operation
        self.silent = silent
        self.flags = flags
        self.unchangedSince = unchangedSince
    }

    /// The flags a message has after this STORE, given the flags it had.
    public func applied(to current: Set<Flag>) -> Set<Flag> {
        switch operation {
        case .replace: Set(flags)
        case .add: current.union(flags)
        case .remove: current.subtracting(flags)
        }
    }
}

/// fetch-modifiers (RFC 4466 §2.4) of RFC 7162: CHANGEDSINCE (§3.1.4.1) and VANISHED (§3.2.6).
public struct FetchModifiers: Hashable, Sendable {
    /// Only messages whose modseq is greater than this; implies the MODSEQ fetch item.
    public var changedSince: UInt64?
    /// UID FETCH … (CHANGEDSINCE n VANISHED): also report the UIDs in the set expunged since n (QRESYNC).
    public var vanished: Bool

    public init(changedSince: UInt64? = nil, vanished: Bool = false) {
        self.changedSince = changedSince
        self.vanished = vanished
    }

    public var isEmpty: Bool { changedSince == nil && !vanished }
}

/// The QRESYNC select-param (RFC 7162 §3.2.5): what the client remembers of the mailbox.
public struct QResyncParameters: Hashable, Sendable {
    public var uidValidity: UInt32
    public var modSeq: UInt64
    /// The UIDs the client knows; nil means all.
    public var knownUIDs: SequenceSet?
    /// seq-match-data: message numbers and the UIDs the client had for them (a hint; Letterbox keeps the whole expunge
    /// history and does not need it).
    public var sequenceMatch: SequenceMatch?

    public struct SequenceMatch: Hashable, Sendable {
        public var sequenceNumbers: SequenceSet
        public var uids: SequenceSet
        public init(sequenceNumbers: SequenceSet, uids: SequenceSet) {
            self.sequenceNumbers = sequenceNumbers
            self.uids = uids
        }
    }

    public init(uidValidity: UInt32, modSeq: UInt64, knownUIDs: SequenceSet? = nil, sequenceMatch: SequenceMatch? = nil) {
        self.uidValidity = uidValidity
        self.modSeq = modSeq
        self.knownUIDs = knownUIDs
        self.sequenceMatch = sequenceMatch
    }
}
