import IMAPProtocol
import MailCore
import MailStore

/// Translations between the store's value types and IMAPProtocol's wire vocabulary.
enum Conversions {
    /// The store's flags as IMAP flags (without \Recent, which is session state).
    static func flags(_ flags: MessageFlags) -> Set<Flag> {
        // Most messages have no keywords: their sets are made once (FETCH 1:* converts every message).
        if flags.keywords.isEmpty, flags.system.rawValue >= 0, flags.system.rawValue < systemOnly.count {
            return systemOnly[flags.system.rawValue]
        }
        return Set(flags.names.map(Flag.init))
    }

    /// `flags(_:)` of every combination of system flags, indexed by `SystemFlags.rawValue`.
    private static let systemOnly: [Set<Flag>] = (0..<32).map { raw in
        Set(MessageFlags(system: SystemFlags(rawValue: raw)).names.map(Flag.init))
    }

    /// IMAP flags as the store keeps them: \Recent and unknown system flags are dropped.
    static func messageFlags(_ flags: some Sequence<Flag>) -> MessageFlags {
        MessageFlags(names: flags.filter { $0 != .recent }.map(\.rawValue))
    }

    static func dateTime(_ date: InternalDate) -> IMAPDateTime {
        let c = MessageDate(secondsSinceEpoch: date.secondsSince1970, utcOffsetMinutes: date.zoneOffsetMinutes).components
        return IMAPDateTime(
            date: IMAPDate(year: c.year, month: c.month, day: c.day), hour: c.hour, minute: c.minute, second: c.second,
            zoneMinutes: date.zoneOffsetMinutes)
    }

    static func internalDate(_ dateTime: IMAPDateTime) -> InternalDate? {
        guard let date = MessageDate(
            year: dateTime.date.year, month: dateTime.date.month, day: dateTime.date.day, hour: dateTime.hour,
            minute: dateTime.minute, second: dateTime.second, utcOffsetMinutes: dateTime.zoneMinutes) else { return nil }
        return InternalDate(secondsSince1970: date.secondsSinceEpoch, zoneOffsetMinutes: dateTime.zoneMinutes)
    }

    /// Days since 1970-01-01 of a SEARCH date.
    static func dayNumber(_ date: IMAPDate) -> Int? {
        MessageDate(year: date.year, month: date.month, day: date.day)?.localDayNumber
    }

    /// The calendar day of an internal date, in its own zone (SEARCH BEFORE/ON/SINCE).
    static func dayNumber(_ date: InternalDate) -> Int {
        MessageDate(secondsSinceEpoch: date.secondsSince1970, utcOffsetMinutes: date.zoneOffsetMinutes).localDayNumber
    }

    static func specialUse(_ attribute: String) -> SpecialUse? {
        SpecialUse.allCases.first { $0.rawValue.lowercased() == attribute.lowercased() }
    }
}
