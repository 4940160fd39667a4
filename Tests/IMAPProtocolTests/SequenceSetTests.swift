import Testing
@testable import IMAPProtocol

struct SequenceSetTests {
    @Test func resolvesStarAndReversedRanges() {
        #expect(SequenceSet.all.resolved(largest: 7) == [1...7])
        #expect(SequenceSet.ranges([SequenceRange(.last, .number(3))]).resolved(largest: 7) == [3...7])
        #expect(SequenceSet.ranges([SequenceRange(.number(9), .number(2))]).resolved(largest: 7) == [2...9])
        #expect(SequenceSet.ranges([SequenceRange(1...3), SequenceRange(4...5), SequenceRange(2...2), SequenceRange(8)]).resolved(largest: 10)
            == [1...5, 8...8])
        #expect(SequenceSet.lastCommand.resolved(largest: 10, saved: [5...6, 1...1]) == [1...1, 5...6])
        #expect(SequenceSet.all.contains(7, largest: 7))
        #expect(!SequenceSet.ranges([SequenceRange(1...3)]).contains(4, largest: 7))
        #expect(SequenceSet.ranges([SequenceRange(UInt32.max - 1 ... UInt32.max), SequenceRange(1)]).resolved(largest: 0)
            == [1...1, (UInt32.max - 1)...UInt32.max])
    }

    @Test func compressesNumbers() {
        #expect(SequenceSet([5, 1, 2, 3, 9, 10]) == .ranges([SequenceRange(1...3), SequenceRange(5), SequenceRange(9...10)]))
        #expect(SequenceSet([UInt32]()) == .ranges([]))
    }
}
