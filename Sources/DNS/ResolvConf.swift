/// Reading the system's resolver list, used when no servers are configured.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The `nameserver` lines of resolv.conf(5).
enum ResolvConf {
    static func parse(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { return nil }
            return String(fields[1])
        }
    }

    /// Reads the file with plain POSIX calls (once, when a resolver is made); a missing file yields no servers.
    static func nameservers(atPath path: String) -> [String] {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return [] }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while contents.count < 1 << 20 {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            contents.append(contentsOf: buffer[0..<count])
        }
        return parse(String(decoding: contents, as: UTF8.self))
    }
}

