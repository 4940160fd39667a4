/// An instant with the UTC offset it was written in: RFC 5322 §3.3 `date-time` (with the obsolete forms of §4.3) and the
/// IMAP `date-time` / `date` formats (RFC 3501 §9, RFC 9051 §9). Pure arithmetic, no Foundation.
public struct MessageDate: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var secondsSinceEpoch: Int64
    /// The zone the date was written in, in minutes east of UTC (`-0500` is -300).
    public var utcOffsetMinutes: Int

    public init(secondsSinceEpoch: Int64, utcOffsetMinutes: Int = 0) {
        self.secondsSinceEpoch = secondsSinceEpoch
        self.utcOffsetMinutes = utcOffsetMinutes
    }

    /// Builds a date from civil fields written in the given zone. Returns nil for out-of-range fields.
    public init?(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, utcOffsetMinutes: Int = 0) {
        guard (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year),
              (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second) else { return nil }
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let local = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59))
        self.init(secondsSinceEpoch: local - Int64(utcOffsetMinutes * 60), utcOffsetMinutes: utcOffsetMinutes)
    }

    public static func < (lhs: MessageDate, rhs: MessageDate) -> Bool { lhs.secondsSinceEpoch < rhs.secondsSinceEpoch }

    public var description: String { rfc5322 }

    /// Civil fields in the date's own zone.
    public var components: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, weekday: Int) {
        let local = secondsSinceEpoch + Int64(utcOffsetMinutes * 60)
        let days = Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
        let secs = Int(local - Int64(days) * 86_400)
        let (y, m, d) = Self.civilFromDays(days)
        let weekday = ((days % 7) + 11) % 7 // 0 = Sunday; 1970-01-01 was a Thursday
        return (y, m, d, secs / 3600, secs / 60 % 60, secs % 60, weekday)
    }

    // MARK: Civil calendar (Howard Hinnant's algorithms)

    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static func zone(_ minutes: Int) -> String {
        let sign = minutes < 0 ? "-" : "+"
        let a = abs(minutes)
        return sign + twoDigits(a / 60) + twoDigits(a % 60)
    }

    static func month(named name: some Collection<UInt8>) -> Int? {
        guard name.count >= 3 else { return nil }
        let key = String(decoding: name.prefix(3), as: UTF8.self).lowercased()
        return monthNames.firstIndex { $0.lowercased() == key }.map { $0 + 1 }
    }

    // MARK: Formatting

    /// RFC 5322 §3.3 form: `Fri, 21 Nov 1997 09:55:06 -0600`.
    public var rfc5322: String {
        let c = components
        return "\(Self.dayNames[c.weekday]), \(c.day) \(Self.monthNames[c.month - 1]) \(c.year) "
            + "\(Self.twoDigits(c.hour)):\(Self.twoDigits(c.minute)):\(Self.twoDigits(c.second)) \(Self.zone(utcOffsetMinutes))"
    }

    /// IMAP `date-time` (RFC 3501 §9): `"17-Jul-1996 02:44:25 -0700"` without the quotes; day padded with a space.
    public var imapDateTime: String {
        let c = components
        let day = c.day < 10 ? " \(c.day)" : "\(c.day)"
        return "\(day)-\(Self.monthNames[c.month - 1])-\(c.year) "
            + "\(Self.twoDigits(c.hour)):\(Self.twoDigits(c.minute)):\(Self.twoDigits(c.second)) \(Self.zone(utcOffsetMinutes))"
    }

    /// IMAP `date` text (RFC 3501 §9 `date-text`): `1-Feb-1994`.
    public var imapDate: String {
        let c = components
        return "\(c.day)-\(Self.monthNames[c.month - 1])-\(c.year)"
    }

    /// The calendar day in the date's own zone, as days since 1970-01-01 (what IMAP SEARCH SENTON/BEFORE/SINCE compare).
    public var localDayNumber: Int {
        let local = secondsSinceEpoch + Int64(utcOffsetMinutes * 60)
        return Int(local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
    }
}
