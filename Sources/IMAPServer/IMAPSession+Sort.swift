import IMAPProtocol
import MailCore
import MailStore
import MIME

/// SORT and THREAD (RFC 5256; SORT=DISPLAY, RFC 5957): the messages SEARCH would find, ordered or threaded by what their
/// headers say. Header values come from the search text the store cached at delivery (decoded, RFC 2047 undone), or
/// from the blob for a message without one; comparisons are i;unicode-casemap (case-insensitive), and ties keep
/// mailbox order, as RFC 5256 §3 asks.
extension IMAPSession {
    func sort(_ criteria: [SortCriterion], charset: String, key: SearchKey, uid: Bool) async throws -> Completion {
        try checkCharset(charset)
        let current = try await loadMessages()
        let facts = try await sortFacts(try await matches(key, in: current), in: current)
        let ordered = facts.sorted { SortFacts.precedes($0, $1, by: criteria) }
        try await send(.sort(ordered.map { uid ? UInt32($0.uid) : UInt32($0.number) }))
        return .ok("\(uid ? "UID " : "")SORT completed")
    }

    func thread(_ algorithm: ThreadAlgorithm, charset: String, key: SearchKey, uid: Bool) async throws -> Completion {
        try checkCharset(charset)
        let current = try await loadMessages()
        let facts = try await sortFacts(try await matches(key, in: current), in: current)
        let threads = switch algorithm {
        case .orderedSubject: Threading.orderedSubject(facts)
        case .references: Threading.references(facts)
        }
        let uids = Dictionary(uniqueKeysWithValues: facts.map { (UInt32($0.number), UInt32($0.uid)) })
        func renumber(_ node: ThreadNode) -> ThreadNode {
            ThreadNode(node.message.map { uid ? uids[$0] ?? $0 : $0 }, children: node.children.map(renumber))
        }
        try await send(.thread(threads.map(renumber)))
        return .ok("\(uid ? "UID " : "")THREAD completed")
    }

    private func checkCharset(_ charset: String) throws {
        guard ["UTF-8", "US-ASCII"].contains(charset.uppercased()) else {
            throw CommandFailure.no("unsupported charset", code: .badCharset(["UTF-8", "US-ASCII"]))
        }
    }

    /// What SORT and THREAD need of each message, read a chunk of cached search texts at a time.
    private func sortFacts(_ states: [MessageState], in current: SelectedMailbox) async throws -> [SortFacts] {
        var facts: [SortFacts] = []
        facts.reserveCapacity(states.count)
        for start in stride(from: 0, to: states.count, by: Self.searchChunk) {
            let chunk = states[start..<min(start + Self.searchChunk, states.count)]
            let cached = try await store.searchTexts(in: current.id, uids: chunk.map(\.uid))
            for state in chunk {
                guard let number = current.view.sequenceNumber(forUID: state.uid) else { continue }
                var text = cached[state.uid].flatMap(CachedSearchText.decode)
                if text == nil, let views = try await messageViews(uid: state.uid, in: current.id) {
                    text = MIME.Message.parse(views.bytes).searchText
                }
                facts.append(SortFacts(state: state, number: number, text: text))
            }
        }
        return facts
    }
}

/// One message as SORT and THREAD see it.
struct SortFacts {
    let uid: UID
    let number: Int
    let arrival: Int64
    let size: Int
    /// The Date field in UTC seconds, else the arrival time (RFC 5256 §3 DATE).
    let sent: Int64
    let baseSubject: String
    let from: String, to: String, cc: String
    let displayFrom: String, displayTo: String
    let messageID: String?
    /// References, else In-Reply-To's first message id: the parent chain, oldest first.
    let references: [String]

