import DNS
import MailCore
import Foundation
import NIOCore
import NIOPosix

/// Debian's dnsmasq in the foreground on 127.0.0.1 and a free port, serving a zone of dnsmasq option lines, for one
/// test. CI installs it with `apt-get install -y dnsmasq`; tests check `Dnsmasq.binary` and skip without it.
///
/// Shared by the resolver tests and the SPF interop tests: both failed on CI when dnsmasq could not bind its port.
/// Three things keep that from happening:
/// - the port is below the kernel's ephemeral range, so no outgoing connection of a busy parallel run takes it;
/// - the sockets that checked the port are closed, and the close awaited, before dnsmasq starts (an unawaited NIO
///   close runs later on its event loop, which a loaded run can delay past dnsmasq's own bind);
/// - if dnsmasq exits before it answers anyway, it is started again on another port, and its log says why.
public enum Dnsmasq {
    public static let binary: String? = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/usr/local/sbin/dnsmasq"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    public struct StartFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `body` with a resolver asking dnsmasq (after the servers in `before`) and dnsmasq's port.
    ///
    /// `timeout` is per query and generous on purpose: swift-testing runs suites on a cooperative pool as wide as the
    /// machine (two threads here), and CPU-bound tests can keep the task that reads an answer from running for seconds
    /// while the deadline's timer fires. These tests are about answers, not latency.
    public static func with(
        zone: [String], before: [String] = [], timeout: Duration = .seconds(30),
        _ body: (DNSResolver, Int) async throws -> Void
    ) async throws {
        guard let binary else { return }
        var failures: [String] = []
        for _ in 1...5 {
            let port = try await freePort()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dnsmasq-\(port)-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let config = directory.appendingPathComponent("dnsmasq.conf")
            let log = directory.appendingPathComponent("dnsmasq.log")
            let settings = ["port=\(port)", "listen-address=127.0.0.1", "bind-interfaces", "no-resolv", "no-hosts",
                            "user=\(NSUserName())", "log-queries", "log-facility=\(log.path)"]
            try (settings + zone).joined(separator: "\n").appending("\n").write(to: config, atomically: true, encoding: .utf8)

            let pid = try ChildProcess.spawn([binary, "--keep-in-foreground", "--conf-file=\(config.path)", "--pid-file="])
            var exitStatus: Int32? = nil
            defer {
                // SIGKILL: the child inherits the test process's blocked-signal mask, so SIGTERM could stay pending.
                if exitStatus == nil {
                    kill(pid, SIGKILL)
                    _ = ChildProcess.wait(pid)
                }
            }
            if try await isReady(port: port, pid: pid, exitStatus: &exitStatus) {
                var configuration = DNSResolverConfiguration()
                configuration.servers = before + ["127.0.0.1:\(port)"]
                configuration.timeout = timeout
                try await body(try DNSResolver(configuration: configuration), port)
                return
            }
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            let state = exitStatus.map { "exited with status \($0)" } ?? "still running, not answering"
            failures.append("port \(port): \(state): \(output.suffix(400))")
        }
        throw StartFailure(description: "dnsmasq did not start: " + failures.joined(separator: "; "))
    }

    /// Polls with short queries until dnsmasq answers (any definite answer), exits, or about 30 seconds pass.
    static func isReady(port: Int, pid: pid_t, exitStatus: inout Int32?) async throws -> Bool {
        var probe = DNSResolverConfiguration()
        probe.servers = ["127.0.0.1:\(port)"]
        probe.timeout = .milliseconds(100)
        probe.attempts = 1
        let prober = try DNSResolver(configuration: probe)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let status = ChildProcess.exitStatus(pid) {
                exitStatus = status
                return false
            }
            do throws(DNSError) {
                _ = try await prober.lookup("example.test", .soa)
                return true
            } catch .timeout, .serverFailure {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                return true  // NXDOMAIN, NODATA, refused: it is up
            }
        }
        return false
    }

    /// A loopback port free for UDP and TCP alike, below the kernel's ephemeral range, with both probing sockets
    /// closed (and the closes awaited) before it is returned.
    public static func freePort() async throws -> Int {
        let group = MultiThreadedEventLoopGroup.singleton
        let upper = min(ephemeralLow, 32768)
        let lower = upper > 12000 ? upper - 10000 : 1024
        for _ in 0..<500 {
            let port = Int.random(in: lower..<upper)
            guard let udp = try? await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: port).get() else { continue }
            let tcp = try? await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: port).get()
            try? await udp.close()
            guard let tcp else { continue }
            try? await tcp.close()
            return port
        }
        throw StartFailure(description: "no free loopback port between \(lower) and \(upper)")
    }

    /// The lowest port the kernel hands out for outgoing connections (Linux: /proc/sys/net/ipv4/ip_local_port_range).
    static let ephemeralLow: Int = {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
              let first = text.split(whereSeparator: \.isWhitespace).first, let low = Int(first) else { return 32768 }
        return low
    }()
}

/// Child processes without Foundation's `Process`: posix_spawn and waitpid. On a 2-core machine the cooperative pool has
/// two threads, and Process's exit monitoring could stall behind tests blocked in it.
public enum ChildProcess {
    public static func spawn(_ arguments: [String]) throws -> pid_t {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let rc = posix_spawn(&pid, arguments[0], nil, nil, argv, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EINVAL) }
        return pid
    }

    /// Waits for the child to end; its exit status (or 128 + the signal that ended it).
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        return decode(status)
    }

    /// The exit status if the child has ended, without waiting.
    public static func exitStatus(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid ? decode(status) : nil
    }

    static func decode(_ status: Int32) -> Int32 {
        status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }
}
