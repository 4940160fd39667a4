/// A cursor over the octets of one command line. Parse functions advance it only on success of the rule they parse;
/// a failed rule restores the position it started from (callers use `attempt`).
struct SMTPScanner {
    let bytes: [UInt8]
    var position: Int

    init(_ bytes: [UInt8], position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var isAtEnd: Bool { position >= bytes.count }
    var peek: UInt8? { position < bytes.count ? bytes[position] : nil }
    var remaining: ArraySlice<UInt8> { bytes[min(position, bytes.count)...] }

    mutating func take(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        position += 1
        return true
    }

    mutating func take(_ character: Unicode.Scalar) -> Bool { take(UInt8(ascii: character)) }

    /// Consumes `word` compared case-insensitively (ASCII only).
    mutating func takeCaseInsensitive(_ word: String) -> Bool {
        let wordBytes = Array(word.utf8)
        guard bytes.count - position >= wordBytes.count else { return false }
        for (offset, expected) in wordBytes.enumerated() where asciiLower(bytes[position + offset]) != asciiLower(expected) {
            return false
        }
        position += wordBytes.count
        return true
    }

    /// Consumes the longest run of bytes satisfying `predicate` and returns it (possibly empty).
    mutating func takeWhile(_ predicate: (UInt8) -> Bool) -> ArraySlice<UInt8> {
        let start = position
        while let byte = peek, predicate(byte) { position += 1 }
        return bytes[start..<position]
    }

    /// Runs `body`; if it returns nil the position is restored.
    mutating func attempt<T>(_ body: (inout SMTPScanner) -> T?) -> T? {
        let saved = position
        if let value = body(&self) { return value }
        position = saved
        return nil
    }
}

func asciiLower(_ byte: UInt8) -> UInt8 {
    (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) ? byte + 32 : byte
}

func isAlpha(_ byte: UInt8) -> Bool {
    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
}

func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

func isHexDigit(_ byte: UInt8) -> Bool {
    isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
}

extension String {
    init(ascii slice: some Collection<UInt8>) { self = String(decoding: slice, as: UTF8.self) }
}
