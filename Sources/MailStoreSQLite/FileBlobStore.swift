/// MailStoreSQLite: the embedded backend — metadata in SQLite (GRDB, WAL, synchronous=FULL) and message bytes as
/// content-addressed files under `DATA_DIR/blobs/`.
///
/// Durability order for every message: blob written to a temp file → fsync → rename → directory fsync → metadata committed.
/// A crash before the commit leaves at most an unreferenced blob file (invisible, removed by garbage collection).
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

    public init(directory: String) throws {
        self.directory = directory
        self.temporaryDirectory = directory + "/tmp"
        try FileManager.default.createDirectory(atPath: temporaryDirectory, withIntermediateDirectories: true)
    }

    func path(of id: BlobID) -> String {
        let hex = id.hex
        return "\(directory)/\(hex.prefix(2))/\(hex)"
    }

    public func put(_ bytes: [UInt8]) async throws -> BlobID {
        let id = BlobID(hex: SHA256.hash(data: bytes).map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 15)] }.joined())!
        let final = path(of: id)
        let temporaryDirectory = self.temporaryDirectory
        try await runBlocking {
            if access(final, F_OK) == 0 { return }
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

    public func collectGarbage(isReferenced: @Sendable (BlobID) async throws -> Bool, olderThanSeconds: Int) async throws -> Int {
        let directory = self.directory
        let candidates: [(BlobID, String)] = try await runBlocking {
            let now = Date()
            var found: [(BlobID, String)] = []
            for shard in try FileManager.default.contentsOfDirectory(atPath: directory) where shard.utf8.count == 2 {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(shard)")) ?? [] {
                    let path = "\(directory)/\(shard)/\(name)"
                    guard let id = BlobID(hex: name),
                          let modified = try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date,
                          now.timeIntervalSince(modified) > Double(olderThanSeconds) else { continue }
                    found.append((id, path))
                }
            }
            return found
        }
        var removed = 0
        for (id, path) in candidates where try await !isReferenced(id) {
            if unlink(path) == 0 { removed += 1 }
        }
        return removed
    }
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