    init(state: MessageState, number: Int, text: SearchText?) {
        uid = state.uid
        self.number = number
        arrival = state.internalDate.secondsSince1970
        size = state.size
        let header = { (name: String) -> String in text?.header(name).components(separatedBy: "\n").first ?? "" }
        sent = MessageDate(rfc5322: header("Date"))?.secondsSinceEpoch ?? arrival
        baseSubject = Threading.baseSubject(header("Subject"))
        func first(_ name: String) -> MailboxAddress? { AddressParser.parseList(header(name)).mailboxes.first }
        from = first("From")?.localPart.lowercased() ?? ""
        to = first("To")?.localPart.lowercased() ?? ""
        cc = first("Cc")?.localPart.lowercased() ?? ""
        // RFC 5957: the display name if there is one, else the address.
        func display(_ mailbox: MailboxAddress?) -> String {
            guard let mailbox else { return "" }
            return (mailbox.displayName.flatMap { $0.isEmpty ? nil : $0 } ?? mailbox.addressText).lowercased()
        }
        displayFrom = display(first("From"))
        displayTo = display(first("To"))
        let ids = { (name: String) -> [String] in Threading.messageIDs(header(name)) }
        messageID = ids("Message-ID").first
        let references = ids("References")
        self.references = references.isEmpty ? Array(ids("In-Reply-To").prefix(1)) : references
    }

    /// RFC 5256 §3: criteria in order, REVERSE flips one; messages equal by all of them keep mailbox order.
    static func precedes(_ a: SortFacts, _ b: SortFacts, by criteria: [SortCriterion]) -> Bool {
        for criterion in criteria {
            let order = compare(a, b, criterion.key)
            if order != 0 { return criterion.reverse ? order > 0 : order < 0 }
        }
        return a.number < b.number
    }

    private static func compare(_ a: SortFacts, _ b: SortFacts, _ key: SortKey) -> Int {
        func cmp<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x > y ? 1 : 0) }
        switch key {
        case .arrival: return cmp(a.arrival, b.arrival)
        case .date: return cmp(a.sent, b.sent)
        case .size: return cmp(a.size, b.size)
        case .subject: return cmp(a.baseSubject, b.baseSubject)
        case .from: return cmp(a.from, b.from)
        case .to: return cmp(a.to, b.to)
        case .cc: return cmp(a.cc, b.cc)
        case .displayFrom: return cmp(a.displayFrom, b.displayFrom)
        case .displayTo: return cmp(a.displayTo, b.displayTo)
        }
    }
}

