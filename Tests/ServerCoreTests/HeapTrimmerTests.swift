#if canImport(Glibc)
import Foundation
import Glibc
import ServerCore
import Testing

@Suite("Heap trimming")
struct HeapTrimmerTests {
    /// Resident pages of this process (second field of /proc/self/statm), in bytes.
    static func residentBytes() throws -> Int {
        let statm = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8)
        let pages = try #require(Int(statm.split(separator: " ")[1]))
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    @Test("memory freed between live allocations goes back to the kernel")
    func trimReturnsFreedPages() throws {
        // 128 MiB in 1 KiB blocks with a small live block after every 63: once the big blocks are freed, the free
        // space lies between live blocks, so free() alone cannot shrink the heap (what an IDLE session's dropped cache
        // looks like next to other sessions' live state).
        var blocks: [UnsafeMutableRawPointer] = []
        var keepers: [UnsafeMutableRawPointer] = []
        blocks.reserveCapacity(131_072)
        keepers.reserveCapacity(2_100)
        for index in 0..<131_072 {
            let block = try #require(malloc(1024))
            memset(block, 0x5A, 1024)  // touch it: resident
            blocks.append(block)
            if index % 63 == 62 { keepers.append(try #require(malloc(16))) }
        }
        defer { for keeper in keepers { free(keeper) } }
        for block in blocks { free(block) }
        let beforeTrim = try Self.residentBytes()
        HeapTrimmer.trim()
        let afterTrim = try Self.residentBytes()
        // Other tests run at the same time and allocate too: ask for half of what was freed, not all of it.
        #expect(beforeTrim - afterTrim > 64 << 20, "resident \(beforeTrim >> 20) MiB before trimming, \(afterTrim >> 20) MiB after")
    }
}
#endif
