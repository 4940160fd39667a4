import Foundation
import Logging

/// Never serving as root (`[server] user`, `[server] group`).
///
/// A server started as root binds every listener and reads what only root may read (configuration, TLS key) with root's
/// rights; then, before any connection is served or any gated service starts, it makes the data directory and everything
/// in it owned by the account (`takeOwnership`) and switches to it for good (`switchTo`: supplementary groups, group,
/// user — in that order — then proof that root cannot be regained). glibc applies set*id to every thread of the process
/// (NIO event loops and the concurrency pool already run), so no thread keeps root.
///
/// Administration commands run as root drop to the owner of the data directory instead (`adoptDataDirectoryOwner`), so
/// that what they create there (a SQLite WAL, a DKIM key, `blobs/.lock`) is the server's, not root's.
public enum ServerUser {
    /// An account to run as: its name (for the supplementary groups), user id and the group id to switch to.
    public struct Account: Sendable, Equatable {
        public let name: String
        public let uid: uid_t
        public let gid: gid_t
    }

    /// What `serve` does about its user, decided before anything is opened.
    public enum Plan: Sendable, Equatable {
        /// Keep running as we are (not root, or root without `server.user`: warned about).
        case stay
        /// Started as root with `server.user`: switch once every listener is bound.
        case switchTo(Account)
    }

    /// Decides the plan from `[server]` and who we are now; refuses what cannot work (an unknown user or group, root
    /// as the target, a non-root process asked to become someone else).
    public static func plan(for configuration: LetterboxConfiguration, logger: Logger) throws(ConfigurationError) -> Plan {
        guard let user = configuration.server.user else {
            if geteuid() == 0 {
                logger.warning("""
                    letterbox is running as root and will keep running as root: every connection is served with root's \
                    rights. Set [server] user (e.g. "letterbox") to switch after binding the ports, or start it from \
                    contrib/letterbox.service
                    """)
            }
            return .stay
        }
        let account = try lookUp(user: user, group: configuration.server.group)
        if geteuid() == 0 { return .switchTo(account) }
        if geteuid() == account.uid { return .stay }
        throw ConfigurationError(
            key: "server.user", value: user,
            problem: "letterbox runs as \(describeUser(geteuid())), and only root can switch to another user: start it as root "
                + "(it switches once the ports are bound), or as \(user), or remove server.user")
    }

    /// The account named `user`, switching to `group` (default: its primary group). Root and group 0 are refused.
    public static func lookUp(user: String, group: String?) throws(ConfigurationError) -> Account {
        guard let entry = passwdEntry(name: user) else {
            throw ConfigurationError(
                key: "server.user", value: user,
                problem: "no such user; create it: useradd --system --home-dir /var/lib/letterbox --shell /usr/sbin/nologin \(user)")
        }
        guard entry.uid != 0 else { throw ConfigurationError(key: "server.user", value: user, problem: "must not be root (uid 0)") }
        var gid = entry.gid
        if let group {
            guard let found = groupID(name: group) else {
                throw ConfigurationError(key: "server.group", value: group, problem: "no such group; create it: groupadd --system \(group)")
            }
            gid = found
        }
        guard gid != 0 else { throw ConfigurationError(key: group == nil ? "server.user" : "server.group", value: group ?? user, problem: "must not switch to group 0 (root)") }
        return Account(name: entry.name, uid: entry.uid, gid: gid)
    }

    // MARK: Switching

