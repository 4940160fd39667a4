import MailCore

/// Content-addressed storage of message bytes. `put` returns only when the bytes are durable (fsync'd); putting bytes that
/// are already stored is cheap and returns the same id.
public protocol BlobStore: Sendable {
    func put(_ bytes: [UInt8]) async throws -> BlobID
    func get(_ id: BlobID) async throws -> [UInt8]
    func contains(_ id: BlobID) async throws -> Bool
    /// Removes a blob its caller found unreferenced, unless a `put` stored or deduplicated the same bytes at or after
    /// `cutoff` (seconds since 1970): that `put`'s caller is about to reference it. Atomic with respect to `put`, so a
    /// message can never end up referring to bytes the collector removed. Returns true when the blob is gone.
    func remove(_ id: BlobID, unlessPutSince cutoff: Int64) async throws -> Bool
    /// The full sweep: removes every blob no message or queue entry references that no `put` touched in the last
    /// `olderThanSeconds` (so a blob written for a transaction that has not committed yet is never taken), through
    /// `remove(_:unlessPutSince:)`. Returns how many were removed.
    func collectGarbage(isReferenced: @Sendable (BlobID) async throws -> Bool, olderThanSeconds: Int) async throws -> Int
}

/// Mailboxes and messages. Every method is one transaction; a method that changes a mailbox publishes to `changes` after commit.
public protocol MailStore: Sendable {
    var blobs: any BlobStore { get }
    var changes: MailboxChangeFeed { get }

    // MARK: Mailboxes
    func mailboxes(of account: AccountID) async throws -> [MailboxInfo]
    func mailbox(of account: AccountID, named name: String) async throws -> MailboxInfo?
    func mailbox(id: MailboxID) async throws -> MailboxInfo?
    func createMailbox(of account: AccountID, named name: String, specialUse: SpecialUse?) async throws -> MailboxInfo
    /// Deletes a mailbox and its messages. INBOX cannot be deleted.
    func deleteMailbox(of account: AccountID, named name: String) async throws
    /// Renames a mailbox and every mailbox below it (`a` → `b` also renames `a/x` → `b/x`), keeping UIDVALIDITY and UIDs.
    /// Renaming INBOX moves its messages to a new mailbox of the new name and leaves INBOX empty (RFC 9051 §6.3.6).
    func renameMailbox(of account: AccountID, from: String, to: String) async throws
    func setSubscribed(of account: AccountID, name: String, _ subscribed: Bool) async throws
    /// Names the account is subscribed to, including names that no longer exist as mailboxes.
    func subscriptions(of account: AccountID) async throws -> [String]
    func status(of mailbox: MailboxID) async throws -> MailboxStatus

    // MARK: Messages
    /// Appends messages in order, allocating ascending UIDs in one transaction (MULTIAPPEND is atomic).
    func append(_ messages: [NewMessage], to mailbox: MailboxID) async throws -> UIDMapping
    /// Adds one stored message to several mailboxes in one transaction (local delivery: one blob, many entries).
    func deliver(_ message: NewMessage, to mailboxes: [MailboxID]) async throws -> [MailboxID: UID]
    /// All messages of a mailbox in UID order (the snapshot SELECT starts from).
    func messages(in mailbox: MailboxID) async throws -> [MessageRecord]
    /// `messages(in:)` without the blob ids (fewer columns to read), with the HIGHESTMODSEQ of the same snapshot: what
    /// SELECT and the IMAP server's mailbox state cache start from.
    func messageStates(in mailbox: MailboxID) async throws -> MailboxStates
    func messages(in mailbox: MailboxID, uids: [UID]) async throws -> [MessageRecord]
    func summary(in mailbox: MailboxID, uid: UID) async throws -> MessageSummary?
    /// The cached search text (`MessageSummary.searchText`) of several messages in one read, for IMAP SEARCH. Messages
    /// without a cached text are left out or map to "".
    func searchTexts(in mailbox: MailboxID, uids: [UID]) async throws -> [UID: String]
    func changes(in mailbox: MailboxID, since modSeq: ModSeq) async throws -> MailboxChanges
    /// Changes flags; returns the records whose flags actually changed (with their new modseq). With `unchangedSince`
    /// (CONDSTORE), messages modified after it are left alone and reported in the second element.
    func setFlags(
        _ flags: MessageFlags, operation: FlagOperation, uids: [UID], in mailbox: MailboxID, unchangedSince: ModSeq?
    ) async throws -> (changed: [MessageRecord], failed: [UID])
    /// Removes messages flagged \Deleted (all of them, or only those among `uids`). Returns the expunged UIDs.
    func expunge(in mailbox: MailboxID, uids: [UID]?) async throws -> [UID]
    func copy(uids: [UID], from source: MailboxID, to destination: MailboxID) async throws -> UIDMapping
    /// COPY + expunge of the source in one transaction (RFC 6851: atomic).
    func move(uids: [UID], from source: MailboxID, to destination: MailboxID) async throws -> UIDMapping
    /// Returns the UIDs that are \Recent and clears the mark, so exactly one session sees each message as recent.
    func claimRecent(in mailbox: MailboxID) async throws -> [UID]
    /// The UIDs that are \Recent, leaving the mark: what EXAMINE reports, which "MUST NOT cause messages to lose the
    /// \Recent flag" (RFC 3501 §6.3.2) but otherwise answers as SELECT does.
    func recentUIDs(in mailbox: MailboxID) async throws -> [UID]
    /// Octets stored in all mailboxes of the account (each message counted in every mailbox holding it): what quotas count.
    func usage(of account: AccountID) async throws -> Int64
    /// True when a blob is referenced by any message or queue entry (garbage collection).
    func isBlobReferenced(_ blob: BlobID) async throws -> Bool
    /// Garbage collection of message bytes, the routine part: deleting a message or a queue entry records its blob as
    /// released (in the same transaction); this removes, through `BlobStore.remove(_:unlessPutSince:)`, the blobs
    /// released before `cutoff` (seconds since 1970) that nothing references again, and their cached summaries.
    /// At most `limit` released blobs are looked at; returns how many were looked at and how many removed.
    func collectReleasedBlobs(releasedBefore cutoff: Int64, limit: Int) async throws -> (examined: Int, removed: Int)
}

