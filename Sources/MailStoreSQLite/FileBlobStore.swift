/// MailStoreSQLite: the embedded backend — metadata in SQLite (GRDB, WAL, synchronous=FULL) and message bytes as
/// content-addressed files under `DATA_DIR/blobs/`.
///
/// Durability order for every message: blob written to a temp file → fsync → rename → directory fsync → metadata committed.
/// A crash before the commit leaves at most an unreferenced blob file (invisible, removed by garbage collection).
///
/// Garbage collection and deduplication meet at one point: a `put` of bytes already stored returns the existing file,
/// which the caller is about to reference, while the collector may just have found that file unreferenced. So a
/// deduplicating `put` touches the file (its modification time becomes now) and the collector removes a file only if
/// it is still untouched since its cutoff; both steps hold `blobs/.lock` (shared for `put`, exclusive for the collector),
/// which makes them atomic with respect to each other in every process. Either the touch comes first and the file is
/// kept, or the removal comes first, the touch fails, and `put` writes the file again.
import Crypto
import Dispatch
import Foundation
import MailStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Blobs as files named by their SHA-256: `blobs/ab/abcdef…`. Writes are durable before `put` returns.
public final class FileBlobStore: BlobStore {
    public let directory: String
    private let temporaryDirectory: String
    private let lockPath: String

    public init(directory: String) throws {
        self.directory = directory
        self.temporaryDirectory = directory + "/tmp"
        self.lockPath = directory + "/.lock"
        try FileManager.default.createDirectory(atPath: temporaryDirectory, withIntermediateDirectories: true)
    }

    func path(of id: BlobID) -> String {
        let hex = id.hex
        return "\(directory)/\(hex.prefix(2))/\(hex)"
    }

    public func put(_ bytes: [UInt8]) async throws -> BlobID {
        let id = BlobID(hex: SHA256.hash(data: bytes).map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 15)] }.joined())!
        let final = path(of: id)
        let temporaryDirectory = self.temporaryDirectory, lockPath = self.lockPath
        try await runBlocking {
            // Already stored: claim it for the caller against a concurrent collector (see the type's comment).
            if access(final, F_OK) == 0, try withLock(lockPath, LOCK_SH, { utimensat(AT_FDCWD, final, nil, 0) == 0 }) { return }
            let shard = String(final[..<final.lastIndex(of: "/")!])
            if mkdir(shard, 0o750) == 0 {
                try fsyncPath(String(shard[..<shard.lastIndex(of: "/")!]))
            } else if errno != EEXIST {
                throw MailStoreError.storage("cannot create \(shard): \(String(cString: strerror(errno)))")
            }
            let temporary = "\(temporaryDirectory)/\(id.hex).\(UInt64.random(in: 0 ... .max))"
            let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw MailStoreError.storage("cannot create \(temporary): \(String(cString: strerror(errno)))") }
            do {
                try writeAll(fd, bytes, path: temporary)
                guard fsync(fd) == 0 else { throw MailStoreError.storage("fsync \(temporary): \(String(cString: strerror(errno)))") }
                close(fd)
            } catch {
                close(fd)
                unlink(temporary)
                throw error
            }
            guard rename(temporary, final) == 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temporary)
                throw MailStoreError.storage("rename to \(final): \(reason)")
            }
            try fsyncPath(shard)
        }
        return id
    }

    public func get(_ id: BlobID) async throws -> [UInt8] {
        let path = path(of: id)
        return try await runBlocking {
            guard let data = FileManager.default.contents(atPath: path) else { throw MailStoreError.blobMissing(id) }
            return [UInt8](data)
        }
    }

    public func contains(_ id: BlobID) async throws -> Bool {
        let path = path(of: id)
        return await runBlocking { access(path, F_OK) == 0 }
    }

    public func remove(_ id: BlobID, unlessPutSince cutoff: Int64) async throws -> Bool {
        let path = path(of: id), lockPath = self.lockPath
        return try await runBlocking {
            try withLock(lockPath, LOCK_EX) {
                guard let modified = modificationTime(path) else { return errno == ENOENT }
                guard modified < cutoff else { return false }
                return unlink(path) == 0 || errno == ENOENT
            }
        }
    }

    public func collectGarbage(isReferenced: @Sendable (BlobID) async throws -> Bool, olderThanSeconds: Int) async throws -> Int {
        let directory = self.directory, temporaryDirectory = self.temporaryDirectory
        let cutoff = Int64(Date().timeIntervalSince1970) - Int64(olderThanSeconds)
        // Temporary files a crash left in the middle of a put: never renamed into place, so nothing refers to them.
        var removed = await runBlocking {
            var count = 0
            for name in (try? FileManager.default.contentsOfDirectory(atPath: temporaryDirectory)) ?? [] {
                let path = "\(temporaryDirectory)/\(name)"
                if let modified = modificationTime(path), modified < cutoff, unlink(path) == 0 { count += 1 }
            }
            return count
        }
        let candidates: [BlobID] = try await runBlocking {
            var found: [BlobID] = []
            for shard in try FileManager.default.contentsOfDirectory(atPath: directory) where shard.utf8.count == 2 {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(shard)")) ?? [] {
                    guard let id = BlobID(hex: name), let modified = modificationTime("\(directory)/\(shard)/\(name)"),
                          modified < cutoff else { continue }
                    found.append(id)
                }
            }
            return found
        }
        for id in candidates where try await !isReferenced(id) {
            if try await remove(id, unlessPutSince: cutoff) { removed += 1 }
        }
        return removed
    }
}

/// A file's modification time in seconds since 1970, or nil (with errno set) when it cannot be read.
private func modificationTime(_ path: String) -> Int64? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    return Int64(status.st_mtim.tv_sec)
}

/// Runs `body` holding an advisory lock (`LOCK_SH` or `LOCK_EX`) on the file at `path`, created if missing. A descriptor
/// of its own each time: `flock` locks belong to an open file description, so threads sharing one would share the lock.
private func withLock<T>(_ path: String, _ operation: Int32, _ body: () throws -> T) throws -> T {
    let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
    guard fd >= 0 else { throw MailStoreError.storage("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    while flock(fd, operation) != 0 {
        guard errno == EINTR else { throw MailStoreError.storage("cannot lock \(path): \(String(cString: strerror(errno)))") }
    }
    return try body()
}

private let hexDigits = (0..<16).map { String($0, radix: 16) }

private func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
        if written < 0 {
            if errno == EINTR { continue }
            throw MailStoreError.storage("write \(path): \(String(cString: strerror(errno)))")
        }
        offset += written
    }
}

private func fsyncPath(_ path: String) throws {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw MailStoreError.storage("open \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw MailStoreError.storage("fsync \(path): \(String(cString: strerror(errno)))") }
}

/// Runs blocking file work on a Dispatch queue, never on the cooperative pool or an event loop.
func runBlocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        blockingQueue.async { continuation.resume(with: Result { try work() }) }
    }
}

func runBlocking<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        blockingQueue.async { continuation.resume(returning: work()) }
    }
}

private let blockingQueue = DispatchQueue(label: "letterbox.blob-io", qos: .userInitiated, attributes: .concurrent)
