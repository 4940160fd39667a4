/// Directory: domains, users and aliases on top of a `DirectoryStore`; password policy and hashing (SCRAM-SHA-256
/// credentials, so one record verifies PLAIN, LOGIN and SCRAM); recipient resolution (aliases, catch-all, plus-addressing);
/// and a bounded cache of recently verified logins so clients that log in again and again do not pay the slow hash each time.
import Crypto
import MailCore
import MailStore
import SASL

/// Settings of the account directory; defaults are safe for production.
public struct DirectoryConfiguration: Sendable {
    /// PBKDF2 iterations of stored credentials (`SCRAMCredentials.defaultIterations`, 10,000). A credential stored with
    /// another count is re-derived with this one at the user's next successful PLAIN or LOGIN.
    public var credentialIterations: Int = SCRAMCredentials.defaultIterations
    /// Entries in the verified-login cache (0 disables it).
    public var loginCacheSize: Int = 10_000
    /// Shortest accepted password.
    public var minimumPasswordLength: Int = 8
    /// Subaddress separator: `user+tag@domain` delivers to `user@domain`.
    public var subaddressSeparator: Character = "+"

    public init() {}
}

/// Errors of directory administration, each with a one-line explanation for the command line.
public enum DirectoryError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidAddress(String)
    case invalidDomain(String)
    case unknownDomain(String)
    case domainExists(String)
    case domainNotEmpty(String)
    case userExists(String)
    case unknownUser(String)
    case weakPassword(String)
    case aliasExists(String)
    case unknownAlias(String)
    case unknownGrant(String)
    case storage(String)

    public var description: String {
        switch self {
        case .invalidAddress(let text): "'\(text)' is not a valid email address"
        case .invalidDomain(let text): "'\(text)' is not a valid domain name"
        case .unknownDomain(let text): "domain '\(text)' is not served here (add it with: letterbox domain add \(text))"
        case .domainExists(let text): "domain '\(text)' already exists"
        case .domainNotEmpty(let text): "domain \(text); remove them first"
        case .userExists(let text): "user '\(text)' already exists"
        case .unknownUser(let text): "no such user '\(text)'"
        case .weakPassword(let reason): "password refused: \(reason)"
        case .aliasExists(let text): "alias \(text) already exists"
        case .unknownAlias(let text): "no such alias '\(text)'"
        case .unknownGrant(let text): text
        case .storage(let text): "storage error: \(text)"
        }
    }
}

/// Where mail for an address goes.
public enum RecipientResolution: Equatable, Sendable {
    /// Deliver to these local accounts and forward to these external addresses (from aliases).
    case deliver(accounts: [AccountRecord], forward: [EmailAddress])
    /// The domain is ours but nobody receives mail at this address (550 5.1.1 at RCPT).
    case unknownUser
    /// Not one of our domains (a relay attempt unless the sender authenticated).
    case notLocal

    /// True when the resolution delivers somewhere.
    public var delivers: Bool { if case .deliver = self { true } else { false } }
}

public final class AccountDirectory: Sendable {
    public let store: any DirectoryStore
    public let configuration: DirectoryConfiguration
    private let cache: LoginCache
    /// Checked instead of a real credential when the user does not exist or is disabled, so that a PLAIN or LOGIN for
    /// an unknown user costs the same key derivation as one for a real user (no timing oracle for account existence).
    private let decoyCredentials: SCRAMCredentials?

    public init(store: any DirectoryStore, configuration: DirectoryConfiguration = DirectoryConfiguration()) {
        self.store = store
        self.configuration = configuration
        self.cache = LoginCache(capacity: configuration.loginCacheSize)
        self.decoyCredentials = try? SCRAMCredentials.derive(
            password: SCRAMNonce.random(), iterations: configuration.credentialIterations)
    }

    // MARK: Administration

    public func addDomain(_ name: String) async throws(DirectoryError) -> DomainName {
        guard let domain = DomainName(name), domain.name.contains(".") || domain.name == "localhost" else {
            throw .invalidDomain(name)
        }
        try await mapped { try await self.store.addDomain(domain) }
        return domain
    }

    public func removeDomain(_ name: String) async throws(DirectoryError) {
        guard let domain = DomainName(name) else { throw .invalidDomain(name) }
        try await mapped { try await self.store.removeDomain(domain) }
    }

    public func domains() async throws(DirectoryError) -> [DomainName] {
        try await mapped { try await self.store.domains() }
    }

