import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServerCore
import Synchronization

/// What the test protocol's sessions report back to the tests.
final class SessionLog: Sendable {
    private let entries = Mutex<[String]>([])
    private let wakers = Mutex<[ConnectionWaker]>([])
    private let stream: AsyncStream<String>
    private let continuation: AsyncStream<String>.Continuation

    init() { (stream, continuation) = AsyncStream.makeStream() }

    func record(_ entry: String) {
        entries.withLock { $0.append(entry) }
        continuation.yield(entry)
    }

    func add(_ waker: ConnectionWaker) { wakers.withLock { $0.append(waker) } }
    var allWakers: [ConnectionWaker] { wakers.withLock { $0 } }
    var all: [String] { entries.withLock { $0 } }

    /// Waits for the first entry (from now or earlier) satisfying `predicate`.
    func waitFor(_ predicate: (String) -> Bool) async -> String? {
        if let found = all.first(where: predicate) { return found }
        for await entry in stream where predicate(entry) { return entry }
        return nil
    }
}

/// A line-echo protocol exercising every `Connection` feature. Replies start with "+OK", "+ECHO", "-ERR" or "* ".
struct EchoProtocol: ConnectionHandler {
    let log: SessionLog

    func refusalMessage(for reason: RefusalReason) -> String { "-ERR refused \(reason)\r\n" }

    func handle(_ connection: Connection) async throws {
        log.add(connection.waker)
        log.record("open \(connection.id)")
        do {
            try await session(connection)
        } catch {
            log.record("session error \(error)")  // e.g. the greeting cannot be written: the handshake failed
            throw error
        }
    }

    private func session(_ connection: Connection) async throws {
        try await connection.send("+OK ready\r\n")
        while true {
            let event: InputEvent
            do {
                event = try await connection.readLineOrWakeUp()
            } catch .lineTooLong(let limit) {
                try await connection.send("-ERR line too long (\(limit))\r\n")
                continue
            } catch .idleTimeout {
                log.record("idle timeout")
                try await connection.send("-ERR idle timeout\r\n")
                return
            } catch {
                log.record("read error \(error)")
                return
            }
            switch event {
            case .wokenUp:
                try await connection.send("* WOKEN\r\n")
            case .shutdownRequested:
                try await connection.send("* SHUTDOWN\r\n")
                return
            case .line(let line):
                if try await !command(line, on: connection) { return }
            }
        }
    }

    /// Carries out one command; false ends the session.
    private func command(_ line: Line, on connection: Connection) async throws -> Bool {
        let words = line.text.split(separator: " ", maxSplits: 1).map(String.init)
        switch words.first ?? "" {
        case "QUIT":
            try await connection.send("+OK bye\r\n")
            return false
        case "STARTTLS":
            do {
                try await connection.startTLS(sending: "+OK begin TLS\r\n")
            } catch {
                log.record("starttls failed \(error)")
                // Still plaintext (nothing was sent): say why. Once TLS went in, there is nothing left to say.
                if !connection.isTLS { try? await connection.send("-ERR \(error)\r\n") }
                return false
            }
        case "BYTES":
            let bytes = try await connection.readBytes(exactly: Int(words[1])!)
            try await connection.send("+OK got \(String(buffer: bytes))\r\n")
        case "AVAIL":
            let bytes = try await connection.readAvailable(max: Int(words[1])!)
            try await connection.send("+OK avail \(String(buffer: bytes))\r\n")
        case "TLS?":
            let version = connection.tls?.version.map { "\($0)" } ?? "none"
            try await connection.send("+OK tls=\(connection.isTLS) version=\(version)\r\n")
        case "TIMEOUT":
            connection.idleTimeout = .milliseconds(Int(words[1])!)
            try await connection.send("+OK\r\n")
        case "BEGIN":
            // A "transaction": the next line finishes it even if a shutdown started meanwhile.
            try await connection.send("+OK begun\r\n")
            let finish = try await connection.readLine()
            try await connection.send("+OK finished \(finish.text) shutdown=\(connection.isShutdownRequested)\r\n")
        case "IGNORE-SHUTDOWN":
            // Reads plain lines only: never sees the shutdown request; only the grace period ends it.
            try await connection.send("+OK ignoring\r\n")
            while true { _ = try await connection.readLine() }
        case "BATCH":
            for index in 1...3 { try await connection.write("+OK part \(index)\r\n") }
            try await connection.flush()
        default:
            try await connection.send("+ECHO \(line.text) \(line.terminator == .crlf ? "crlf" : "lf")\r\n")
        }
        return true
    }
}

let testLogger: Logger = {
    var logger = Logger(label: "servercore-tests")
    logger.logLevel = .critical
    return logger
}()