    /// Supplementary groups (the account's, from the group database), then the group, then the user — root can do each
    /// only before the user changes — and then proof it holds: real and effective ids are the account's, and going back
    /// to uid or gid 0 fails (which also proves no saved id is 0).
    public static func switchTo(_ account: Account) throws(ConfigurationError) {
        func failure(_ step: String) -> ConfigurationError {
            ConfigurationError(key: "server.user", value: account.name, problem: "\(step) failed: \(String(cString: strerror(errno)))")
        }
        guard initgroups(account.name, account.gid) == 0 else { throw failure("initgroups") }
        guard setgid(account.gid) == 0 else { throw failure("setgid(\(account.gid))") }
        guard setuid(account.uid) == 0 else { throw failure("setuid(\(account.uid))") }
        guard getuid() == account.uid, geteuid() == account.uid, getgid() == account.gid, getegid() == account.gid else {
            throw ConfigurationError(key: "server.user", value: account.name,
                                     problem: "the switch did not take: uid \(getuid())/\(geteuid()), gid \(getgid())/\(getegid())")
        }
        // These succeed for an unprivileged process only if a real or saved id is still 0: they must all fail.
        guard setuid(0) == -1, seteuid(0) == -1, setgid(0) == -1, setegid(0) == -1 else {
            throw ConfigurationError(key: "server.user", value: account.name, problem: "root could be regained after the switch; refusing to serve")
        }
    }

    /// Checks, as the account, what the server will need later: the data directory (WAL files, blobs, DKIM keys,
    /// `run/`), and — for SIGHUP reloads — the TLS files (a warning only: the certificate in memory keeps working).
    static func checkAccess(_ configuration: LetterboxConfiguration, account: Account, logger: Logger) throws(ConfigurationError) {
        guard access(configuration.dataDirectory, R_OK | W_OK | X_OK) == 0 else {
            throw ConfigurationError(
                key: "data_dir", value: configuration.dataDirectory,
                problem: "\(account.name) cannot use it after the switch (\(String(cString: strerror(errno)))): every parent directory must be searchable by \(account.name)")
        }
        for path in [configuration.tlsCertificate, configuration.tlsKey].compactMap({ $0 }) where access(path, R_OK) != 0 {
            logger.warning("the TLS file is not readable by the server user, so a SIGHUP reload will fail; make it readable by the group or restart to renew",
                           metadata: ["file": "\(path)", "user": "\(account.name)"])
        }
    }

    // MARK: Ownership

    /// What `takeOwnership` did: entries changed, and hard-linked files it refused to touch.
    public struct OwnershipReport: Sendable, Equatable {
        public var changed = 0
        public var skipped: [String] = []
    }

