import Foundation
@testable import LetterboxServer
import Testing

@Suite struct ServerUserTests {
    @Test func serverUserAndGroupAreRead() throws {
        let configuration = try LetterboxConfiguration.parse(toml: "[server]\nuser = \"letterbox\"\ngroup = \"mail\"\n")
        #expect(configuration.server.user == "letterbox" && configuration.server.group == "mail")
        let empty = try LetterboxConfiguration.parse(toml: "[server]\nuser = \"\"\ngroup = \"\"\n")
        #expect(empty.server == LetterboxConfiguration.ServerSettings())
        #expect(LetterboxConfiguration().server.user == nil, "no switch unless asked")
    }

    @Test func unknownUsersGroupsAndRootAreRefused() {
        #expect(throws: ConfigurationError.self) { try ServerUser.lookUp(user: "no-such-user-\(getpid())", group: nil) }
        #expect(throws: ConfigurationError(key: "server.user", value: "root", problem: "must not be root (uid 0)")) {
            try ServerUser.lookUp(user: "root", group: nil)
        }
        #expect(throws: ConfigurationError.self) { try ServerUser.lookUp(user: "nobody", group: "no-such-group-\(getpid())") }
        #expect(throws: ConfigurationError(key: "server.group", value: "root", problem: "must not switch to group 0 (root)")) {
            try ServerUser.lookUp(user: "nobody", group: "root")
        }
    }

    /// As root (CI): the data directory and what is in it become nobody's, but a symbolic link is never followed and a
    /// hard link to a file from elsewhere is left alone.
    @Test(.enabled(if: geteuid() == 0)) func takingOwnershipNeverFollowsLinks() throws {
        let nobody = try ServerUser.lookUp(user: "nobody", group: nil)
        let base = NSTemporaryDirectory() + "owner-\(UUID().uuidString.prefix(8))"
        let data = base + "/data", outside = base + "/outside"
        defer { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createDirectory(atPath: data + "/blobs/ab", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: data + "/blobs/ab/abcd", contents: Data("x".utf8)))
        #expect(FileManager.default.createFile(atPath: outside + "/secret", contents: Data("s".utf8)))
        try FileManager.default.createSymbolicLink(atPath: data + "/link-to-dir", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: data + "/link-to-file", withDestinationPath: outside + "/secret")
        #expect(link(outside + "/secret", data + "/hard-link") == 0)

        let report = try ServerUser.takeOwnership(of: data, uid: nobody.uid, gid: nobody.gid)
        func owner(_ path: String) -> uid_t { var info = stat(); lstat(path, &info); return info.st_uid }
        for path in [data, data + "/blobs", data + "/blobs/ab", data + "/blobs/ab/abcd"] { #expect(owner(path) == nobody.uid, "\(path)") }
        for path in [outside, outside + "/secret", data + "/link-to-dir", data + "/link-to-file"] { #expect(owner(path) == 0, "\(path)") }
        #expect(report.changed == 4 && report.skipped == [data + "/hard-link"])
        #expect(try ServerUser.takeOwnership(of: data, uid: nobody.uid, gid: nobody.gid).changed == 0, "nothing to do the second time")
    }
}
