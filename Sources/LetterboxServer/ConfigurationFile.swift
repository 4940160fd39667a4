import Foundation
import TOMLKit

/// A configuration problem, stated so an administrator can fix it: which key, which value, what is wrong.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let key: String
    public let value: String?
    public let problem: String

    public init(key: String, value: String?, problem: String) {
        self.key = key
        self.value = value
        self.problem = problem
    }

    public var description: String {
        if let value { return "configuration error: \(key) = \(value): \(problem)" }
        return "configuration error: \(key): \(problem)"
    }
}

/// Reads typed values out of a parsed TOML document and remembers which keys were read, so that anything left over is
/// reported as an unknown key (a typo must not silently fall back to a default).
struct ConfigurationReader {
    private let root: TOMLTable
    private(set) var consumed: Set<String> = []

    init(toml text: String, source: String) throws(ConfigurationError) {
        if let line = Self.tableHeaderWithoutKey(in: text) {
            throw ConfigurationError(key: source, value: nil, problem: "not valid TOML: the table header on line \(line) does not start with a key")
        }
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(key: source, value: nil, problem: "not valid TOML: \(error.description) at \(error.source.begin)")
        } catch {
            throw ConfigurationError(key: source, value: nil, problem: "not valid TOML: \(error)")
        }
    }

    /// The line number of a table header whose key starts with a character that cannot start a key (`[&x]`), if any.
    /// toml++ (inside TOMLKit) asserts instead of reporting such a header: the assertion is compiled into release builds
    /// and aborted the process (found by Fuzz/FuzzConfig). A header is a "[" first on a line outside any array, inline
    /// table or string; the scan follows strings and comments just enough to know that.
    static func tableHeaderWithoutKey(in text: String) -> Int? {
        let bytes = Array(text.utf8)
        var index = 0, line = 1, depth = 0, atLineStart = true
        func isKeyStart(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "]"): true
            default: false
            }
        }
        func skipBlanks(_ at: Int) -> Int {
            var at = at
            while at < bytes.count, bytes[at] == 32 || bytes[at] == 9 { at += 1 }
            return at
        }
        while index < bytes.count {
            let byte = bytes[index]
            if atLineStart {
                index = skipBlanks(index)
                atLineStart = false
                if index < bytes.count, bytes[index] == UInt8(ascii: "["), depth <= 0 {
                    var next = index + 1
                    if next < bytes.count, bytes[next] == UInt8(ascii: "[") { next += 1 }
                    next = skipBlanks(next)
                    if next < bytes.count, !isKeyStart(bytes[next]) { return line }
                }
                continue
            }
            switch byte {
            case 10:
                line += 1
                atLineStart = true
                index += 1
            case UInt8(ascii: "#"):
                while index < bytes.count, bytes[index] != 10 { index += 1 }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                let triple = index + 2 < bytes.count && bytes[index + 1] == byte && bytes[index + 2] == byte
                index += triple ? 3 : 1
                while index < bytes.count {
                    if bytes[index] == 10 {
                        if !triple { break }  // unterminated: the newline is the outer loop's
                        line += 1
                    }
                    if byte == UInt8(ascii: "\""), bytes[index] == UInt8(ascii: "\\") { index += 2; continue }
                    if bytes[index] == byte, !triple || (index + 2 < bytes.count && bytes[index + 1] == byte && bytes[index + 2] == byte) {
                        index += triple ? 3 : 1
                        break
                    }
                    index += 1
                }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                index += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                index += 1
            default:
                index += 1
            }
        }
        return nil
    }

    private func lookup(_ key: String) -> (any TOMLValueConvertible)? {
        var table: TOMLTable? = root
        let parts = key.split(separator: ".").map(String.init)
        for part in parts.dropLast() { table = table?[part]?.table }
        return table?[parts.last!]
    }

    mutating func string(_ key: String) throws(ConfigurationError) -> String? {
        consumed.insert(key)
        guard let value = lookup(key) else { return nil }
        guard let string = value.string else { throw ConfigurationError(key: key, value: value.debugDescription, problem: "must be a string") }
        return string
    }

    mutating func int(_ key: String, range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        consumed.insert(key)
        guard let value = lookup(key) else { return nil }
        guard let int = value.int else { throw ConfigurationError(key: key, value: value.debugDescription, problem: "must be an integer") }
        guard range.contains(int) else {
            throw ConfigurationError(key: key, value: String(int), problem: "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return int
    }

    /// A size in octets: an integer, or a string with a K, M or G suffix (powers of 1024), e.g. "50M".
    mutating func size(_ key: String, range: ClosedRange<Int64>) throws(ConfigurationError) -> Int64? {
        consumed.insert(key)
        guard let value = lookup(key) else { return nil }
        let octets: Int64?
        if let int = value.int {
            octets = Int64(int)
        } else if let text = value.string {
            octets = Self.parseSize(text)
        } else {
            octets = nil
        }
        guard let octets else {
            throw ConfigurationError(key: key, value: value.debugDescription, problem: "must be a size in octets, e.g. 52428800 or \"50M\"")
        }
        guard range.contains(octets) else {
            throw ConfigurationError(key: key, value: value.debugDescription, problem: "must be between \(range.lowerBound) and \(range.upperBound) octets")
        }
        return octets
    }

    /// "123", "10K", "50M", "2G" (case-insensitive, powers of 1024).
    static func parseSize(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let multipliers: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        if let last = trimmed.last, let multiplier = multipliers[last] {
            guard let number = Int64(trimmed.dropLast()), number >= 0 else { return nil }
            let (product, overflow) = number.multipliedReportingOverflow(by: multiplier)
            return overflow ? nil : product
        }
        return Int64(trimmed)
    }

    mutating func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        consumed.insert(key)
        guard let value = lookup(key) else { return nil }
        guard let bool = value.bool else { throw ConfigurationError(key: key, value: value.debugDescription, problem: "must be true or false") }
        return bool
    }

    mutating func strings(_ key: String) throws(ConfigurationError) -> [String]? {
        consumed.insert(key)
        guard let value = lookup(key) else { return nil }
        guard let array = value.array else { throw ConfigurationError(key: key, value: value.debugDescription, problem: "must be a list of strings") }
        var strings: [String] = []
        for element in array {
            guard let string = element.string else {
                throw ConfigurationError(key: key, value: value.debugDescription, problem: "must be a list of strings")
            }
            strings.append(string)
        }
        return strings
    }

    /// A table of string values (`[delivery.routes]`: domain → "host:port"), keys as written.
    mutating func stringTable(_ key: String) throws(ConfigurationError) -> [String: String]? {
        consumed.insert(key)
        guard let value = lookup(key) else { return nil }
        guard let table = value.table else { throw ConfigurationError(key: key, value: value.debugDescription, problem: "must be a table") }
        var result: [String: String] = [:]
        for name in table.keys {
            guard let string = table[name]?.string else {
                throw ConfigurationError(key: "\(key).\(name)", value: table[name]?.debugDescription, problem: "must be a string")
            }
            result[name] = string
        }
        return result
    }

    /// Every key in the document that nothing asked for.
    func unknownKeys() -> [String] {
        var unknown: [String] = []
        func walk(_ table: TOMLTable, prefix: String) {
            for key in table.keys.sorted() {
                let full = prefix.isEmpty ? key : "\(prefix).\(key)"
                if let child = table[key]?.table, !consumed.contains(full) {
                    if consumed.contains(where: { $0.hasPrefix(full + ".") }) { walk(child, prefix: full) } else { unknown.append(full) }
                } else if !consumed.contains(full) {
                    unknown.append(full)
                }
            }
        }
        walk(root, prefix: "")
        return unknown
    }
}
