import MailCore

/// Decoding text in a named charset to Unicode. UTF-8, US-ASCII and ISO-8859-1 are done inline; other single-byte charsets
/// (ISO-8859-2…16, Windows-1250…1258, KOI8-R/U, IBM866, Macintosh) use generated tables; the CJK multi-byte charsets go
/// through Foundation (`CJKCharsets.swift`). Unknown charsets fall back to UTF-8 when the bytes are valid UTF-8, else Windows-1252.
public enum Charset {
    /// Canonical table name for a MIME charset label (case-insensitive, common aliases).
    public static func canonicalName(_ label: String) -> String {
        var name = label.lowercased().trimmingSpaces
        if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
        switch name {
        case "utf8", "utf-8", "unicode-1-1-utf-8", "x-unicode20utf8": return "utf-8"
        case "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us", "646", "": return "us-ascii"
        case "latin1", "latin-1", "iso-8859-1", "iso8859-1", "iso_8859-1", "l1", "cp819", "iso_8859-1:1987": return "iso-8859-1"
        case "latin2", "l2": return "iso-8859-2"
        case "cp1252", "x-cp1252", "ansi": return "windows-1252"
        case "koi8r": return "koi8-r"
        case "koi8u": return "koi8-u"
        case "cp866": return "ibm866"
        case "mac", "macroman", "x-mac-roman": return "macintosh"
        case "gb2312", "euc-cn", "x-gbk", "gbk", "cp936", "gb_2312-80", "csgb2312", "chinese": return "gb18030"
        case "big5", "big-5", "cn-big5", "x-x-big5", "csbig5", "big5-hkscs": return "big5"
        case "shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "cp932", "windows-31j", "csshiftjis": return "shift_jis"
        case "euc-jp", "eucjp", "x-euc-jp", "cseucpkdfmtjapanese": return "euc-jp"
        case "iso-2022-jp", "csiso2022jp", "iso-2022-jp-2": return "iso-2022-jp"
        case "euc-kr", "ks_c_5601-1987", "ksc5601", "cp949", "windows-949", "korean", "cseuckr": return "euc-kr"
        default: break
        }
        if name.hasPrefix("iso8859-") { return "iso-8859-" + name.dropFirst(8) }
        if name.hasPrefix("iso_8859-") { return "iso-8859-" + name.dropFirst(9) }
        if name.hasPrefix("cp125"), name.count == 6 { return "windows-" + name.dropFirst(2) }
        if name.hasPrefix("x-cp125") { return "windows-" + name.dropFirst(4) }
        if let colon = name.firstIndex(of: ":"), name.hasPrefix("iso-8859-") { return String(name[..<colon]) }
        return name
    }

    /// True when `decode` knows the charset (after aliasing).
    public static func isSupported(_ label: String) -> Bool {
        let name = canonicalName(label)
        return ["utf-8", "us-ascii", "iso-8859-1"].contains(name) || CharsetTables.upperHalves[name] != nil
            || CJKCharsets.supported.contains(name)
    }

    /// Decodes `bytes` in `charset` to a String. Never fails: invalid sequences become U+FFFD.
    public static func decode(_ bytes: some Collection<UInt8>, charset: String) -> String {
        let name = canonicalName(charset)
        switch name {
        case "utf-8":
            return String(decoding: bytes, as: UTF8.self)
        case "us-ascii":
            // Many mailers label 8-bit text us-ascii: prefer UTF-8 when it decodes, else Latin-1.
            if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
            return fallback(bytes)
        case "iso-8859-1":
            return latin1(bytes)
        default:
            if let table = CharsetTables.upperHalves[name] { return singleByte(bytes, table: table) }
            if CJKCharsets.supported.contains(name), let text = CJKCharsets.decode(Array(bytes), charset: name) { return text }
            return fallback(bytes)
        }
    }

    /// Unknown charset: valid UTF-8 stays UTF-8, anything else is read as Windows-1252 (a superset of printable Latin-1).
    static func fallback(_ bytes: some Collection<UInt8>) -> String {
        let array = Array(bytes)
        var valid = true
        var iterator = array.makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: break loop
            case .error: valid = false; break loop
            }
        }
        if valid { return String(decoding: array, as: UTF8.self) }
        return singleByte(array, table: CharsetTables.upperHalves["windows-1252"]!)
    }

    static func latin1(_ bytes: some Collection<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        for b in bytes { scalars.append(Unicode.Scalar(b)) }
        return String(scalars)
    }

    static func singleByte(_ bytes: some Collection<UInt8>, table: [UInt16]) -> String {
        var scalars = String.UnicodeScalarView()
        for b in bytes {
            if b < 0x80 {
                scalars.append(Unicode.Scalar(b))
            } else {
                scalars.append(Unicode.Scalar(UInt32(table[Int(b) - 0x80])) ?? "\u{FFFD}")
            }
        }
        return String(scalars)
    }
}
