import IMAPProtocol
import MailStore
import NIOCore

/// Commands on the selected mailbox's messages (RFC 9051 §6.4): FETCH, STORE, COPY, MOVE (RFC 6851), EXPUNGE,
/// UID EXPUNGE (RFC 4315).
extension IMAPSession {
    func requireSelected() throws(CommandFailure) -> SelectedMailbox {
        guard let selected else { throw .bad("no mailbox selected") }
        return selected
    }

    /// The UIDs a set names, in the client's view (ghosts of expunged messages included).
    func resolve(_ set: SequenceSet, uid: Bool) throws(CommandFailure) -> [UInt32] {
        let current = try requireSelected()
        do {
            return try current.view.resolve(set, isUID: uid)
        } catch {
            throw .bad("invalid message sequence number")
        }
    }

    // MARK: FETCH (§6.4.5)

    func fetch(
        _ set: SequenceSet, _ requested: [FetchAttribute], modifiers: FetchModifiers = FetchModifiers(), uid: Bool
    ) async throws -> Completion {
        // RFC 7162 §3.2.6: VANISHED only with UID FETCH, once QRESYNC is enabled.
        if modifiers.vanished, !uid || !state.qresyncEnabled { throw CommandFailure.bad("VANISHED needs UID FETCH and ENABLE QRESYNC") }
        if modifiers.changedSince != nil || requested.contains(.modSeq) { try await enableCondStore() }
        var current = try await loadMessages()
        let uids = try resolve(set, uid: uid)
        var attributes = requested
        if uid, !attributes.contains(.uid) { attributes.insert(.uid, at: 0) }
        // CHANGEDSINCE implies MODSEQ; once CONDSTORE is on, FLAGS always travel with MODSEQ (RFC 7162 §3.1.4.1).
        if modifiers.changedSince != nil || (state.condStoreEnabled && attributes.contains(.flags)), !attributes.contains(.modSeq) {
            attributes.append(.modSeq)
        }
        if let since = modifiers.changedSince, modifiers.vanished { try await reportVanished(in: set, since: since) }
        var messages = current.messages?.messages(for: uids) ?? []
        if let since = modifiers.changedSince { messages.removeAll { UInt64($0.modSeq) <= since } }
        // Fetching a body section without PEEK sets \Seen (RFC 9051 §6.4.5); the FETCH then includes FLAGS.
        if !current.readOnly, attributes.contains(where: \.setsSeen) {
            let unseen = messages.filter { !$0.flags.system.contains(.seen) }.map(\.uid)
            if !unseen.isEmpty {
                let (changed, _) = try await store.setFlags(
                    MessageFlags(system: .seen), operation: .add, uids: unseen, in: current.id, unchangedSince: nil)
                current.messages?.update(changed)
                let updated = Dictionary(changed.map { ($0.uid, MessageState($0)) }, uniquingKeysWith: { $1 })
                messages = messages.map { updated[$0.uid] ?? $0 }
                if !attributes.contains(.flags) { attributes.append(.flags) }
                if state.condStoreEnabled, !attributes.contains(.modSeq) { attributes.append(.modSeq) }
            }
        }
        let content = FetchContent(attributes)
        // The blob ids of the messages whose bytes are needed: one store read for the whole set.
        var blobs: [UID: BlobID] = [:]
        if content.mayNeedBytes, !messages.isEmpty {
            for record in try await store.messages(in: current.id, uids: messages.map(\.uid)) { blobs[record.uid] = record.blob }
        }
        for message in messages {
            guard let number = current.view.sequenceNumber(forUID: message.uid) else { continue }
            var views: MessageViews?
            if content.mayNeedBytes {
                guard let blob = blobs[message.uid] else { continue }  // expunged meanwhile: like a ghost
                var summary = MessageSummary()
                if content.needsSummary, let cached = try await store.summary(in: current.id, uid: message.uid) { summary = cached }
                let bytes = content.needsBytes(given: summary) ? try await store.blobs.get(blob) : []
                views = MessageViews(bytes: bytes, summary: summary)
            }
            var items: [FetchResponseItem] = []
            var announcements: [UntaggedResponse] = []
            for attribute in attributes {
                if let item = try fetchItem(attribute, message: message, views: &views, view: &current.view, announcements: &announcements) {
                    items.append(item)
                }
            }
            for response in announcements { try await send(response) }
            try await send(.fetch(number, items))
        }
        selected = current
        return .ok("\(uid ? "UID " : "")FETCH completed")
    }