    public func isLocalDomain(_ domain: DomainName) async throws(DirectoryError) -> Bool {
        try await domains().contains(domain)
    }

    @discardableResult
    public func addUser(_ address: String, password: String) async throws(DirectoryError) -> AccountRecord {
        let address = try parseAddress(address)
        try checkPassword(password, for: address)
        let credential = try makeCredential(password)
        return try await mapped { try await self.store.addAccount(address: address, credential: credential, mailboxes: defaultMailboxes) }
    }

    public func setPassword(_ address: String, password: String) async throws(DirectoryError) {
        let address = try parseAddress(address)
        try checkPassword(password, for: address)
        let credential = try makeCredential(password)
        try await mapped { try await self.store.setCredential(address: address, credential: credential) }
    }

    /// Sets a user's storage quota in octets; nil returns the user to the server default.
    public func setQuota(_ address: String, quota: Int64?) async throws(DirectoryError) {
        let address = try parseAddress(address)
        try await mapped { try await self.store.setQuota(address: address, quota: quota) }
    }

    public func removeUser(_ address: String) async throws(DirectoryError) {
        let address = try parseAddress(address)
        try await mapped { try await self.store.removeAccount(address: address) }
    }

    public func users(in domain: String? = nil) async throws(DirectoryError) -> [AccountRecord] {
        var filter: DomainName?
        if let domain {
            guard let parsed = DomainName(domain) else { throw .invalidDomain(domain) }
            filter = parsed
        }
        return try await mapped { try await self.store.accounts(in: filter) }
    }

    /// Adds `source` → each target. `source` is an address or `@domain` (catch-all); its domain must be local.
    public func addAlias(_ source: String, targets: [String]) async throws(DirectoryError) {
        let source = try parseAliasSource(source)
        guard !targets.isEmpty else { throw .invalidAddress("(no target)") }
        var parsed: [EmailAddress] = []
        for target in targets {
            guard let address = EmailAddress(target) else { throw .invalidAddress(target) }
            parsed.append(address)
        }
        for target in parsed {
            try await mapped { try await self.store.addAlias(AliasRecord(source: source, target: target)) }
        }
    }

    public func removeAlias(_ source: String, targets: [String]) async throws(DirectoryError) {
        let source = try parseAliasSource(source)
        if targets.isEmpty {
            try await mapped { try await self.store.removeAlias(source: source, target: nil) }
        }
        for target in targets {
            guard let address = EmailAddress(target) else { throw .invalidAddress(target) }
            try await mapped { try await self.store.removeAlias(source: source, target: address) }
        }
    }

    public func aliases() async throws(DirectoryError) -> [AliasRecord] {
        try await mapped { try await self.store.aliases() }
    }

    // MARK: Authentication

    /// Verifies a username (an email address) and password. The slow hash is skipped when the same user and password were
    /// verified recently against the same stored credential (so a password change invalidates the cache at once, even when
    /// made by another process).
    ///
    /// A credential stored with another iteration count than the configured one is re-derived with it on success (the
    /// password is at hand only now), so lowering or raising `auth.credential_iterations` reaches every active user.
    public func authenticate(username: String, password: String) async -> AccountRecord? {
        guard let address = EmailAddress(username), !password.isEmpty,
              let password = try? SASLprep.prepare(password, usage: .query) else { return nil }
        guard let account = try? await store.account(address: address), !account.disabled,
              let credentials = SCRAMCredentials(encoded: account.credential) else {
            _ = decoyCredentials?.verify(password: password)
            return nil
        }
        let key = cache.key(user: address.normalized, password: password)
        if cache.contains(key, storedKey: credentials.storedKey) { return account }
        guard credentials.verify(password: password) else { return nil }
        guard credentials.iterations != configuration.credentialIterations,
              let upgraded = try? SCRAMCredentials.derive(password: password, iterations: configuration.credentialIterations),
              (try? await store.setCredential(address: address, credential: upgraded.encoded)) != nil else {
            cache.insert(key, storedKey: credentials.storedKey)
            return account
        }
        cache.insert(key, storedKey: upgraded.storedKey)
        var refreshed = account
        refreshed.credential = upgraded.encoded
        return refreshed
    }

