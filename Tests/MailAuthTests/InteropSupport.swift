import DNS
import Foundation
import MailCore
import MailTestSupport
import NIOCore
import NIOPosix
import Testing

/// Runs outside tools for the interop tests; each test is skipped (with the install command) when its tool is missing.
enum Interop {
    static func python(_ script: String, arguments: [String] = [], stdin: [UInt8] = []) throws -> (status: Int32, output: String) {
        try run("/usr/bin/env", ["python3", "-c", script] + arguments, stdin: stdin)
    }

    /// Runs a program with `stdin` as its input and returns its exit status and its output (stdout and stderr).
    /// posix_spawn + waitpid rather than Foundation's Process: on a 2-core machine the cooperative pool has two threads,
    /// and Process's exit monitoring could stall behind tests blocked in it.
    static func run(_ executable: String, _ arguments: [String], stdin: [UInt8] = []) throws -> (status: Int32, output: String) {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("stdin"), output = directory.appendingPathComponent("output")
        try Data(stdin).write(to: input)
        let shell = ["/bin/sh", "-c", "i=$1; o=$2; shift 2; exec \"$@\" <\"$i\" >\"$o\" 2>&1", "sh", input.path, output.path]
        let pid = try ChildProcess.spawn(shell + [executable] + arguments)
        let status = ChildProcess.wait(pid)
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        return (status, text)
    }

    static func pythonHas(_ modules: String) -> Bool {
        (try? python("import \(modules)").status) == 0
    }

    static let hasDkimpy = pythonHas("dkim, nacl")
    static let hasPyspf = pythonHas("spf, dns.resolver")
    static let opendkimTestmsg: String? = ["/usr/sbin/opendkim-testmsg", "/usr/bin/opendkim-testmsg"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mailauth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}