    /// Which stored data the requested attributes need beyond the cached message: its summary (ENVELOPE, BODY,
    /// BODYSTRUCTURE) and its bytes (sections, or a summary view the store did not cache).
    struct FetchContent {
        var needsSummary = false
        var needsEnvelope = false, needsBody = false, needsBodyStructure = false
        /// A requested attribute is read from the message's bytes whatever the summary holds.
        var needsBytesAlways = false

        init(_ attributes: [FetchAttribute]) {
            for attribute in attributes {
                switch attribute {
                case .flags, .uid, .internalDate, .rfc822Size, .modSeq: break
                case .envelope: needsEnvelope = true
                case .body: needsBody = true
                case .bodyStructure: needsBodyStructure = true
                default: needsBytesAlways = true
                }
            }
            needsSummary = needsEnvelope || needsBody || needsBodyStructure
        }

        var mayNeedBytes: Bool { needsSummary || needsBytesAlways }

        func needsBytes(given summary: MessageSummary) -> Bool {
            needsBytesAlways || (needsEnvelope && summary.envelope.isEmpty) || (needsBody && summary.body.isEmpty)
                || (needsBodyStructure && summary.bodyStructure.isEmpty)
        }
    }

    private func fetchItem(
        _ attribute: FetchAttribute, message: MessageState, views: inout MessageViews?, view: inout SelectedMailboxView,
        announcements: inout [UntaggedResponse]
    ) throws(CommandFailure) -> FetchResponseItem? {
        switch attribute {
        case .uid:
            return .uid(message.uid)
        case .preview:
            return .preview(Self.preview(views!.searchText().body))
        case .modSeq:
            return .modSeq(UInt64(message.modSeq))
        case .flags:
            let flags = Conversions.flags(message.flags)
            view.noteFlagsSent(uid: message.uid, flags: flags)
            announcements += view.keywordAnnouncement(for: flags)
            return .flags(Self.ordered(view.flags(uid: message.uid) ?? flags))
        case .internalDate:
            return .internalDate(Conversions.dateTime(message.internalDate))
        case .rfc822Size:
            return .rfc822Size(UInt64(message.size))
        case .envelope:
            return .envelope(ByteBuffer(bytes: views!.envelope()))
        case .body:
            return .body(ByteBuffer(bytes: views!.body()))
        case .bodyStructure:
            return .bodyStructure(ByteBuffer(bytes: views!.bodyStructure()))
        case .bodySection(let section, let partial, _):
            let data = views!.section(section).map { MessageViews.apply(partial, to: $0) }
            return .bodySection(section, origin: partial?.offset, data: ByteBuffer(bytes: data ?? []))
        case .binary(let part, let partial, _):
            guard views!.isBinaryDecodable(part) else { throw .no("unknown content-transfer-encoding", code: .unknownCTE) }
            let data = views!.binary(part).map { MessageViews.apply(partial, to: $0) }
            return .binary(part: part, origin: partial?.offset, data: data.map { ByteBuffer(bytes: $0) })
        case .binarySize(let part):
            guard views!.isBinaryDecodable(part) else { throw .no("unknown content-transfer-encoding", code: .unknownCTE) }
            return .binarySize(part: part, size: UInt64(views!.binary(part)?.count ?? 0))
        case .rfc822:
            return .rfc822(ByteBuffer(bytes: views!.bytes))
        case .rfc822Header:
            return .rfc822Header(ByteBuffer(bytes: views!.section(SectionSpecifier(kind: .header)) ?? []))
        case .rfc822Text:
            return .rfc822Text(ByteBuffer(bytes: views!.section(SectionSpecifier(kind: .text)) ?? []))
        }
    }

