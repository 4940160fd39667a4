import Foundation
import IMAPProtocol
import MailCore
import MailStore
import MIME

/// SEARCH (RFC 9051 §6.4.4) with ESEARCH (RFC 4731), SAVE (RFC 5182) and MODSEQ (RFC 7162 §3.1.5).
/// Text, header and sent-date keys read the search text the store cached at delivery (`CachedSearchText`), a chunk of
/// messages per store read; the blob is parsed only for a message without a usable cached text.
extension IMAPSession {
    static let searchChunk = 200

    func search(_ command: SearchCommand, uid: Bool, tag: String) async throws -> Completion {
        let usesModSeq = Self.usesModSeq(command.key)
        if usesModSeq { try await enableCondStore() }
        var current = try await loadMessages()
        // RFC 5182 §2.1: a SEARCH … RETURN (SAVE) that fails leaves `$` empty.
        if command.returnOptions?.contains(.save) == true {
            current.view.savedSearchResult = []
            selected = current
        }
        // RFC 6855 §3: after ENABLE UTF8=ACCEPT a charset label conflicts with the session's UTF-8.
        if command.charset != nil, state.utf8AcceptEnabled { throw CommandFailure.bad("no CHARSET after ENABLE UTF8=ACCEPT") }
        if let charset = command.charset, !["UTF-8", "US-ASCII"].contains(charset.uppercased()) {
            throw CommandFailure.no("unsupported charset", code: .badCharset(["UTF-8", "US-ASCII"]))
        }
        let matching = try await matches(command.key, in: current)
        let found = matching.map(\.uid), modSeqs = matching.map(\.modSeq)
        let results = uid ? found : found.compactMap { current.view.sequenceNumber(forUID: $0).map(UInt32.init) }
        let options = command.returnOptions ?? (state.imap4rev2Enabled ? [] : nil)
        guard let options else {
            try await send(.search(results, modSeq: usesModSeq ? modSeqs.max().map(UInt64.init) : nil))
            return .ok("\(uid ? "UID " : "")SEARCH completed")
        }
        if options.contains(.save) {
            current.view.savedSearchResult = found
            selected = current
        }
        if !(options == [.save]) {
            try await send(.esearch(Self.esearch(
                results, modSeqs: usesModSeq ? modSeqs : nil, options: options.filter { $0 != .save }, tag: tag, uid: uid)))
        }
        return .ok("\(uid ? "UID " : "")SEARCH completed")
    }

    /// The messages of the selected mailbox that match `key`, in UID order.
    func matches(_ key: SearchKey, in current: SelectedMailbox) async throws -> [MessageState] {
        let records = current.messages?.messages ?? []
        var matcher = SearchMatcher(view: current.view, largestUID: current.messages?.largestUID ?? 0)
        let needsContent = SearchMatcher.needsContent(key)
        var found: [MessageState] = []
        var cached: [UID: String] = [:]
        for (offset, record) in records.enumerated() {
            guard let number = current.view.sequenceNumber(forUID: record.uid) else { continue }
            var text: CachedText?
            var views: MessageViews?
            if needsContent {
                if offset % Self.searchChunk == 0 {
                    let chunk = records[offset..<min(offset + Self.searchChunk, records.count)].map(\.uid)
                    cached = try await store.searchTexts(in: current.id, uids: chunk)
                }
                text = cached[record.uid].flatMap(CachedText.init)
                if text == nil { views = try await messageViews(uid: record.uid, in: current.id) }
            }
            if matcher.matches(key, record: record, number: number, text: text, views: &views) { found.append(record) }
        }
        return found
    }

    /// A message's views from its blob, for a SEARCH key the cached text cannot answer.
    func messageViews(uid: UID, in mailbox: MailboxID) async throws -> MessageViews? {
        guard let record = try await store.messages(in: mailbox, uids: [uid]).first else { return nil }
        return MessageViews(bytes: try await store.blobs.get(record.blob))
    }

    /// The ESEARCH response (RFC 4731 §3.1) for results in ascending order. With MODSEQ (RFC 4731 §3.2): the modseq of
    /// the MIN and/or MAX message when only those were asked for, otherwise the highest of all found messages.
    static func esearch(_ results: [UInt32], modSeqs: [ModSeq]?, options: [SearchReturnOption], tag: String, uid: Bool) -> ESearchResponse {
        var response = ESearchResponse(tag: tag, uid: uid)
        let all = options.isEmpty || options.contains(.all)
        if options.contains(.min) { response.min = results.first }
        if options.contains(.max) { response.max = results.last }
        if options.contains(.count) { response.count = results.count }
        if all, !results.isEmpty { response.all = SequenceSet(results) }
        if let modSeqs, let first = modSeqs.first, let last = modSeqs.last {
            let onlyMinMax = !all && !options.contains(.count)
            let relevant = onlyMinMax ? (options.contains(.min) ? [first] : []) + (options.contains(.max) ? [last] : []) : modSeqs
            response.modSeq = relevant.max().map(UInt64.init)
        }
        return response
    }
}

