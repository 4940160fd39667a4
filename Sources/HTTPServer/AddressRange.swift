#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IP address or CIDR block (`127.0.0.0/8`, `::1`, `2001:db8::/32`), for the `/metrics` allow list.
/// IPv4-mapped IPv6 peers (`::ffff:127.0.0.1`) are matched as the IPv4 address.
public struct AddressRange: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 16 bytes, host bits cleared.
    public let network: [UInt8]
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let bytes = Self.parseAddress(String(parts[0])) else { return nil }
        let length: Int
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bytes.count * 8).contains(value) else { return nil }
            length = value
        } else {
            length = bytes.count * 8
        }
        network = Self.masked(bytes, length)
        prefixLength = length
    }

    /// The loopback ranges: `127.0.0.0/8` and `::1`.
    public static let loopback = [AddressRange("127.0.0.0/8")!, AddressRange("::1")!]

    /// Whether the textual IP address `address` lies in this range.
    public func contains(_ address: String) -> Bool {
        guard var bytes = Self.parseAddress(address) else { return false }
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            bytes = Array(bytes[12...])
        }
        return bytes.count == network.count && Self.masked(bytes, prefixLength) == network
    }

    public var description: String {
        let text: String
        if network.count == 4 {
            text = network.map(String.init).joined(separator: ".")
        } else {
            text = stride(from: 0, to: 16, by: 2).map { String(UInt16(network[$0]) << 8 | UInt16(network[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        }
        return "\(text)/\(prefixLength)"
    }

    /// 4 bytes for dotted IPv4, 16 for IPv6 (inet_pton's grammar); a zone (`%eth0`) is ignored.
    static func parseAddress(_ text: String) -> [UInt8]? {
        let host = text.split(separator: "%", maxSplits: 1).first.map(String.init) ?? text
        var v4 = [UInt8](repeating: 0, count: 4)
        if host.contains("."), !host.contains(":") {
            return inet_pton(AF_INET, host, &v4) == 1 ? v4 : nil
        }
        var v6 = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET6, host, &v6) == 1 ? v6 : nil
    }

    private static func masked(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bits = max(0, min(8, length - index * 8))
            return bits == 0 ? 0 : byte & UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
        }
    }
}