    /// Makes `directory` and everything below it owned by `uid:gid`. Never follows a symbolic link (directories are
    /// opened `O_NOFOLLOW` relative to their parent, entries changed with `AT_SYMLINK_NOFOLLOW`; links themselves are left
    /// alone) and never changes a regular file with several hard links that is not already ours: a link planted in the
    /// data directory must not hand a file from elsewhere (say /etc/shadow) to the server user. Only entries whose owner
    /// differs are changed, so a data directory already in order costs one `lstat` per entry.
    public static func takeOwnership(of directory: String, uid: uid_t, gid: gid_t) throws(ConfigurationError) -> OwnershipReport {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw ConfigurationError(key: "data_dir", value: directory, problem: "cannot open it to give it to the server user: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var report = OwnershipReport()
        var info = stat()
        if fstat(fd, &info) == 0, info.st_uid != uid || info.st_gid != gid {
            guard fchown(fd, uid, gid) == 0 else {
                throw ConfigurationError(key: "data_dir", value: directory, problem: "cannot change its owner: \(String(cString: strerror(errno)))")
            }
            report.changed += 1
        }
        try walk(fd, path: directory, uid: uid, gid: gid, report: &report)
        return report
    }

    private static func walk(_ directory: Int32, path: String, uid: uid_t, gid: gid_t, report: inout OwnershipReport) throws(ConfigurationError) {
        let listing = dup(directory)
        guard listing >= 0, let stream = fdopendir(listing) else {
            throw ConfigurationError(key: "data_dir", value: path, problem: "cannot list it: \(String(cString: strerror(errno)))")
        }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name == "." || name == ".." { continue }
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }   // gone meanwhile
            let kind = info.st_mode & mode_t(S_IFMT)
            let full = path + "/" + name
            if kind == mode_t(S_IFLNK) { continue }
            if kind == mode_t(S_IFDIR) {
                let child = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { throw ConfigurationError(key: "data_dir", value: full, problem: "cannot open it: \(String(cString: strerror(errno)))") }
                defer { close(child) }
                if info.st_uid != uid || info.st_gid != gid {
                    guard fchown(child, uid, gid) == 0 else {
                        throw ConfigurationError(key: "data_dir", value: full, problem: "cannot change its owner: \(String(cString: strerror(errno)))")
                    }
                    report.changed += 1
                }
                try walk(child, path: full, uid: uid, gid: gid, report: &report)
                continue
            }
            guard info.st_uid != uid || info.st_gid != gid else { continue }
            if kind == mode_t(S_IFREG), info.st_nlink > 1, info.st_uid != uid {
                report.skipped.append(full)
                continue
            }
            guard fchownat(directory, name, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw ConfigurationError(key: "data_dir", value: full, problem: "cannot change its owner: \(String(cString: strerror(errno)))")
            }
            report.changed += 1
        }
    }

    // MARK: Administration commands

    /// Run as root on a data directory that belongs to someone else (the server's user), become that owner — its uid
    /// and the directory's group — so that whatever the command creates there is the server's. Does nothing when not
    /// root, or when the data directory does not exist yet or belongs to root.
    public static func adoptDataDirectoryOwner(_ directory: String) throws(ConfigurationError) {
        guard geteuid() == 0 else { return }
        var info = stat()
        guard lstat(directory, &info) == 0, info.st_mode & mode_t(S_IFMT) == mode_t(S_IFDIR), info.st_uid != 0 else { return }
        let name = passwdEntry(uid: info.st_uid)?.name
        let groups = name.map { initgroups($0, info.st_gid) } ?? withUnsafePointer(to: info.st_gid) { setgroups(1, $0) }
        guard groups == 0, setgid(info.st_gid) == 0, setuid(info.st_uid) == 0 else {
            throw ConfigurationError(key: "data_dir", value: directory,
                                     problem: "cannot switch to its owner \(name ?? String(info.st_uid)): \(String(cString: strerror(errno)))")
        }
    }

    // MARK: The account database

    struct PasswdEntry {
        let name: String
        let uid: uid_t
        let gid: gid_t
    }

    static func passwdEntry(name: String) -> PasswdEntry? {
        readPasswd { entry, buffer, size, result in getpwnam_r(name, entry, buffer, size, result) }
    }

    static func passwdEntry(uid: uid_t) -> PasswdEntry? {
        readPasswd { entry, buffer, size, result in getpwuid_r(uid, entry, buffer, size, result) }
    }

    private static func readPasswd(
        _ lookUp: (UnsafeMutablePointer<passwd>, UnsafeMutablePointer<CChar>, Int, UnsafeMutablePointer<UnsafeMutablePointer<passwd>?>) -> Int32
    ) -> PasswdEntry? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        let status = buffer.withUnsafeMutableBufferPointer { lookUp(&entry, $0.baseAddress!, $0.count, &result) }
        guard status == 0, result != nil, let name = entry.pw_name else { return nil }
        return PasswdEntry(name: String(cString: name), uid: entry.pw_uid, gid: entry.pw_gid)
    }

    static func groupID(name: String) -> gid_t? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 65_536)
        let status = buffer.withUnsafeMutableBufferPointer { getgrnam_r(name, &entry, $0.baseAddress!, $0.count, &result) }
        guard status == 0, result != nil else { return nil }
        return entry.gr_gid
    }

    /// "uid 1000 (alice)".
    static func describeUser(_ uid: uid_t) -> String {
        passwdEntry(uid: uid).map { "uid \(uid) (\($0.name))" } ?? "uid \(uid)"
    }
}
