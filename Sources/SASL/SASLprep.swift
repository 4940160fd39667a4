/// SASLprep (RFC 4013): the stringprep (RFC 3454) profile that prepares user names and passwords before they are
/// compared or hashed, so that e.g. a no-break space or a soft hyphen typed by one client does not lock a user out.
///
/// Steps (RFC 4013 §2): map (C.1.2 non-ASCII spaces → SPACE, B.1 → nothing), normalize (NFKC), reject prohibited
/// output (C.1.2, C.2.1, C.2.2, C.3–C.9), check bidirectional text (RFC 3454 §6), and — for stored strings only — reject
/// unassigned code points (A.1).
///
/// Limitations, because only the standard library is available (no Foundation, no ICU):
/// - NFKC is approximated as: the compatibility mappings in `compatibilityMappings` (Latin-1 super/subscripts and
///   ordinals, fullwidth ASCII, Latin ligatures, Roman numerals, circled numbers, common letterlike symbols), then NFC
///   from the standard library. Other compatibility characters (e.g. halfwidth Katakana, mathematical alphanumerics)
///   pass through unmapped: such names still work, they just are not folded onto their plain forms.
/// - "Unassigned" means unassigned in the standard library's Unicode version, not in Unicode 3.2 (Table A.1).
/// - RandALCat is Table D.1; LCat (D.2) is approximated as "alphabetic and not RandALCat".
public enum SASLprep {
    /// Whether unassigned code points are allowed (RFC 3454 §7): allowed in queries (what a client presents), prohibited
    /// in stored strings (what the directory saves).
    public enum Usage: Sendable {
        case query
        case stored
    }

    /// Prepares `input` or throws. An empty result is returned as is: callers that need a non-empty name check that.
    public static func prepare(_ input: String, usage: Usage = .query) throws(SASLprepError) -> String {
        var mapped = String.UnicodeScalarView()
        for scalar in input.unicodeScalars {
            if isNonASCIISpace(scalar) {
                mapped.append(" ")  // RFC 4013 §2.1: C.1.2 → SPACE
            } else if isMappedToNothing(scalar) {
                continue  // RFC 4013 §2.1: B.1 → nothing
            } else if let replacement = compatibilityMappings[scalar.value] {
                mapped.append(contentsOf: replacement.unicodeScalars)
            } else {
                mapped.append(scalar)
            }
        }
        // RFC 4013 §2.2: NFKC. The compatibility part happened above; `_nfcCodeUnits` is the standard library's public
        // NFC (underscored because its spelling is not final).
        let normalized = String(decoding: String(mapped)._nfcCodeUnits, as: UTF8.self)

        var hasRandAL = false, hasL = false
        for scalar in normalized.unicodeScalars {
            if isProhibited(scalar) { throw .prohibitedCharacter(scalar.value) }
            if usage == .stored && scalar.properties.generalCategory == .unassigned {
                throw .unassignedCodePoint(scalar.value)
            }
            if isRandAL(scalar) { hasRandAL = true } else if scalar.properties.isAlphabetic { hasL = true }
        }
        // RFC 3454 §6: a string with RandALCat characters has no LCat ones and starts and ends with RandALCat.
        if hasRandAL {
            guard !hasL, let first = normalized.unicodeScalars.first, let last = normalized.unicodeScalars.last,
                  isRandAL(first), isRandAL(last) else {
                throw .bidirectionalRuleViolated
            }
        }
        return normalized
    }