    /// RFC 8970 §4: at most 256 characters of the message's text — the decoded text parts, whitespace runs made one
    /// space, cut at a character boundary; "" when the message has no text.
    static func preview(_ text: String) -> String {
        var out = ""
        var length = 0
        var pendingSpace = false
        for character in text {
            if character.isWhitespace {
                pendingSpace = length > 0
                continue
            }
            if length + (pendingSpace ? 1 : 0) >= 256 { break }
            if pendingSpace { out.append(" "); length += 1 }
            pendingSpace = false
            out.append(character)
            length += 1
        }
        return out
    }

    /// System flags first, then keywords: the order `SelectedMailboxView` uses.
    static func ordered(_ flags: Set<Flag>) -> [Flag] {
        var result: [Flag] = []
        result.reserveCapacity(flags.count)
        for flag in orderedSystemFlags where flags.contains(flag) { result.append(flag) }
        guard result.count < flags.count else { return result }  // system flags only: the usual case
        let keywords = flags.filter { !orderedSystemFlags.contains($0) }
        return result + keywords.sorted { $0.rawValue.lowercased() < $1.rawValue.lowercased() }
    }

    private static let orderedSystemFlags: [Flag] = [.answered, .flagged, .deleted, .seen, .draft, .recent]

    // MARK: STORE (§6.4.6)

    func storeFlags(_ set: SequenceSet, _ storeFlags: StoreFlags, uid: Bool) async throws -> Completion {
        if storeFlags.unchangedSince != nil { try await enableCondStore() }
        var current = try await loadMessages()
        let uids = try resolve(set, uid: uid).filter { !current.view.isExpungePending(uid: $0) }
        let operation: FlagOperation = switch storeFlags.operation {
        case .replace: .replace
        case .add: .add
        case .remove: .remove
        }
        let (changed, failed) = try await store.setFlags(
            Conversions.messageFlags(storeFlags.flags), operation: operation, uids: uids, in: current.id,
            unchangedSince: storeFlags.unchangedSince.map { ModSeq($0) })
        current.messages?.update(changed)
        let refused = Set(failed)
        let changedUIDs = Set(changed.map(\.uid))
        // The flags as they are now: this STORE's changes are in the cache; the rest was synchronised just before.
        for message in current.messages?.messages(for: uids.filter { !refused.contains($0) }) ?? [] {
            let flags = Conversions.flags(message.flags)
            current.view.noteFlagsSent(uid: message.uid, flags: flags)
            // A keyword new to the mailbox is announced even after .SILENT: the client's flag list is then complete.
            for response in current.view.keywordAnnouncement(for: flags) { try await send(response) }
            // RFC 7162 §3.1.3: with UNCHANGEDSINCE, a changed message is reported even after .SILENT, with its MODSEQ.
            let mustReport = storeFlags.unchangedSince != nil && changedUIDs.contains(message.uid)
            guard !storeFlags.silent || mustReport, let number = current.view.sequenceNumber(forUID: message.uid) else { continue }
            var items: [FetchResponseItem] = [.flags(Self.ordered(current.view.flags(uid: message.uid) ?? flags))]
            if uid { items.insert(.uid(message.uid), at: 0) }
            if state.condStoreEnabled { items.append(.modSeq(UInt64(message.modSeq))) }
            try await send(.fetch(number, items))
        }
        selected = current
        guard failed.isEmpty else {
            // MODIFIED names message numbers for STORE, UIDs for UID STORE.
            let names = uid ? failed : failed.compactMap { current.view.sequenceNumber(forUID: $0).map(UInt32.init) }
            return .ok("conditional \(uid ? "UID " : "")STORE failed for some messages", code: .modified(SequenceSet(names.sorted())))
        }
        return .ok("\(uid ? "UID " : "")STORE completed")
    }

    // MARK: COPY / MOVE (§6.4.7, RFC 6851, RFC 4315 COPYUID)

