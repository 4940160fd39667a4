import Delivery
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// What went wrong talking to a listener: one readable line for the checklist.
struct DoctorConnectionError: Error, CustomStringConvertible {
    var description: String
}

/// How `letterbox doctor` opens TLS: no verification (to look at what is served), full verification against the system
/// roots plus `delivery.trust_roots` for `hostname`, or a client that offers at most TLS 1.1 (which must be refused).
enum DoctorTLS: Sendable {
    case anyCertificate
    case verify(hostname: String, extraRoots: String?)
    case legacyOnly

    func context() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch self {
        case .anyCertificate:
            configuration.certificateVerification = .none
        case .verify(_, let extraRoots):
            configuration.certificateVerification = .fullVerification
            if let extraRoots { configuration.additionalTrustRoots = [.file(extraRoots)] }
        case .legacyOnly:
            configuration.certificateVerification = .none
            configuration.minimumTLSVersion = .tlsv1
            configuration.maximumTLSVersion = .tlsv11
        }
        return try NIOSSLContext(configuration: configuration)
    }

    var serverName: String? {
        if case .verify(let hostname, _) = self { return hostname }
        return nil
    }
}

/// One line-oriented client connection (SMTP or IMAP) with STARTTLS, for the doctor's probes. Every connection closes
/// itself after `timeout`, so a silent server makes a read fail instead of hanging the doctor.
struct DoctorLine {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let channel: any Channel
    var buffer = ByteBuffer()

    static let timeout: TimeAmount = .seconds(10)

    /// Connects to `address` (implicit TLS when `tls` is given) and runs `body` on the connection, then closes it.
    static func with<T: Sendable>(_ address: ListenAddress, tls: DoctorTLS? = nil,
                                  _ body: (inout DoctorLine) async throws -> T) async throws -> T {
        let context = try tls?.context()
        let serverName = tls?.serverName
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .connect(host: address.host, port: address.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let context {
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverName))
                        }
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            let reason = "\(error)".contains("Connection refused") ? "connection refused" : "\(error)"
            throw DoctorConnectionError(description: "cannot connect to \(address): \(reason)")
        }
        let raw = channel.channel
        let closer = raw.eventLoop.scheduleTask(in: timeout) { raw.close(promise: nil) }
        defer { closer.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            var line = DoctorLine(iterator: inbound.makeAsyncIterator(), outbound: outbound, channel: raw)
            return try await body(&line)
        }
    }

    /// The next CRLF-terminated line, without the CRLF.
    mutating func readLine() async throws -> String {
        while true {
            let view = buffer.readableBytesView
            if let newline = view.firstIndex(of: UInt8(ascii: "\n")) {
                let length = view.distance(from: view.startIndex, to: newline) + 1
                // "\r\n" is one Character in Swift: trim by scalars.
                return (buffer.readString(length: length) ?? "").trimmingCharacters(in: .newlines)
            }
            guard var chunk = try await iterator.next() else {
                throw DoctorConnectionError(description: "the server closed the connection")
            }
            buffer.writeBuffer(&chunk)
        }
    }

    func send(_ line: String) async throws {
        try await outbound.write(ByteBuffer(string: line + "\r\n"))
    }

    /// One SMTP reply (RFC 5321 §4.2): its code and the text of every line.
    mutating func smtpReply() async throws -> (code: Int, lines: [String]) {
        var lines: [String] = []
        while true {
            let line = try await readLine()
            guard line.count >= 3, let code = Int(line.prefix(3)) else {
                throw DoctorConnectionError(description: "not an SMTP reply: \(line)")
            }
            lines.append(String(line.dropFirst(4)))
            if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] == " " { return (code, lines) }
        }
    }

    mutating func smtp(_ command: String) async throws -> (code: Int, lines: [String]) {
        try await send(command)
        return try await smtpReply()
    }

    /// Sends an IMAP command with `tag` and returns every line up to and including the tagged one.
    mutating func imap(_ tag: String, _ command: String) async throws -> [String] {
        try await send("\(tag) \(command)")
        var lines: [String] = []
        while true {
            let line = try await readLine()
            lines.append(line)
            if line.hasPrefix(tag + " ") { return lines }
        }
    }

    /// Starts TLS on the live connection (after the server's go-ahead) and waits for the handshake.
    mutating func startTLS(_ tls: DoctorTLS) async throws {
        guard buffer.readableBytes == 0 else { throw DoctorConnectionError(description: "data after the STARTTLS go-ahead") }
        let context = try tls.context()
        let serverName = tls.serverName
        let channel = self.channel
        let handshake = channel.eventLoop.makePromise(of: Void.self)
        try await channel.eventLoop.submit {
            let ssl = try NIOSSLClientHandler(context: context, serverHostname: serverName)
            try channel.pipeline.syncOperations.addHandler(ssl, position: .first)
            try channel.pipeline.syncOperations.addHandler(TLSHandshakeWaiter(promise: handshake), position: .after(ssl))
        }.get()
        try await handshake.futureResult.get()
    }

    /// The certificate the server presented, as PEM (nil before TLS).
    func peerCertificatePEM() async throws -> String? {
        guard let certificate = try await channel.nioSSL_peerCertificate().get() else { return nil }
        let base64 = Data(try certificate.toDERBytes()).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN CERTIFICATE-----\n\(base64)\n-----END CERTIFICATE-----\n"
    }

    /// The negotiated TLS version, e.g. "TLS 1.3".
    func tlsVersion() async -> String {
        guard let version = try? await channel.nioSSL_tlsVersion().get() else { return "TLS" }
        switch version {
        case .tlsv13: return "TLS 1.3"
        case .tlsv12: return "TLS 1.2"
        case .tlsv11: return "TLS 1.1"
        default: return "TLS"
        }
    }
}
