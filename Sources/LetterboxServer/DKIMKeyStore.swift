import Foundation
import MailAuth
import Synchronization

/// DKIM keys on disk: `DATA_DIR/dkim/<domain>/<selector>.pem` (mode 0600) and `DATA_DIR/dkim/<domain>/active`, which names
/// the selectors new mail is signed with (one RSA, one Ed25519: dual signatures, RFC 8463 §4). Rotation adds a new pair
/// and makes it active; old keys stay on disk (and in `letterbox dns`) until the administrator removes them, so mail
/// signed with them still verifies while it is in transit.
public struct DKIMKeyStore: Sendable {
    public let directory: String

    public init(dataDirectory: String) {
        directory = dataDirectory + "/dkim"
    }

    public struct Selector: Sendable {
        public var name: String
        public var key: DKIMPrivateKey
        public var isActive: Bool
    }

    /// Makes a new RSA-2048 and Ed25519 key for `domain`, makes them the active ones, and returns their selectors.
    /// Selectors are `lbYYYYMMDDr` / `lbYYYYMMDDe` (a letter is added when rotating twice in a day).
    @discardableResult
    public func generate(domain: String, now: Date = Date()) throws -> [String] {
        let folder = directory + "/" + domain.lowercased()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        var stem = "lb" + formatter.string(from: now)
        for suffix in ["", "b", "c", "d", "e", "f", "g", "h"] {
            let candidate = stem + suffix
            if !FileManager.default.fileExists(atPath: "\(folder)/\(candidate)r.pem") { stem = candidate; break }
        }
        let keys: [(String, DKIMPrivateKey)] = [(stem + "r", try DKIMPrivateKey.generateRSA()), (stem + "e", DKIMPrivateKey.generateEd25519())]
        for (selector, key) in keys {
            try Self.writePrivate(key.pemRepresentation, to: "\(folder)/\(selector).pem")
        }
        try Self.writePrivate(keys.map(\.0).joined(separator: "\n") + "\n", to: folder + "/active")
        return keys.map(\.0)
    }

    /// Every key of `domain`, active ones first.
    public func selectors(domain: String) -> [Selector] {
        let folder = directory + "/" + domain.lowercased()
        let active = Set(((try? String(contentsOfFile: folder + "/active", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".pem") }.sorted()
        var result: [Selector] = []
        for file in files {
            let name = String(file.dropLast(4))
            guard let pem = try? String(contentsOfFile: "\(folder)/\(file)", encoding: .utf8), let key = try? DKIMPrivateKey(pem: pem) else { continue }
            result.append(Selector(name: name, key: key, isActive: active.contains(name)))
        }
        return result.filter(\.isActive) + result.filter { !$0.isActive }
    }

    /// Signers for new mail from `domain` (empty when the domain has no keys).
    public func signers(domain: String) -> [DKIMSigner] {
        selectors(domain: domain).filter(\.isActive).map { DKIMSigner(key: $0.key, domain: domain, selector: $0.name) }
    }

    /// Every key on disk, of every domain (what a node brings to the shared database).
    func allKeys() -> [(domain: String, selector: String, pem: String, isActive: Bool)] {
        var keys: [(domain: String, selector: String, pem: String, isActive: Bool)] = []
        for domain in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() {
            for selector in selectors(domain: domain) {
                keys.append((domain, selector.name, selector.key.pemRepresentation, selector.isActive))
            }
        }
        return keys
    }

    /// Makes the keys on disk of each domain in `keys` exactly those (the shared database's, on PostgreSQL): missing
    /// keys are written, the `active` file follows, and a key only this node had is set aside as `SELECTOR.pem.replaced`
    /// (never deleted: it may have signed mail still in transit). Files are rewritten only when they differ, so the signer
    /// cache (keyed by the `active` file's time) reloads only on a change. Returns the domains whose keys changed.
    @discardableResult
    func mirror(_ keys: [(domain: String, selector: String, pem: String, isActive: Bool)]) throws -> [String] {
        var changed: [String] = []
        for (domain, domainKeys) in Dictionary(grouping: keys, by: { $0.domain.lowercased() }).sorted(by: { $0.key < $1.key }) {
            let folder = directory + "/" + domain
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            var different = false
            let wanted = Set(domainKeys.map(\.selector))
            for file in ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []) where file.hasSuffix(".pem") {
                guard !wanted.contains(String(file.dropLast(4))) else { continue }
                _ = rename("\(folder)/\(file)", "\(folder)/\(file).replaced")
                different = true
            }
            for key in domainKeys {
                let path = "\(folder)/\(key.selector).pem"
                guard (try? String(contentsOfFile: path, encoding: .utf8)) != key.pem else { continue }
                try Self.writePrivate(key.pem, to: path)
                different = true
            }
            let active = domainKeys.filter(\.isActive).map(\.selector).sorted().joined(separator: "\n") + "\n"
            let current = (try? String(contentsOfFile: folder + "/active", encoding: .utf8))
                .map { Set($0.split(separator: "\n").map(String.init)).sorted().joined(separator: "\n") + "\n" }
            if current != active || different {
                try Self.writePrivate(active, to: folder + "/active")
                changed.append(domain)
            }
        }
        return changed
    }

    static func writePrivate(_ text: String, to path: String) throws {
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown)
        }
        _ = rename(temporary, path)
    }
}

/// The signers of each domain, read from disk once and again whenever the domain's `active` file changes (so
/// `letterbox dkim rotate` takes effect in a running server without a restart).
final class DKIMSignerCache: Sendable {
    let store: DKIMKeyStore
    private let cache = Mutex<[String: (stamp: Date?, signers: [DKIMSigner])]>([:])

    init(store: DKIMKeyStore) { self.store = store }

    func signers(for domain: String) -> [DKIMSigner] {
        let domain = domain.lowercased()
        let stamp = (try? FileManager.default.attributesOfItem(atPath: "\(store.directory)/\(domain)/active"))?[.modificationDate] as? Date
        if let cached = cache.withLock({ $0[domain] }), cached.stamp == stamp { return cached.signers }
        let signers = stamp == nil ? [] : store.signers(domain: domain)
        cache.withLock { $0[domain] = (stamp, signers) }
        return signers
    }
}