    func copy(_ set: SequenceSet, to name: MailboxName, uid: Bool, move: Bool) async throws -> Completion {
        let current = try requireSelected()
        let uids = try resolve(set, uid: uid).filter { !current.view.isExpungePending(uid: $0) }
        guard let destination = try await mailbox(named: name) else {
            throw CommandFailure.no("no such mailbox", code: .tryCreate)
        }
        let verb = (uid ? "UID " : "") + (move ? "MOVE" : "COPY")
        guard !uids.isEmpty else { return .ok("\(verb) completed, nothing to do") }
        if !move || destination.account != current.info.account {
            // A move within the account leaves its usage as it was; a copy adds every message again.
            let sizes = try await loadMessages().messages?.messages(for: uids).reduce(Int64(0)) { $0 + Int64($1.size) } ?? 0
            try await requireRoom(for: sizes)
        }
        let mapping: UIDMapping
        if move {
            mapping = try await store.move(uids: uids, from: current.id, to: destination.id)
        } else {
            mapping = try await store.copy(uids: uids, from: current.id, to: destination.id)
        }
        let code = ResponseCode.copyUID(
            uidValidity: mapping.uidValidity, source: SequenceSet(mapping.source), destination: SequenceSet(mapping.destination))
        if move {
            // RFC 6851 §4.3: COPYUID goes in an untagged OK before the EXPUNGEs.
            try await send(.status(.ok, code: code, text: "moved"))
            return .ok("\(verb) completed")
        }
        return .ok("\(verb) completed", code: code)
    }

    // MARK: QUOTA (RFC 9208)

    /// The one quota root of an account: every mailbox of it shares the account's storage quota.
    static let quotaRoot = ""

    /// The account's quota in octets (its own, else `defaultQuota`; 0 is unlimited), read afresh.
    func currentQuota() async throws -> Int64 {
        guard let account else { return 0 }
        let current = try await authenticator.directory.account(id: account.id) ?? account
        return current.quota ?? configuration.defaultQuota
    }

    /// `* QUOTA "" (STORAGE used limit)` in units of 1024 octets, rounded up; nil when the account has no quota.
    func quotaResponse() async throws -> UntaggedResponse? {
        guard let account else { return nil }
        let quota = try await currentQuota()
        guard quota > 0 else { return nil }
        let used = try await store.usage(of: account.id)
        return .quota(root: Self.quotaRoot, [
            QuotaResource(resource: "STORAGE", usage: UInt64((used + 1023) / 1024), limit: UInt64((quota + 1023) / 1024)),
        ])
    }

    func getQuota(root: String) async throws -> Completion {
        guard root == Self.quotaRoot, let response = try await quotaResponse() else {
            throw CommandFailure.no("no such quota root", code: .nonexistent)
        }
        try await send(response)
        return .ok("GETQUOTA completed")
    }

    func getQuotaRoot(_ name: MailboxName) async throws -> Completion {
        guard try await mailbox(named: name) != nil else { throw CommandFailure.no("no such mailbox", code: .nonexistent) }
        let response = try await quotaResponse()
        try await send(.quotaRoot(name, roots: response == nil ? [] : [Self.quotaRoot]))
        if let response { try await send(response) }
        return .ok("GETQUOTAROOT completed")
    }

    /// RFC 9208 §4.3 (and RFC 5530): an APPEND, COPY or MOVE that would take the account over its storage quota fails
    /// with NO [OVERQUOTA] before anything is stored. The quota is read afresh (an admin may have changed it); the
    /// account's own quota, else `defaultQuota`; 0 is unlimited.
    func requireRoom(for octets: Int64) async throws {
        guard let account, octets > 0 else { return }
        let quota = try await currentQuota()
        guard quota > 0 else { return }
        let used = try await store.usage(of: account.id)
        if used + octets > quota {
            throw CommandFailure.no("quota exceeded (\(used) of \(quota) octets used)", code: .overQuota)
        }
    }

    // MARK: EXPUNGE (§6.4.3), UID EXPUNGE (RFC 4315)

    func expunge(uids set: SequenceSet?) async throws -> Completion {
        let current = try requireSelected()
        var uids: [UID]?
        if let set { uids = try resolve(set, uid: true) }
        let expunged = try await store.expunge(in: current.id, uids: uids)
        current.signal.raise()  // announce our own expunges now, not after the feed's round trip
        var completion = Completion.ok("\(set == nil ? "" : "UID ")EXPUNGE completed")
        completion.reportsHighestModSeq = !expunged.isEmpty && state.qresyncEnabled
        return completion
    }
}
