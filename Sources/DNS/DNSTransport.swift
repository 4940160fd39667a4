/// Moving one query and its response over NIO: UDP datagrams (RFC 1035 §4.2.1) or a TCP stream with a two-octet length
/// prefix (RFC 1035 §4.2.2, RFC 7766). Each call opens its own socket and closes it, so every query gets a fresh random
/// source port from the kernel.
import MailCore
import NIOCore
import NIOPosix

struct DNSTransport: Sendable {
    let group: any EventLoopGroup
    let timeout: Duration

    /// Sends `query` and returns the first datagram from `server` that carries `id`. Others are ignored (spoofing
    /// attempts, late answers to someone else).
    func udp(_ query: [UInt8], id: UInt16, server: SocketAddress) async throws(DNSError) -> [UInt8] {
        let group = self.group
        return try await withDeadline {
            let bindHost = server.protocol == .inet6 ? "::" : "0.0.0.0"
            let channel = try await DatagramBootstrap(group: group).bind(host: bindHost, port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(
                        wrappingChannelSynchronously: channel)
                }
            }
            return try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: query)))
                for try await envelope in inbound {
                    let bytes = Array(envelope.data.readableBytesView)
                    guard envelope.remoteAddress == server, bytes.count >= 2, UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id else {
                        continue
                    }
                    return bytes
                }
                throw DNSError.timeout
            }
        }
    }

    /// Sends `query` over TCP and reads one length-prefixed response.
    func tcp(_ query: [UInt8], server: SocketAddress) async throws(DNSError) -> [UInt8] {
        let group = self.group
        return try await withDeadline {
            let channel = try await ClientBootstrap(group: group).connect(to: server) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
            return try await channel.executeThenClose { inbound, outbound in
                var framed = ByteBuffer()
                framed.writeInteger(UInt16(query.count))
                framed.writeBytes(query)
                try await outbound.write(framed)
                var received = ByteBuffer()
                for try await var chunk in inbound {
                    received.writeBuffer(&chunk)
                    if let length = received.getInteger(at: received.readerIndex, as: UInt16.self),
                       received.readableBytes >= 2 + Int(length) {
                        return Array(received.readableBytesView.dropFirst(2).prefix(Int(length)))
                    }
                }
                throw DNSError.malformedResponse("TCP connection closed before a whole response arrived")
            }
        }
    }

    /// Runs `body` with this transport's deadline; maps every failure to a `DNSError`.
    private func withDeadline(_ body: @escaping @Sendable () async throws -> [UInt8]) async throws(DNSError) -> [UInt8] {
        let timeout = self.timeout
        do {
            return try await withThrowingTaskGroup(of: [UInt8]?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let bytes = first else { throw DNSError.timeout }
                return bytes
            }
        } catch let error as DNSError {
            throw error
        } catch is CancellationError {
            throw .timeout
        } catch {
            throw .serverFailure("\(error)")
        }
    }
}

/// Parsing of the `servers` configuration entries.
enum ServerAddress {
    /// `ip`, `ip:port` (IPv4) or `[ipv6]:port`, or a bare IPv6 literal (port 53). A `%scope` suffix is dropped.
    static func parse(_ entry: String) -> SocketAddress? {
        var host = entry.trimmingSpaces, port = 53
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let value = Int(rest.dropFirst()), (1...65535).contains(value) else { return nil }
                port = value
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let value = Int(host[host.index(after: colon)...]), (1...65535).contains(value) else { return nil }
            port = value
            host = String(host[..<colon])
        }
        if let percent = host.firstIndex(of: "%") { host = String(host[..<percent]) }
        return try? SocketAddress(ipAddress: host, port: port)
    }
}

extension String {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
