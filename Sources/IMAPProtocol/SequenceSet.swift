/// One end of a sequence range: a number or `*` (the largest number in use).
public enum SequenceBound: Hashable, Sendable {
    case number(UInt32)
    case last
}

/// seq-range = seq-number ":" seq-number; a single number is a range whose bounds are equal.
public struct SequenceRange: Hashable, Sendable {
    public var first: SequenceBound
    public var second: SequenceBound

    public init(_ first: SequenceBound, _ second: SequenceBound) {
        self.first = first
        self.second = second
    }

    public init(_ number: UInt32) { self.init(.number(number), .number(number)) }

    public init(_ range: ClosedRange<UInt32>) { self.init(.number(range.lowerBound), .number(range.upperBound)) }

    /// RFC 9051 §9: "*" is the largest number in use; the bounds may come in either order (`*:3` is `3:*`).
    public func resolved(largest: UInt32) -> ClosedRange<UInt32> {
        func value(_ bound: SequenceBound) -> UInt32 {
            switch bound {
            case .number(let n): n
            case .last: largest
            }
        }
        let (a, b) = (value(first), value(second))
        return min(a, b)...max(a, b)
    }
}

/// sequence-set (RFC 9051 §9) or the saved search result `$` (RFC 5182), for message sequence numbers or UIDs.
public enum SequenceSet: Hashable, Sendable {
    case ranges([SequenceRange])
    case lastCommand

    public static let all = SequenceSet.ranges([SequenceRange(.number(1), .last)])

    /// Resolves against the largest number in use (message count or largest UID). `$` resolves to `saved`.
    /// The result is sorted and free of duplicates, ranges merged.
    public func resolved(largest: UInt32, saved: [ClosedRange<UInt32>] = []) -> [ClosedRange<UInt32>] {
        switch self {
        case .lastCommand: Self.normalize(saved)
        case .ranges(let ranges): Self.normalize(ranges.map { $0.resolved(largest: largest) })
        }
    }

    /// Does the set contain `number` (given the largest number in use)?
    public func contains(_ number: UInt32, largest: UInt32, saved: [ClosedRange<UInt32>] = []) -> Bool {
        resolved(largest: largest, saved: saved).contains { $0.contains(number) }
    }

    /// Compresses sorted numbers into the shortest sequence set (`1:3,7`). Empty input gives an empty set.
    public init(_ numbers: some Sequence<UInt32>) {
        self = .ranges(Self.normalize(numbers.map { $0...$0 }).map(SequenceRange.init))
    }

    static func normalize(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var merged: [ClosedRange<UInt32>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, UInt64(range.lowerBound) <= UInt64(last.upperBound) + 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        return merged
    }
}
