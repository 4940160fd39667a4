/// Encoding of IMAP values to wire bytes (RFC 3501 §4, RFC 9051 §4): NIL, numbers, quoted strings, literals and lists.
/// The store caches these bytes at delivery so FETCH copies them.
public struct IMAPWireWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func raw(_ text: String) { bytes += text.utf8 }
    public mutating func nil_() { bytes += "NIL".utf8 }
    public mutating func number(_ n: Int) { bytes += String(n).utf8 }
    public mutating func space() { bytes.append(0x20) }
    public mutating func open() { bytes.append(UInt8(ascii: "(")) }
    public mutating func close() { bytes.append(UInt8(ascii: ")")) }

    /// `nstring`: NIL for nil, else `string`.
    public mutating func nstring(_ value: [UInt8]?) {
        if let value { string(value) } else { nil_() }
    }

    /// `string = quoted / literal`. Quoted when every byte is a 7-bit TEXT-CHAR and the string is short; a literal
    /// `{n}\r\n…` otherwise (CR, LF, NUL, 8-bit bytes, or over 1000 bytes).
    public mutating func string(_ value: [UInt8]) {
        if Self.canQuote(value) {
            bytes.append(UInt8(ascii: "\""))
            for b in value {
                if b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(b)
            }
            bytes.append(UInt8(ascii: "\""))
        } else {
            bytes += "{\(value.count)}\r\n".utf8
            bytes += value
        }
    }

    public mutating func string(_ value: String) { string(Array(value.utf8)) }

    static func canQuote(_ value: [UInt8]) -> Bool {
        value.count <= 1000 && value.allSatisfy { $0 >= 0x01 && $0 < 0x80 && $0 != 0x0D && $0 != 0x0A }
    }
}