    /// The stored SCRAM credentials of a user, for a SCRAM-SHA-256 exchange; nil for unknown or disabled users.
    public func scramCredentials(username: String) async -> (AccountRecord, SCRAMCredentials)? {
        guard let address = EmailAddress(username), let account = try? await store.account(address: address), !account.disabled,
              let credentials = SCRAMCredentials(encoded: account.credential) else { return nil }
        return (account, credentials)
    }

    public func account(id: AccountID) async throws(DirectoryError) -> AccountRecord? {
        try await mapped { try await self.store.account(id: id) }
    }

    // MARK: Routing

    /// Where mail to `address` goes, following aliases (to a bounded depth), plus-addressing and catch-all aliases.
    public func resolve(_ address: EmailAddress) async throws(DirectoryError) -> RecipientResolution {
        guard try await isLocalDomain(address.domain) else { return .notLocal }
        var accounts: [AccountRecord] = [], forward: [EmailAddress] = []
        var seen: Set<String> = []
        func visit(_ address: EmailAddress, depth: Int) async throws(DirectoryError) -> Bool {
            guard depth < 8, seen.insert(address.normalized).inserted else { return true }
            let targets = try await mapped { try await self.store.aliasTargets(source: address.normalized) }
            if !targets.isEmpty {
                for target in targets { _ = try await expand(target, depth: depth + 1) }
                return true
            }
            if let account = try await mapped({ try await self.store.account(address: address) }) {
                // A disabled account cannot log in, but still receives: disabling is reversible and must not bounce mail.
                if !accounts.contains(account) { accounts.append(account) }
                return true
            }
            return false
        }
        func expand(_ address: EmailAddress, depth: Int) async throws(DirectoryError) -> Bool {
            guard try await isLocalDomain(address.domain) else {
                if !forward.contains(address) { forward.append(address) }
                return true
            }
            if try await visit(address, depth: depth) { return true }
            if let base = address.removingSubaddress(separator: configuration.subaddressSeparator), try await visit(base, depth: depth) {
                return true
            }
            let catchAll = try await mapped { try await self.store.aliasTargets(source: "@" + address.domain.name) }
            guard !catchAll.isEmpty else { return false }
            for target in catchAll where target.normalized != address.normalized { _ = try await expand(target, depth: depth + 1) }
            return true
        }
        guard try await expand(address, depth: 0) else { return .unknownUser }
        if accounts.isEmpty && forward.isEmpty { return .unknownUser }
        return .deliver(accounts: accounts, forward: forward)
    }

    /// True when `account` may use `sender` as its envelope sender, From or Sender: its own address, a plus-address of
    /// it, an alias (not a catch-all) that delivers to it, or a send-as grant (the address, or its whole `@domain`).
    /// A trusted relay may use any sender.
    public func may(_ account: AccountRecord, sendAs sender: EmailAddress) async throws(DirectoryError) -> Bool {
        let own = account.address.normalized
        if account.trustedRelay || sender.normalized == own { return true }
        if let base = sender.removingSubaddress(separator: configuration.subaddressSeparator), base.normalized == own { return true }
        let candidates = [sender] + (sender.removingSubaddress(separator: configuration.subaddressSeparator).map { [$0] } ?? [])
        for candidate in candidates {
            let targets = try await mapped { try await self.store.aliasTargets(source: candidate.normalized) }
            if targets.contains(where: { $0.normalized == own }) { return true }
        }
        let grants = try await mapped { try await self.store.sendAsGrants(account: account.id) }
        return candidates.contains { candidate in
            grants.contains(candidate.normalized) || grants.contains("@" + candidate.domain.name)
        }
    }

    // MARK: Account state and send-as grants

    /// Disables (no login on any protocol; open sessions end; mail is still accepted) or enables an account.
    public func setDisabled(_ address: String, _ disabled: Bool) async throws(DirectoryError) {
        let address = try parseAddress(address)
        try await mapped { try await self.store.setDisabled(address: address, disabled: disabled) }
    }

    /// Exempts an account from the sender checks of submission (an application sending for many addresses), or not.
    public func setTrustedRelay(_ address: String, _ trusted: Bool) async throws(DirectoryError) {
        let address = try parseAddress(address)
        try await mapped { try await self.store.setTrustedRelay(address: address, trusted: trusted) }
    }

    /// The send-as grants of an account: addresses and `@domain`s.
    public func sendAsGrants(_ address: String) async throws(DirectoryError) -> [String] {
        let account = try await existingAccount(address)
        return try await mapped { try await self.store.sendAsGrants(account: account.id) }
    }