/// Runs a listener on 127.0.0.1 port 0 around `body`, then cancels it and waits for `run()` to return.
func withListener(
    _ configuration: ListenerConfiguration = ListenerConfiguration(name: "test", port: 0),
    certificates: TLSCertificateStore? = nil,
    log: SessionLog = SessionLog(),
    _ body: (Listener, Int) async throws -> Void
) async throws {
    let listener = try Listener(
        configuration: configuration,
        certificates: certificates,
        logger: testLogger,
        handler: EchoProtocol(log: log)
    )
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await listener.run() }
        let port = try await listener.boundAddress.port!
        do {
            try await body(listener, port)
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
        try? await group.waitForAll()
    }
}

/// A raw TCP (optionally TLS) client that reads lines.
final class TestClient {
    let channel: any Channel
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var buffer = ByteBuffer()

    init(
        channel: any Channel,
        inbound: NIOAsyncChannelInboundStream<ByteBuffer>,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) {
        self.channel = channel
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
    }

    /// Connects (with TLS from the first byte when `tls` is given) and runs `body`; closes afterwards.
    static func with<T>(
        port: Int,
        tls: TLSClient? = nil,
        _ body: (TestClient) async throws -> T
    ) async throws -> T {
        let connection = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(try tls.makeHandler())
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await connection.executeThenClose { inbound, outbound in
            try await body(TestClient(channel: connection.channel, inbound: inbound, outbound: outbound))
        }
    }

    func send(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    /// The next CRLF-terminated line without its CRLF, or nil at end of stream.
    func readLine() async throws -> String? {
        while true {
            let view = buffer.readableBytesView
            if let lf = view.firstIndex(of: UInt8(ascii: "\n")) {
                // Byte-wise: "\r\n" is one Character in Swift, so String.dropLast would not do.
                let lineLength = lf - view.startIndex
                let terminatorLength = lineLength > 0 && view[lf - 1] == UInt8(ascii: "\r") ? 2 : 1
                let line = buffer.readString(length: lineLength + 1 - terminatorLength)!
                buffer.moveReaderIndex(forwardBy: terminatorLength)
                return line
            }
            guard var more = try await inbound.next() else { return nil }
            buffer.writeBuffer(&more)
        }
    }

    /// Adds TLS below everything else (the client half of STARTTLS). Call only with nothing buffered.
    func startTLS(_ tls: TLSClient) async throws {
        precondition(buffer.readableBytes == 0)
        let channel = self.channel
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(try tls.makeHandler(), position: .first)
        }.get()
    }

    /// The server's leaf certificate, DER (after a TLS handshake).
    func peerCertificateDER() async throws -> [UInt8]? {
        try await channel.nioSSL_peerCertificate().get()?.toDERBytes()
    }
}

/// Test certificates: a self-signed one for "localhost" / 127.0.0.1, and a client context that trusts exactly it.
struct TestCertificate {
    let selfSigned: SelfSignedCertificate
    let store: TLSCertificateStore

    init(ipAddresses: [String] = ["127.0.0.1"]) throws {
        selfSigned = try SelfSignedCertificate.generate(hostnames: ["localhost"], ipAddresses: ipAddresses)
        store = try TLSCertificateStore(
            certificateChainPEM: selfSigned.certificatePEM,
            privateKeyPEM: selfSigned.privateKeyPEM
        )
    }

    var der: [UInt8] { get throws { try Self.der(selfSigned.certificatePEM) } }

    static func der(_ pem: String) throws -> [UInt8] {
        try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem).toDERBytes()
    }

    /// A client that trusts exactly `roots` and checks the host name "localhost".
    static func client(trusting roots: [SelfSignedCertificate], maximumVersion: TLSVersion? = nil) throws -> TLSClient {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        if let maximumVersion {
            configuration.minimumTLSVersion = .tlsv1
            configuration.maximumTLSVersion = maximumVersion
        }
        return TLSClient(
            context: try NIOSSLContext(configuration: configuration),
            trusted: try roots.map { try der($0.certificatePEM) }
        )
    }
}

/// The client half of TLS in tests.
///
/// BoringSSL does not accept a CA:FALSE self-signed certificate as its own issuer (X509_check_issued wants keyCertSign),
/// so putting it in `trustRoots` fails with CERTIFICATE_VERIFY_FAILED. Instead the chain check pins the leaf to the
/// trusted certificates' DER, and NIOSSL still validates the host name ("localhost") after the handshake.
struct TLSClient: Sendable {
    let context: NIOSSLContext
    let trusted: [[UInt8]]
    var serverHostname = "localhost"

    func makeHandler() throws -> NIOSSLClientHandler {
        let trusted = self.trusted
        return try NIOSSLClientHandler(context: context, serverHostname: serverHostname) { certificates, promise in
            let leaf = try? certificates.first?.toDERBytes()
            promise.succeed(leaf.map { trusted.contains($0) } == true ? .certificateVerified : .failed)
        }
    }
}

/// A fresh temporary directory, removed after `body`.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("servercore-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}
