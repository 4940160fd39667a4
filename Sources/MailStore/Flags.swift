import MailCore

/// The system flags of RFC 9051 §2.3.2 (without \Recent, which is session state, see `MailStore.claimRecent`).
public struct SystemFlags: OptionSet, Hashable, Sendable, Codable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let seen = SystemFlags(rawValue: 1 << 0)
    public static let answered = SystemFlags(rawValue: 1 << 1)
    public static let flagged = SystemFlags(rawValue: 1 << 2)
    public static let deleted = SystemFlags(rawValue: 1 << 3)
    public static let draft = SystemFlags(rawValue: 1 << 4)

    public static let names: [(SystemFlags, String)] = [
        (.seen, "\\Seen"), (.answered, "\\Answered"), (.flagged, "\\Flagged"), (.deleted, "\\Deleted"), (.draft, "\\Draft"),
    ]
}

/// A message's flags: system flags plus keywords (kept sorted, compared case-insensitively per RFC 9051 §2.3.2).
public struct MessageFlags: Hashable, Sendable, Codable {
    public var system: SystemFlags
    public private(set) var keywords: [String]

    public init(system: SystemFlags = [], keywords: some Sequence<String> = [String]()) {
        self.system = system
        self.keywords = []
        for keyword in keywords { insertKeyword(keyword) }
    }

    /// Parses flag names as an IMAP client sends them (`\Seen`, `$Forwarded`, …). Unknown backslash flags are ignored.
    public init(names: some Sequence<String>) {
        self.init()
        for name in names {
            if let (flag, _) = SystemFlags.names.first(where: { $0.1.caseInsensitiveCompare(name) }) {
                system.insert(flag)
            } else if !name.hasPrefix("\\") {
                insertKeyword(name)
            }
        }
    }

    public mutating func insertKeyword(_ keyword: String) {
        guard !keywords.contains(where: { $0.caseInsensitiveCompare(keyword) }) else { return }
        keywords.append(keyword)
        keywords.sort { $0.lowercased() < $1.lowercased() }
    }

    public mutating func formUnion(_ other: MessageFlags) {
        system.formUnion(other.system)
        for keyword in other.keywords { insertKeyword(keyword) }
    }

    public mutating func subtract(_ other: MessageFlags) {
        system.subtract(other.system)
        keywords.removeAll { keyword in other.keywords.contains { $0.caseInsensitiveCompare(keyword) } }
    }

    /// Flag names in IMAP order: system flags first, then keywords.
    public var names: [String] {
        SystemFlags.names.filter { system.contains($0.0) }.map(\.1) + keywords
    }

    /// Keywords joined by spaces, the stored form.
    public var keywordText: String { keywords.joined(separator: " ") }

    /// These flags after STORE's `operation` with `flags`.
    public func applying(_ operation: FlagOperation, _ flags: MessageFlags) -> MessageFlags {
        var result = self
        switch operation {
        case .add: result.formUnion(flags)
        case .remove: result.subtract(flags)
        case .replace: result = flags
        }
        return result
    }
}

/// What a flag change does to the messages it names, decided the same way by every backend: the records whose flags
/// really change (with their new flags; the caller stamps the modseq), and, with CONDSTORE's UNCHANGEDSINCE, the UIDs
/// left alone because they were modified after it.
public func planFlagChange(
    _ current: [MessageRecord], flags: MessageFlags, operation: FlagOperation, unchangedSince: ModSeq?
) -> (updates: [MessageRecord], failed: [UID]) {
    var updates: [MessageRecord] = []
    var failed: [UID] = []
    for var record in current {
        if let unchangedSince, record.modSeq > unchangedSince { failed.append(record.uid); continue }
        let newFlags = record.flags.applying(operation, flags)
        guard newFlags != record.flags else { continue }
        record.flags = newFlags
        updates.append(record)
    }
    return (updates, failed)
}

extension String {
    fileprivate func caseInsensitiveCompare(_ other: String) -> Bool { lowercased() == other.lowercased() }
}