/// The threading algorithms of RFC 5256 §3 and the base subject of §2.1.
enum Threading {
    /// RFC 5256 §2.1: the subject without reply/forward markers, blobs and trailers, whitespace collapsed, case folded.
    static func baseSubject(_ subject: String) -> String {
        var text = subject.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }).joined(separator: " ")
        text = text.lowercased()
        while true {
            let before = text
            // (2) subj-trailer = "(fwd)" / WSP, repeatedly.
            while text.hasSuffix("(fwd)") || text.hasSuffix(" ") {
                text = text.hasSuffix(" ") ? String(text.dropLast()) : String(text.dropLast(5))
            }
            // (3)+(4) subj-leader: *(blob) ("re" / "fw" / "fwd") *WSP [blob] ":", and a leading blob if text remains.
            while true {
                let start = text
                text = removingLeader(text)
                if let stripped = removingBlob(text), !stripped.isEmpty { text = stripped }
                if text == start { break }
            }
            // (6) subj-fwd-hdr = "[fwd:" … subj-fwd-trl = "]"
            if text.hasPrefix("[fwd:"), text.hasSuffix("]") {
                text = String(text.dropFirst(5).dropLast()).trimmingCharacters(in: " ")
            }
            if text == before { return text }
        }
    }

    private static func removingLeader(_ text: String) -> String {
        var rest = Substring(text)
        while rest.first == " " { rest = rest.dropFirst() }
        for marker in ["re", "fwd", "fw"] where rest.hasPrefix(marker) {
            var after = rest.dropFirst(marker.count)
            while after.first == " " { after = after.dropFirst() }
            if after.first == "[", let close = after.firstIndex(of: "]") {
                after = after[after.index(after: close)...]
                while after.first == " " { after = after.dropFirst() }
            }
            if after.first == ":" { return String(after.dropFirst()).trimmingCharacters(in: " ") }
        }
        return text
    }

    private static func removingBlob(_ text: String) -> String? {
        guard text.first == "[", let close = text.firstIndex(of: "]"),
              !text[text.index(after: text.startIndex)..<close].contains("[") else { return nil }
        return String(text[text.index(after: close)...]).trimmingCharacters(in: " ")
    }

    /// The `<id>`s of a Message-ID, References or In-Reply-To value, in order.
    static func messageIDs(_ value: String) -> [String] {
        var ids: [String] = []
        var rest = Substring(value)
        while let open = rest.firstIndex(of: "<"), let close = rest[open...].firstIndex(of: ">") {
            let id = rest[rest.index(after: open)..<close]
            if !id.isEmpty { ids.append(String(id)) }
            rest = rest[rest.index(after: close)...]
        }
        return ids
    }

    /// ORDEREDSUBJECT (RFC 5256 §3): messages grouped by base subject; each group's first message by sent date is the
    /// parent of the others; groups ordered by the sent date of their first message.
    static func orderedSubject(_ facts: [SortFacts]) -> [ThreadNode] {
        let sorted = facts.sorted { SortFacts.precedes($0, $1, by: [SortCriterion(.subject), SortCriterion(.date)]) }
        var groups: [[SortFacts]] = []
        for fact in sorted {
            if let last = groups.last?.last, last.baseSubject == fact.baseSubject { groups[groups.count - 1].append(fact) } else { groups.append([fact]) }
        }
        groups.sort { SortFacts.precedes($0[0], $1[0], by: [SortCriterion(.date)]) }
        return groups.map { group in
            ThreadNode(UInt32(group[0].number), children: group.dropFirst().map { ThreadNode(UInt32($0.number)) })
        }
    }

    /// REFERENCES (RFC 5256 §3, after Jamie Zawinski's algorithm): parents from References (or In-Reply-To), links
    /// never making a loop; placeholders for messages not at hand are dropped, promoting their children (at the root
    /// only when that leaves a single thread for them); siblings and threads in order of sent date. Not done: step 5's
    /// merging of root threads by subject (threads whose messages lack references stay apart).
    static func references(_ facts: [SortFacts]) -> [ThreadNode] {
        final class Container {
            var fact: SortFacts?
            var parent: Container?
            var children: [Container] = []
            func reaches(_ other: Container) -> Bool {
                var node: Container? = self
                while let current = node { if current === other { return true }; node = current.parent }
                return false
            }
        }
        var table: [String: Container] = [:]
        func container(_ id: String) -> Container {
            if let found = table[id] { return found }
            let made = Container()
            table[id] = made
            return made
        }
        func link(_ parent: Container, _ child: Container) {
            guard child.parent == nil, !parent.reaches(child), parent !== child else { return }
            child.parent = parent
            parent.children.append(child)
        }
        var unnamed: [Container] = []
        for fact in facts.sorted(by: { $0.number < $1.number }) {
            let own: Container
            if let id = fact.messageID, table[id]?.fact == nil {
                own = container(id)
            } else {
                own = Container()  // no id, or a duplicate id: a message of its own
                unnamed.append(own)
            }
            own.fact = fact
            var previous: Container?
            for id in fact.references {
                let next = container(id)
                if let previous { link(previous, next) }
                previous = next
            }
            if let previous, own.parent == nil { link(previous, own) }
        }
        let all = Array(table.values) + unnamed
        var roots = all.filter { $0.parent == nil }
        // Prune placeholders: an empty container gives its children to its parent (or the root set).
        func prune(_ nodes: [Container], atRoot: Bool) -> [Container] {
            var result: [Container] = []
            for node in nodes {
                node.children = prune(node.children, atRoot: false)
                if node.fact == nil {
                    if node.children.isEmpty { continue }
                    if !atRoot || node.children.count == 1 { result += node.children; continue }
                }
                result.append(node)
            }
            return result
        }
        roots = prune(roots, atRoot: true)
        // Each node with the date it sorts by (its message's, or a placeholder's earliest child's), built bottom-up once.
        func build(_ node: Container) -> (node: ThreadNode, date: (Int64, Int)) {
            let children = node.children.map(build).sorted { $0.date < $1.date }
            let date = node.fact.map { ($0.sent, $0.number) } ?? children.first?.date ?? (0, 0)
            return (ThreadNode(node.fact.map { UInt32($0.number) }, children: children.map(\.node)), date)
        }
        return roots.map(build).sorted { $0.date < $1.date }.map(\.node)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