/// Evaluates search keys against one message at a time.
struct SearchMatcher {
    let view: SelectedMailboxView
    let largestUID: UInt32
    private var uidSets: [SequenceSet: [ClosedRange<UInt32>]] = [:]
    private var needles: [String: SearchNeedle] = [:]
    /// The message being evaluated: its cached text, or its blob's text once parsed.
    private var cachedText: CachedText?
    private var searchText: SearchText?

    /// The time OLDER and YOUNGER (RFC 5032) measure from, in seconds since 1970: one instant for the whole search.
    let now: Int64

    init(view: SelectedMailboxView, largestUID: UInt32, now: Int64 = Int64(Date().timeIntervalSince1970)) {
        self.view = view
        self.largestUID = max(largestUID, view.uids.last ?? 0)
        self.now = now
    }

    /// Whether any key needs the message's bytes (text, headers, sent date).
    static func needsContent(_ key: SearchKey) -> Bool {
        switch key {
        case .bcc, .body, .cc, .from, .subject, .text, .to, .header, .sentBefore, .sentOn, .sentSince: true
        case .not(let inner): needsContent(inner)
        case .or(let a, let b): needsContent(a) || needsContent(b)
        case .and(let keys): keys.contains(where: needsContent)
        default: false
        }
    }

    /// `cached` is the message's search text when the store had it; otherwise `views` (the blob) provides it.
    mutating func matches(
        _ key: SearchKey, record: MessageRecord, number: Int, cached: SearchText? = nil, views: inout MessageViews?
    ) -> Bool {
        cachedText = nil
        searchText = cached
        return evaluate(key, record: MessageState(record), number: number, views: &views)
    }

    /// As above with the cached text as the store keeps it (`CachedSearchText`), decoded only if a key needs its fields.
    mutating func matches(_ key: SearchKey, record: MessageState, number: Int, text: CachedText?, views: inout MessageViews?) -> Bool {
        cachedText = text
        searchText = nil
        return evaluate(key, record: record, number: number, views: &views)
    }

    private mutating func text(_ views: inout MessageViews?) -> SearchText? {
        if let searchText { return searchText }
        searchText = cachedText?.decoded() ?? views?.searchText()
        return searchText
    }

    private mutating func needle(_ text: String) -> SearchNeedle {
        if let needle = needles[text] { return needle }
        let needle = SearchNeedle(text)
        needles[text] = needle
        return needle
    }

    /// A header key (`name` nil: any field's name or value, as TEXT does for the header part).
    private mutating func headerMatches(_ name: String?, _ s: String, _ views: inout MessageViews?) -> Bool {
        let needle = needle(s)
        if let cachedText, cachedText.isASCII, needle.canPrefilter, !needle.mayBeFound(inCachedASCII: cachedText.headerPart) {
            return false
        }
        guard let searchText = text(&views) else { return false }
        let ascii: Bool? = cachedText?.isASCII == true ? true : nil
        guard let name else {
            return searchText.headerValues.contains { needle.isFound(in: $0, haystackIsASCII: ascii) }
                || searchText.headerNames.contains { needle.isFound(in: $0, haystackIsASCII: ascii) }
        }
        // A needle with a line break may span two fields of the name: keep `SearchText`'s joined form for it.
        if s.utf8.contains(0x0A) { return searchText.headerContains(name, s) }
        return zip(searchText.headerNames, searchText.headerValues).contains { field, value in
            Self.namesEqual(field, name) && needle.isFound(in: value, haystackIsASCII: ascii)
        }
    }

    private mutating func bodyMatches(_ s: String, _ views: inout MessageViews?) -> Bool {
        let needle = needle(s)
        if let cachedText { return needle.isFound(in: cachedText.body, haystackIsASCII: cachedText.isASCII ? true : nil) }
        guard let searchText = text(&views) else { return false }
        return needle.isFound(in: searchText.body)
    }

    static func namesEqual(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { x, y in
            (x >= 0x41 && x <= 0x5A ? x | 0x20 : x) == (y >= 0x41 && y <= 0x5A ? y | 0x20 : y)
        }
    }

