/// Parsers for RFC 5322 `date-time` (lenient: obsolete zones, two-digit years, missing seconds and day names, comments)
/// and the IMAP `date-time` / `date` forms.
extension MessageDate {
    /// A tiny tokenizer over date text: numbers, words and the `+`/`-` zone sign; comments and punctuation are skipped.
    enum DateToken: Equatable {
        case number(Int, digits: Int)
        case word(String)
        case sign(Int)
        case colon
    }

    static func tokens(_ bytes: [UInt8]) -> [DateToken] {
        var out: [DateToken] = []
        var i = 0
        var commentDepth = 0
        while i < bytes.count {
            let b = bytes[i]
            if commentDepth > 0 {
                if b == UInt8(ascii: "(") { commentDepth += 1 } else if b == UInt8(ascii: ")") { commentDepth -= 1 }
                i += 1
                continue
            }
            switch b {
            case UInt8(ascii: "("): commentDepth = 1; i += 1
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                var n = 0, digits = 0
                while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                    if digits < 9 { n = n * 10 + Int(bytes[i] - 0x30) }
                    digits += 1; i += 1
                }
                out.append(.number(n, digits: digits))
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
                let start = i
                while i < bytes.count, (bytes[i] | 0x20) >= UInt8(ascii: "a"), (bytes[i] | 0x20) <= UInt8(ascii: "z") { i += 1 }
                out.append(.word(String(decoding: bytes[start..<i], as: UTF8.self).lowercased()))
            case UInt8(ascii: "+"): out.append(.sign(1)); i += 1
            case UInt8(ascii: "-"): out.append(.sign(-1)); i += 1
            case UInt8(ascii: ":"): out.append(.colon); i += 1
            default: i += 1
            }
        }
        return out
    }

    /// RFC 5322 §4.3 obs-zone names, plus a few common ones seen in the wild. Military zones are treated as +0000 as §4.3 advises.
    static let zoneNames: [String: Int] = [
        "ut": 0, "utc": 0, "gmt": 0, "z": 0,
        "edt": -240, "est": -300, "cdt": -300, "cst": -360, "mdt": -360, "mst": -420, "pdt": -420, "pst": -480,
        "bst": 60, "cet": 60, "cest": 120, "met": 60, "mest": 120, "eet": 120, "eest": 180, "jst": 540, "ist": 330,
    ]

    /// Parses RFC 5322 §3.3 `date-time` and its obsolete forms (§4.3):
    ///
    ///     date-time = [ day-of-week "," ] date time [CFWS]
    ///     date      = day month year
    ///     time      = time-of-day zone ; time-of-day = hour ":" minute [ ":" second ]
    ///     obs-year  = [CFWS] 2*DIGIT [CFWS]  ; 00-49 → 20xx, 50-999 → +1900
    ///
    /// Also accepts `month day` order and asctime-like `Mon Jan  2 15:04:05 2006` seen in broken mail.
    public init?(rfc5322 text: some StringProtocol) {
        self.init(rfc5322Bytes: Array(text.utf8))
    }

    public init?(rfc5322Bytes bytes: [UInt8]) {
        var toks = Self.tokens(bytes)[...]
        if case .word(let w)? = toks.first, Self.dayNames.contains(where: { $0.lowercased() == String(w.prefix(3)) }) {
            toks = toks.dropFirst()
        }
        var day: Int?, monthValue: Int?, year: Int?, yearDigits = 4
        var hour: Int?, minute: Int?, second = 0
        var zone: Int?
        var items = Array(toks)
        var i = 0
        while i < items.count {
            switch items[i] {
            case .number(let n, let digits):
                if i + 2 < items.count, items[i + 1] == .colon, case .number(let m, _) = items[i + 2], hour == nil {
                    hour = n; minute = m; i += 3
                    if i + 1 < items.count, items[i] == .colon, case .number(let s, _) = items[i + 1] { second = s; i += 2 }
                    continue
                }
                if day == nil && digits <= 2 {
                    day = n
                } else if year == nil {
                    year = n
                    yearDigits = digits
                }
                i += 1
            case .word(let w):
                if monthValue == nil, let m = Self.month(named: Array(w.utf8)) {
                    monthValue = m
                } else if hour != nil, zone == nil {
                    zone = Self.zoneNames[w] ?? 0 // RFC 5322 §4.3: unknown and military zones are +0000
                }
                i += 1
            case .sign(let s):
                if hour != nil, zone == nil, i + 1 < items.count, case .number(let n, let digits) = items[i + 1], digits == 4 {
                    zone = s * ((n / 100) * 60 + n % 100); i += 2
                } else { i += 1 }
            case .colon:
                i += 1
            }
        }
        items.removeAll()
        guard let d = day, let m = monthValue, var y = year, let h = hour, let mi = minute else { return nil }
        if yearDigits <= 2 { y += y < 50 ? 2000 : 1900 } else if yearDigits == 3 { y += 1900 }
        guard let value = MessageDate(year: y, month: m, day: d, hour: h, minute: mi, second: second, utcOffsetMinutes: zone ?? 0) else {
            return nil
        }
        self = value
    }

    /// Parses IMAP `date-time` (RFC 3501 §9):
    ///
    ///     date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
    ///
    /// Surrounding quotes are optional here; the day may be space- or zero-padded or a single digit.
    public init?(imapDateTime text: some StringProtocol) {
        var bytes = Array(text.utf8)
        if bytes.first == UInt8(ascii: "\""), bytes.last == UInt8(ascii: "\""), bytes.count >= 2 { bytes = Array(bytes.dropFirst().dropLast()) }
        while bytes.first == UInt8(ascii: " ") { bytes.removeFirst() }
        let parts = bytes.split(separator: UInt8(ascii: " "))
        guard parts.count == 3, let date = Self.imapDateFields(Array(parts[0])) else { return nil }
        let time = parts[1].split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard time.count == 3, let h = Self.number(time[0], digits: 2), let mi = Self.number(time[1], digits: 2),
              let s = Self.number(time[2], digits: 2) else { return nil }
        let zone = Array(parts[2])
        guard zone.count == 5, zone[0] == UInt8(ascii: "+") || zone[0] == UInt8(ascii: "-"),
              let z = Self.number(zone[1...], digits: 4) else { return nil }
        let offset = (zone[0] == UInt8(ascii: "-") ? -1 : 1) * ((z / 100) * 60 + z % 100)
        guard let value = MessageDate(year: date.2, month: date.1, day: date.0, hour: h, minute: mi, second: s, utcOffsetMinutes: offset)
        else { return nil }
        self = value
    }

    /// Parses IMAP `date` (RFC 3501 §9 `date = date-text / DQUOTE date-text DQUOTE`, `date-text = date-day "-" date-month
    /// "-" date-year`) as midnight UTC of that day.
    public init?(imapDate text: some StringProtocol) {
        var bytes = Array(text.utf8)
        if bytes.first == UInt8(ascii: "\""), bytes.last == UInt8(ascii: "\""), bytes.count >= 2 { bytes = Array(bytes.dropFirst().dropLast()) }
        guard let f = Self.imapDateFields(bytes), let value = MessageDate(year: f.2, month: f.1, day: f.0) else { return nil }
        self = value
    }

    static func imapDateFields(_ bytes: [UInt8]) -> (Int, Int, Int)? {
        let f = bytes.split(separator: UInt8(ascii: "-"), omittingEmptySubsequences: false)
        guard f.count == 3, f[1].count == 3, let m = Self.month(named: f[1]), f[0].count >= 1, f[0].count <= 2,
              let d = number(f[0], digits: f[0].count), let y = number(f[2], digits: 4) else { return nil }
        return (d, m, y)
    }

    static func number(_ bytes: some Collection<UInt8>, digits: Int) -> Int? {
        guard bytes.count == digits else { return nil }
        var n = 0
        for b in bytes {
            guard b >= 0x30, b <= 0x39 else { return nil }
            n = n * 10 + Int(b - 0x30)
        }
        return n
    }
}
