/// A message flag (RFC 9051 §2.3.2): a system flag such as `\Seen`, or a keyword such as `$Forwarded`.
/// Flags compare case-insensitively; system flags are stored in their canonical spelling.
public struct Flag: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    /// `rawValue` lower-cased once: flags compare and hash case-insensitively, and FETCH 1:* FLAGS compares and hashes
    /// them for every message (lower-casing in each `==` and `hash` was the hot spot of that command).
    private let key: String

    public init(_ rawValue: String) {
        let key = rawValue.lowercased()
        let canonical = Self.systemFlags.first { $0.lowercased() == key }
        self.rawValue = canonical ?? rawValue
        self.key = key
    }

    public var description: String { rawValue }
    public var isSystemFlag: Bool { rawValue.hasPrefix("\\") }

    public static func == (lhs: Flag, rhs: Flag) -> Bool { lhs.key == rhs.key }
    public func hash(into hasher: inout Hasher) { hasher.combine(key) }

    public static let answered = Flag("\\Answered")
    public static let flagged = Flag("\\Flagged")
    public static let deleted = Flag("\\Deleted")
    public static let seen = Flag("\\Seen")
    public static let draft = Flag("\\Draft")
    /// RFC 3501 only (obsolete in RFC 9051): set by the server, never by STORE.
    public static let recent = Flag("\\Recent")

    static let systemFlags = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent"]
}

/// date-text = date-day "-" date-month "-" date-year (RFC 9051 §9), as used by SEARCH.
public struct IMAPDate: Hashable, Sendable, Comparable {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    public static func < (lhs: IMAPDate, rhs: IMAPDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}

/// date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE (RFC 9051 §9), as used by
/// APPEND and INTERNALDATE. `zoneMinutes` is the offset east of UTC.
public struct IMAPDateTime: Hashable, Sendable {
    public var date: IMAPDate
    public var hour: Int
    public var minute: Int
    public var second: Int
    public var zoneMinutes: Int

    public init(date: IMAPDate, hour: Int, minute: Int, second: Int, zoneMinutes: Int) {
        self.date = date
        self.hour = hour
        self.minute = minute
        self.second = second
        self.zoneMinutes = zoneMinutes
    }
}

/// A body section (RFC 9051 §6.4.5 `section-spec`): a part path plus what to take from it. The server maps this onto MIME.
public struct SectionSpecifier: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// The whole part (or the whole message when the path is empty): `BODY[]`, `BODY[1.2]`.
        case complete
        case header
        case headerFields([String])
        case headerFieldsNot([String])
        case text
        /// The MIME header of a part; only valid with a non-empty path.
        case mime
    }

    /// section-part = nz-number *("." nz-number); empty for the top-level message.
    public var part: [Int]
    public var kind: Kind

    public init(part: [Int] = [], kind: Kind = .complete) {
        self.part = part
        self.kind = kind
    }

    public static let complete = SectionSpecifier()
}

/// partial = "<" number64 "." nz-number64 ">" — the octets to return.
public struct PartialRange: Hashable, Sendable {
    public var offset: UInt64
    public var length: UInt64

    public init(offset: UInt64, length: UInt64) {
        self.offset = offset
        self.length = length
    }
}