extension MailStore {
    /// One `summary` read per message; backends override it with a single query.
    public func searchTexts(in mailbox: MailboxID, uids: [UID]) async throws -> [UID: String] {
        var texts: [UID: String] = [:]
        for uid in uids {
            if let summary = try await summary(in: mailbox, uid: uid) { texts[uid] = summary.searchText }
        }
        return texts
    }
}

/// A user account record.
public struct AccountRecord: Hashable, Sendable {
    public var id: AccountID
    public var address: EmailAddress
    /// The stored credential (e.g. `SCRAM-SHA-256$…`); never the password.
    public var credential: String
    public var disabled: Bool
    /// Storage quota in octets for all the account's mailboxes; nil uses the server default (`quota.default`).
    public var quota: Int64?
    /// May send with any envelope sender and From (an application that sends for many addresses); off by default.
    public var trustedRelay: Bool

    public init(
        id: AccountID, address: EmailAddress, credential: String, disabled: Bool, quota: Int64? = nil, trustedRelay: Bool = false
    ) {
        self.id = id
        self.address = address
        self.credential = credential
        self.disabled = disabled
        self.quota = quota
        self.trustedRelay = trustedRelay
    }
}

/// An alias: mail to `source` (an address, or `@domain` for a catch-all) goes to each target address.
public struct AliasRecord: Hashable, Sendable {
    public var source: String
    public var target: EmailAddress

    public init(source: String, target: EmailAddress) {
        self.source = source
        self.target = target
    }
}

/// Raw persistence for the account directory. Validation, hashing and policy live in the `Directory` module.
public protocol DirectoryStore: Sendable {
    func domains() async throws -> [DomainName]
    func addDomain(_ domain: DomainName) async throws
    /// Refuses while accounts or aliases of the domain exist.
    func removeDomain(_ domain: DomainName) async throws
    func accounts(in domain: DomainName?) async throws -> [AccountRecord]
    /// Looks an account up by its normalized address (`EmailAddress.normalized`).
    func account(address: EmailAddress) async throws -> AccountRecord?
    func account(id: AccountID) async throws -> AccountRecord?
    /// Creates the account and its default mailboxes in one transaction.
    func addAccount(address: EmailAddress, credential: String, mailboxes: [(name: String, specialUse: SpecialUse?)]) async throws -> AccountRecord
    func setCredential(address: EmailAddress, credential: String) async throws
    /// Sets the account's own quota in octets; nil returns it to the server default.
    func setQuota(address: EmailAddress, quota: Int64?) async throws
    /// Removes the account with its mailboxes and messages.
    func removeAccount(address: EmailAddress) async throws
    func aliases() async throws -> [AliasRecord]
    func aliasTargets(source: String) async throws -> [EmailAddress]
    func addAlias(_ alias: AliasRecord) async throws
    /// Removes one target of an alias, or every target when `target` is nil.
    func removeAlias(source: String, target: EmailAddress?) async throws

    /// Disables (no login anywhere; mail is still accepted) or enables the account.
    func setDisabled(address: EmailAddress, disabled: Bool) async throws
    /// Marks the account as a trusted relay (exempt from the sender checks of submission) or not.
    func setTrustedRelay(address: EmailAddress, trusted: Bool) async throws
    /// Of these accounts, the ones that are disabled or no longer exist (open sessions of these must end).
    func revokedAccounts(among ids: [AccountID]) async throws -> Set<AccountID>

    /// The addresses (`user@domain`) and domains (`@domain`) the account may send as besides its own, in order.
    func sendAsGrants(account: AccountID) async throws -> [String]
    /// Grants `grant` (normalized `user@domain` or `@domain`); granting twice is harmless.
    func addSendAsGrant(account: AccountID, grant: String) async throws
    /// Removes a grant; false when there was none.
    func removeSendAsGrant(account: AccountID, grant: String) async throws -> Bool

    /// Failed logins kept in the store, so every node sees them (the lockout of several nodes on PostgreSQL): adds one
    /// failure to each key — a client address or an account name — restarting a count whose last failure is `window`
    /// seconds old or more, and returns the highest count among the keys. Forgets failures older than `window`.
    func recordAuthenticationFailure(keys: [String], now: Int64, window: Int64) async throws -> Int
    /// The highest count of failures among `keys` whose last failure is less than `window` seconds before `now`.
    func authenticationFailures(keys: [String], now: Int64, window: Int64) async throws -> Int
    /// Forgets the failures of `keys` (after a successful login).
    func clearAuthenticationFailures(keys: [String]) async throws

    /// 32 random bytes made once per store (every node shares them): the key of values that must be the same on every
    /// node and across restarts, such as the fake SCRAM salt of accounts that do not exist.
    func authenticationSecret() async throws -> [UInt8]
}