    /// Lets `address`'s account send as `grant` (an address or `@domain`; the domain must be local: a grant is for mail
    /// this server signs). Returns the normalized grant.
    @discardableResult
    public func addSendAsGrant(_ address: String, _ grant: String) async throws(DirectoryError) -> String {
        let account = try await existingAccount(address)
        let normalized = try parseAliasSource(grant)
        guard let domain = DomainName(String(normalized[normalized.index(after: normalized.lastIndex(of: "@")!)...])),
              try await isLocalDomain(domain) else { throw .unknownDomain(grant) }
        try await mapped { try await self.store.addSendAsGrant(account: account.id, grant: normalized) }
        return normalized
    }

    public func removeSendAsGrant(_ address: String, _ grant: String) async throws(DirectoryError) {
        let account = try await existingAccount(address)
        let normalized = try parseAliasSource(grant)
        guard try await mapped({ try await self.store.removeSendAsGrant(account: account.id, grant: normalized) }) else {
            throw .unknownGrant("\(address) has no send-as grant for \(grant)")
        }
    }

    private func existingAccount(_ text: String) async throws(DirectoryError) -> AccountRecord {
        let address = try parseAddress(text)
        guard let account = try await mapped({ try await self.store.account(address: address) }) else { throw .unknownUser(text) }
        return account
    }

    // MARK: Helpers

    private func parseAddress(_ text: String) throws(DirectoryError) -> EmailAddress {
        guard let address = EmailAddress(text), !address.localPart.hasPrefix("\"") else { throw .invalidAddress(text) }
        return address
    }

    private func parseAliasSource(_ text: String) throws(DirectoryError) -> String {
        if text.hasPrefix("@") {
            guard let domain = DomainName(text.dropFirst()) else { throw .invalidDomain(String(text.dropFirst())) }
            return "@" + domain.name
        }
        return try parseAddress(text).normalized
    }

    func checkPassword(_ password: String, for address: EmailAddress) throws(DirectoryError) {
        if password.isEmpty { throw .weakPassword("it is empty") }
        if password.count < configuration.minimumPasswordLength {
            throw .weakPassword("it is shorter than \(configuration.minimumPasswordLength) characters")
        }
        if Set(password).count < 4 { throw .weakPassword("it uses fewer than 4 different characters") }
        let lower = password.lowercased()
        if lower == address.localPart.lowercased() || lower == address.normalized || lower.contains(address.localPart.lowercased()) && address.localPart.count >= 4 {
            throw .weakPassword("it contains the user name")
        }
        if commonPasswords.contains(lower) { throw .weakPassword("it is one of the most common passwords") }
        if password.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw .weakPassword("it contains control characters")
        }
    }

    /// Credentials of the SASLprep'd password (RFC 4013, as PLAIN and SCRAM clients prepare it), so every mechanism matches.
    private func makeCredential(_ password: String) throws(DirectoryError) -> String {
        let prepared: String
        do { prepared = try SASLprep.prepare(password, usage: .stored) } catch {
            throw .weakPassword("it contains characters not allowed in passwords (RFC 4013)")
        }
        do { return try SCRAMCredentials.derive(password: prepared, iterations: configuration.credentialIterations).encoded } catch {
            throw .storage("cannot derive credentials: \(error)")
        }
    }

    private func mapped<T>(_ body: () async throws -> T) async throws(DirectoryError) -> T {
        do {
            return try await body()
        } catch let error as MailStoreError {
            switch error {
            case .domainExists(let name): throw .domainExists(name)
            case .domainNotFound(let name): throw .unknownDomain(name)
            case .domainNotEmpty(let text): throw .domainNotEmpty(text)
            case .accountExists(let name): throw .userExists(name)
            case .accountNotFound(let name): throw .unknownUser(name)
            case .aliasExists(let text): throw .aliasExists(text)
            case .aliasNotFound(let text): throw .unknownAlias(text)
            default: throw .storage("\(error)")
            }
        } catch {
            throw .storage("\(error)")
        }
    }
}

private let commonPasswords: Set<String> = [
    "password", "password1", "password123", "12345678", "123456789", "1234567890", "qwertyuiop", "qwerty123", "iloveyou",
    "sunshine1", "princess", "football", "baseball", "welcome1", "welcome123", "admin123", "letmein1", "changeme",
    "passw0rd", "p@ssw0rd", "abcdefgh", "abc12345", "trustno1", "11111111", "00000000", "87654321", "superman", "starwars",
]