    /// RFC 3454 Table C.1.2, non-ASCII space characters.
    static func isNonASCIISpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00A0, 0x1680, 0x2000...0x200B, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// RFC 3454 Table B.1, commonly mapped to nothing. (U+200B is also in C.1.2, which is checked first and wins.)
    static func isMappedToNothing(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00AD, 0x034F, 0x1806, 0x180B...0x180D, 0x200B...0x200D, 0x2060, 0xFE00...0xFE0F, 0xFEFF: true
        default: false
        }
    }

    /// RFC 4013 §2.3: prohibited output — C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9.
    static func isProhibited(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if isNonASCIISpace(scalar) { return true }  // C.1.2
        switch value {
        case 0x0000...0x001F, 0x007F: return true  // C.2.1 ASCII control characters
        case 0x0080...0x009F, 0x06DD, 0x070F, 0x180E, 0x200C, 0x200D, 0x2028, 0x2029, 0x2060...0x2063, 0x206A...0x206F,
             0xFEFF, 0xFFF9...0xFFFC, 0x1D173...0x1D17A:
            return true  // C.2.2 non-ASCII control characters
        case 0xE000...0xF8FF, 0xF0000...0xFFFFD, 0x100000...0x10FFFD: return true  // C.3 private use
        case 0xFDD0...0xFDEF: return true  // C.4 non-character code points
        case 0xD800...0xDFFF: return true  // C.5 surrogates (cannot occur in a Swift String)
        case 0xFFF9...0xFFFD: return true  // C.6 inappropriate for plain text
        case 0x2FF0...0x2FFB: return true  // C.7 inappropriate for canonical representation
        case 0x0340, 0x0341, 0x200E, 0x200F, 0x202A...0x202E: return true  // C.8 change display properties
        case 0xE0001, 0xE0020...0xE007F: return true  // C.9 tagging characters
        default: return value & 0xFFFE == 0xFFFE  // C.4: U+xFFFE and U+xFFFF in every plane
        }
    }

    /// RFC 3454 Table D.1, characters with bidirectional property R or AL.
    static func isRandAL(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x05BE, 0x05C0, 0x05C3, 0x05D0...0x05EA, 0x05F0...0x05F4, 0x061B, 0x061F, 0x0621...0x063A, 0x0640...0x064A,
             0x066D...0x066F, 0x0671...0x06D5, 0x06DD, 0x06E5...0x06E6, 0x06FA...0x06FE, 0x0700...0x070D, 0x0710,
             0x0712...0x072C, 0x0780...0x07A5, 0x07B1, 0x200F, 0xFB1D, 0xFB1F...0xFB28, 0xFB2A...0xFB36, 0xFB38...0xFB3C,
             0xFB3E, 0xFB40...0xFB41, 0xFB43...0xFB44, 0xFB46...0xFBB1, 0xFBD3...0xFD3D, 0xFD50...0xFD8F, 0xFD92...0xFDC7,
             0xFDF0...0xFDFC, 0xFE70...0xFE74, 0xFE76...0xFEFC:
            true
        default:
            false
        }
    }

    /// The subset of Unicode compatibility decompositions (the "K" of NFKC) applied here; see the type's limitations.
    static let compatibilityMappings: [UInt32: String] = {
        var table: [UInt32: String] = [
            0x00AA: "a", 0x00BA: "o", 0x00B2: "2", 0x00B3: "3", 0x00B9: "1", 0x00B5: "\u{03BC}",
            0x00BC: "1\u{2044}4", 0x00BD: "1\u{2044}2", 0x00BE: "3\u{2044}4",
            0x00A8: " \u{0308}", 0x00AF: " \u{0304}", 0x00B4: " \u{0301}", 0x00B8: " \u{0327}",
            0x0132: "IJ", 0x0133: "ij", 0x013F: "L\u{00B7}", 0x0140: "l\u{00B7}", 0x0149: "\u{02BC}n", 0x017F: "s",
            0x01C4: "D\u{017D}", 0x01C5: "D\u{017E}", 0x01C6: "d\u{017E}", 0x01C7: "LJ", 0x01C8: "Lj", 0x01C9: "lj",
            0x01CA: "NJ", 0x01CB: "Nj", 0x01CC: "nj", 0x01F1: "DZ", 0x01F2: "Dz", 0x01F3: "dz",
            0x2024: ".", 0x2025: "..", 0x2026: "...", 0x2033: "\u{2032}\u{2032}", 0x2034: "\u{2032}\u{2032}\u{2032}",
            0x2070: "0", 0x2071: "i", 0x207A: "+", 0x207B: "\u{2212}", 0x207C: "=", 0x207D: "(", 0x207E: ")", 0x207F: "n",
            0x208A: "+", 0x208B: "\u{2212}", 0x208C: "=", 0x208D: "(", 0x208E: ")",
            0x2102: "C", 0x2103: "\u{00B0}C", 0x2109: "\u{00B0}F", 0x210A: "g", 0x210B: "H", 0x210C: "H", 0x210D: "H",
            0x210E: "h", 0x2110: "I", 0x2111: "I", 0x2112: "L", 0x2113: "l", 0x2115: "N", 0x2116: "No", 0x2119: "P",
            0x211A: "Q", 0x211B: "R", 0x211C: "R", 0x211D: "R", 0x2121: "TEL", 0x2122: "TM", 0x2124: "Z", 0x2128: "Z",
            0x212C: "B", 0x212D: "C", 0x212F: "e", 0x2130: "E", 0x2131: "F", 0x2133: "M", 0x2134: "o", 0x2139: "i",
            0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "st", 0xFB06: "st",
            0xFFE0: "\u{00A2}", 0xFFE1: "\u{00A3}", 0xFFE2: "\u{00AC}", 0xFFE4: "\u{00A6}", 0xFFE5: "\u{00A5}",
            0xFFE6: "\u{20A9}",
        ]
        for digit in UInt32(4)...9 { table[0x2070 + digit] = String(digit) }  // ⁴…⁹
        for digit in UInt32(0)...9 { table[0x2080 + digit] = String(digit) }  // ₀…₉
        let roman = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "L", "C", "D", "M"]
        for (offset, numeral) in roman.enumerated() {
            table[0x2160 + UInt32(offset)] = numeral  // Ⅰ…Ⅿ
            table[0x2170 + UInt32(offset)] = numeral.lowercased()  // ⅰ…ⅿ
        }
        for number in UInt32(1)...20 { table[0x2460 + number - 1] = String(number) }  // ①…⑳
        for ascii in UInt32(0x21)...0x7E {  // fullwidth ASCII U+FF01…U+FF5E
            table[0xFF00 + ascii - 0x20] = String(Character(Unicode.Scalar(ascii)!))
        }
        return table
    }()
}

/// Why SASLprep refused a string. Code points are kept as numbers so the error can be logged safely.
public enum SASLprepError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A character from the prohibited tables (RFC 4013 §2.3), e.g. a control character.
    case prohibitedCharacter(UInt32)
    /// An unassigned code point in a stored string (RFC 4013 §2.5).
    case unassignedCodePoint(UInt32)
    /// Right-to-left text mixed with left-to-right text, or not starting and ending right-to-left (RFC 3454 §6).
    case bidirectionalRuleViolated
    /// The string is empty after preparation (RFC 4616 §2: verification fails).
    case empty

    public var description: String {
        switch self {
        case .prohibitedCharacter(let value): "prohibited character U+\(hex(value))"
        case .unassignedCodePoint(let value): "unassigned code point U+\(hex(value))"
        case .bidirectionalRuleViolated: "bidirectional text rule violated"
        case .empty: "empty after preparation"
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