    private mutating func evaluate(_ key: SearchKey, record: MessageState, number: Int, views: inout MessageViews?) -> Bool {
        let system = record.flags.system
        let recent = view.flags(uid: record.uid)?.contains(.recent) ?? false
        switch key {
        case .all: return true
        case .answered: return system.contains(.answered)
        case .deleted: return system.contains(.deleted)
        case .draft: return system.contains(.draft)
        case .flagged: return system.contains(.flagged)
        case .seen: return system.contains(.seen)
        case .unanswered: return !system.contains(.answered)
        case .undeleted: return !system.contains(.deleted)
        case .undraft: return !system.contains(.draft)
        case .unflagged: return !system.contains(.flagged)
        case .unseen: return !system.contains(.seen)
        case .new: return recent && !system.contains(.seen)
        case .old: return !recent
        case .recent: return recent
        case .keyword(let flag): return Conversions.flags(record.flags).contains(flag)
        case .unkeyword(let flag): return !Conversions.flags(record.flags).contains(flag)
        case .bcc(let s): return headerMatches("Bcc", s, &views)
        case .cc(let s): return headerMatches("Cc", s, &views)
        case .from(let s): return headerMatches("From", s, &views)
        case .to(let s): return headerMatches("To", s, &views)
        case .subject(let s): return headerMatches("Subject", s, &views)
        case .body(let s): return bodyMatches(s, &views)
        case .text(let s): return bodyMatches(s, &views) || headerMatches(nil, s, &views)
        case .header(let name, let s):
            if s.isEmpty {
                guard let searchText = text(&views) else { return false }
                return searchText.headerNames.contains { $0.lowercased() == name.lowercased() }
            }
            return headerMatches(name, s, &views)
        case .before(let date): return Self.compare(Conversions.dayNumber(record.internalDate), date) { $0 < $1 }
        case .on(let date): return Self.compare(Conversions.dayNumber(record.internalDate), date) { $0 == $1 }
        case .since(let date): return Self.compare(Conversions.dayNumber(record.internalDate), date) { $0 >= $1 }
        case .sentBefore(let date): return Self.compare(sentDay(record, &views), date) { $0 < $1 }
        case .sentOn(let date): return Self.compare(sentDay(record, &views), date) { $0 == $1 }
        case .sentSince(let date): return Self.compare(sentDay(record, &views), date) { $0 >= $1 }
        case .larger(let size): return UInt64(record.size) > size
        case .older(let seconds): return record.internalDate.secondsSince1970 < now - Int64(seconds)
        case .younger(let seconds): return record.internalDate.secondsSince1970 >= now - Int64(seconds)
        case .smaller(let size): return UInt64(record.size) < size
        case .modSeq(let value): return UInt64(record.modSeq) >= value
        case .uid(let set):
            return ranges(set, largest: largestUID).contains { $0.contains(record.uid) }
        case .sequenceNumbers(let set):
            if set == .lastCommand { return view.savedSearchResult.contains(record.uid) }
            return set.resolved(largest: UInt32(view.count)).contains { $0.contains(UInt32(number)) }
        case .not(let inner): return !evaluate(inner, record: record, number: number, views: &views)
        case .or(let a, let b):
            return evaluate(a, record: record, number: number, views: &views) || evaluate(b, record: record, number: number, views: &views)
        case .and(let keys):
            for key in keys where !evaluate(key, record: record, number: number, views: &views) { return false }
            return true
        }
    }

    private mutating func ranges(_ set: SequenceSet, largest: UInt32) -> [ClosedRange<UInt32>] {
        if set == .lastCommand { return view.savedSearchResult.map { $0...$0 } }
        if let cached = uidSets[set] { return cached }
        let resolved = set.resolved(largest: largest)
        uidSets[set] = resolved
        return resolved
    }

    /// The Date header's calendar day in its own zone; the internal date when there is no usable Date header.
    private mutating func sentDay(_ record: MessageState, _ views: inout MessageViews?) -> Int {
        let raw: [UInt8]?
        if views == nil, let text = text(&views) {
            raw = text.headerNames.firstIndex { $0.lowercased() == "date" }.map { Array(text.headerValues[$0].utf8) }
        } else {
            raw = views?.headerValue("Date")
        }
        if let raw, let date = MessageDate(rfc5322Bytes: raw) { return date.localDayNumber }
        return Conversions.dayNumber(record.internalDate)
    }

    private static func compare(_ day: Int, _ date: IMAPDate, _ predicate: (Int, Int) -> Bool) -> Bool {
        guard let other = Conversions.dayNumber(date) else { return false }
        return predicate(day, other)
    }
}
