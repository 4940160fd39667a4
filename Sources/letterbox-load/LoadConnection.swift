import NIOCore
import NIOPosix
import NIOSSL

/// A client connection for the load generator: lines and byte counts in, bytes out, optional implicit TLS (any
/// certificate: this measures servers, it does not protect anything).
struct LoadConnection {
    static func open(host: String, port: Int, tls: Bool) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        let context: NIOSSLContext? = try tls ? {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            return try NIOSSLContext(configuration: configuration)
        }() : nil
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)   // IPPROTO_TCP: at SOL_SOCKET level 1 is SO_DEBUG
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil))
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }
}

struct LoadError: Error, CustomStringConvertible {
    var description: String
    init(_ text: String) { description = text }
}

/// Buffered reading of CRLF lines and exact byte counts from an inbound stream.
struct LineReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var buffer = ByteBuffer()

    init(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>) {
        iterator = inbound.makeAsyncIterator()
    }

    private mutating func fill() async throws {
        guard var chunk = try await iterator.next() else { throw LoadError("connection closed by the server") }
        buffer.writeBuffer(&chunk)
    }

    /// The next line without its CRLF.
    mutating func line() async throws -> String {
        while true {
            if let index = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                let length = index - buffer.readerIndex + 1
                let bytes = buffer.readBytes(length: length) ?? []
                return String(decoding: bytes.dropLast(bytes.count >= 2 && bytes[bytes.count - 2] == 13 ? 2 : 1), as: UTF8.self)
            }
            if buffer.readableBytes > 1 << 20 { throw LoadError("line longer than 1 MiB") }
            try await fill()
        }
    }

    mutating func skip(_ count: Int) async throws {
        var left = count
        while left > 0 {
            if buffer.readableBytes == 0 { try await fill() }
            let take = min(left, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: take)
            left -= take
        }
    }

    /// One SMTP reply (all its lines); returns the code.
    mutating func smtpReply() async throws -> Int {
        while true {
            let line = try await line()
            guard line.count >= 3, let code = Int(line.prefix(3)) else { throw LoadError("bad SMTP reply: \(line)") }
            if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] == " " { return code }
        }
    }

    /// Reads IMAP responses up to the tagged one for `tag`, skipping literals; returns the tagged line and how many
    /// untagged lines came before it.
    mutating func imapTagged(_ tag: String) async throws -> (String, Int) {
        var untagged = 0
        while true {
            var line = try await line()
            // A line ending in {n} announces n octets of literal, then the line goes on.
            while line.hasSuffix("}"), let open = line.lastIndex(of: "{"), let count = Int(line[line.index(after: open)..<line.index(before: line.endIndex)].filter { $0 != "+" }) {
                try await skip(count)
                line = try await self.line()
            }
            if line.hasPrefix(tag + " ") { return (line, untagged) }
            untagged += 1
        }
    }
}
