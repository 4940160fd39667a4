import Foundation
import IMAPProtocol
import MailStore
import NIOCore
import ServerCore

/// Commands on mailboxes (RFC 9051 §6.3): SELECT/EXAMINE, CREATE, DELETE, RENAME, STATUS, APPEND, IDLE, CLOSE/UNSELECT.
/// LIST and LSUB are in IMAPSession+List.swift.
extension IMAPSession {
    func mailbox(named name: MailboxName) async throws -> MailboxInfo? {
        try await store.mailbox(of: try accountID(), named: name.name)
    }

    // MARK: SELECT / EXAMINE (§6.3.2, §6.3.3)

    func select(_ name: MailboxName, readOnly: Bool, parameters: [SelectParameter] = []) async throws -> Completion {
        // RFC 7162 §3.2.5: QRESYNC needs ENABLE QRESYNC first; CONDSTORE and QRESYNC are CONDSTORE-enabling.
        let qresync = parameters.lazy.compactMap(\.qresync).first
        if qresync != nil, !state.qresyncEnabled { throw CommandFailure.bad("QRESYNC is not enabled") }
        if let unknown = parameters.first(where: { $0.qresync == nil && $0.name != "CONDSTORE" }) {
            throw CommandFailure.bad("unknown SELECT parameter \(unknown.name)")
        }
        if let previous = selected {
            previous.close()
            selected = nil
            state.unselected()
            try await send(.status(.ok, code: .closed, text: "previous mailbox closed"))
        }
        guard !name.isUndecodable, let info = try await mailbox(named: name) else {
            throw CommandFailure.no("no such mailbox", code: .nonexistent)
        }
        let (subscription, signal) = SelectedMailbox.subscribe(to: info.id, feed: store.changes, waker: connection.waker)
        let snapshot = try await mailboxStates.selectSnapshot(of: info)
        let states = snapshot.states.states
        // \Recent (RFC 3501 §6.3.2): SELECT claims the recent messages; EXAMINE reports them and leaves them recent.
        let recent = Set(readOnly ? try await store.recentUIDs(in: info.id) : try await store.claimRecent(in: info.id))
        var view = SelectedMailboxView(uidValidity: info.uidValidity, seed: snapshot.seed, recent: recent, reportsRecent: !state.imap4rev2Enabled)
        let modSeq = snapshot.states.highestModSeq
        if !parameters.isEmpty { state.enableCondStore() }
        view.reportsModSeq = state.condStoreEnabled
        view.reportsVanished = state.qresyncEnabled
        view.isReadOnly = readOnly
        view.noteKeywordsAnnounced(snapshot.keywords)
        let current = SelectedMailbox(
            info: info, view: view, messages: MessageCache(ascending: states), readOnly: readOnly, modSeq: modSeq, subscription: subscription,
            signal: signal)
        signal.raise()  // catch anything committed between the mailbox lookup and the snapshot
        selected = current
        state.selected(name, readOnly: readOnly)

        let flags = Self.systemFlags + snapshot.keywords
        try await send(.flags(flags))
        try await send(.status(.ok, code: .permanentFlags(readOnly ? [] : flags, allowsNewKeywords: !readOnly),
                               text: readOnly ? "no permanent flags permitted" : "flags permitted"))
        for response in view.selectResponses { try await send(response) }
        if view.reportsRecent, let firstUnseen = snapshot.firstUnseen {
            try await send(.status(.ok, code: .unseen(UInt32(firstUnseen)), text: "first unseen"))
        }
        try await send(.status(.ok, code: .uidValidity(info.uidValidity), text: "UIDs valid"))
        try await send(.status(.ok, code: .uidNext(info.uidNext), text: "predicted next UID"))
        if state.condStoreEnabled { try await send(.status(.ok, code: .highestModSeq(UInt64(modSeq)), text: "highest modseq")) }
        if state.imap4rev2Enabled {
            try await send(.list(MailboxListItem(attributes: [], name: MailboxName(info.name))))
        }
        if let qresync, qresync.uidValidity == info.uidValidity {
            try await resynchronize(qresync, states: states, view: view)
        }
        return .ok("\(readOnly ? "EXAMINE" : "SELECT") completed", code: readOnly ? .readOnly : .readWrite)
    }

    static let systemFlags: [Flag] = [.answered, .flagged, .deleted, .seen, .draft]

    // MARK: CLOSE / UNSELECT (§6.4.2, RFC 3691)

    func close(expunging: Bool) async throws -> Completion {
        guard let current = selected else { throw CommandFailure.bad("no mailbox selected") }
        if expunging, !current.readOnly { _ = try await store.expunge(in: current.id, uids: nil) }
        current.close()
        selected = nil
        state.unselected()
        return .ok(expunging ? "CLOSE completed" : "UNSELECT completed")
    }

    // MARK: CREATE / DELETE / RENAME (§6.3.4–6.3.6)

    func create(_ name: MailboxName, specialUse: [String]) async throws -> Completion {
        var text = name.name
        while text.hasSuffix("/") { text.removeLast() }
        guard !text.isEmpty, !text.contains("//") else { throw CommandFailure.no("invalid mailbox name", code: .cannot) }
        let normalized = MailboxName(text)
        if normalized.isInbox { throw CommandFailure.no("INBOX already exists", code: .alreadyExists) }
        var use: SpecialUse?
        for attribute in specialUse {
            guard let found = Conversions.specialUse(attribute), use == nil else {
                throw CommandFailure.no("unsupported special-use attribute", code: .other("USEATTR", nil))
            }
            use = found
        }
        let account = try accountID()
        // RFC 9051 §6.3.4: create the superior hierarchy names that do not exist.
        let components = normalized.components
        for depth in 1..<max(components.count, 1) {
            let parent = components[0..<depth].joined(separator: "/")
            if try await store.mailbox(of: account, named: parent) == nil {
                _ = try? await store.createMailbox(of: account, named: parent, specialUse: nil)
            }
        }
        _ = try await store.createMailbox(of: account, named: normalized.name, specialUse: use)
        return .ok("CREATE completed")
    }

    func delete(_ name: MailboxName) async throws -> Completion {
        if name.isInbox { throw CommandFailure.no("INBOX cannot be deleted", code: .cannot) }
        guard try await mailbox(named: name) != nil else { throw CommandFailure.no("no such mailbox", code: .nonexistent) }
        if let current = selected, current.info.name == name.name {
            current.close()
            selected = nil
            state.unselected()
        }
        try await store.deleteMailbox(of: try accountID(), named: name.name)
        return .ok("DELETE completed")
    }

    func rename(from: MailboxName, to: MailboxName) async throws -> Completion {
        guard try await mailbox(named: from) != nil else { throw CommandFailure.no("no such mailbox", code: .nonexistent) }
        if try await mailbox(named: to) != nil { throw CommandFailure.no("target mailbox exists", code: .alreadyExists) }
        var target = to.name
        while target.hasSuffix("/") { target.removeLast() }
        guard !target.isEmpty else { throw CommandFailure.no("invalid mailbox name", code: .cannot) }
        let account = try accountID()
        let components = MailboxName(target).components
        for depth in 1..<max(components.count, 1) {
            let parent = components[0..<depth].joined(separator: "/")
            if try await store.mailbox(of: account, named: parent) == nil {
                _ = try? await store.createMailbox(of: account, named: parent, specialUse: nil)
            }
        }
        try await store.renameMailbox(of: account, from: from.name, to: target)
        return .ok("RENAME completed")
    }

    // MARK: STATUS (§6.3.11, RFC 8438)

    func status(_ name: MailboxName, _ attributes: [StatusAttribute]) async throws -> Completion {
        if attributes.contains(.highestModSeq) { try await enableCondStore() }
        guard let info = try await mailbox(named: name) else { throw CommandFailure.no("no such mailbox", code: .nonexistent) }
        try await send(.mailboxStatus(name, try await statusValues(of: info, attributes)))
        return .ok("STATUS completed")
    }

    func statusValues(of info: MailboxInfo, _ attributes: [StatusAttribute]) async throws -> [StatusValue] {
        let status = try await store.status(of: info.id)
        return attributes.map { attribute in
            switch attribute {
            case .messages: StatusValue(.messages, UInt64(status.messages))
            case .uidNext: StatusValue(.uidNext, UInt64(status.uidNext))
            case .uidValidity: StatusValue(.uidValidity, UInt64(status.uidValidity))
            case .unseen: StatusValue(.unseen, UInt64(status.unseen))
            case .deleted: StatusValue(.deleted, UInt64(status.deleted))
            case .size: StatusValue(.size, UInt64(max(0, status.size)))
            case .recent: StatusValue(.recent, UInt64(status.recent))
            case .highestModSeq: StatusValue(.highestModSeq, UInt64(status.highestModSeq))
            }
        }
    }

    // MARK: APPEND (§6.3.12, RFC 3502 MULTIAPPEND, RFC 4315 APPENDUID)

    func append(to name: MailboxName, _ messages: [AppendMessage]) async throws -> Completion {
        guard let info = try await mailbox(named: name) else {
            throw CommandFailure.no("no such mailbox", code: .tryCreate)
        }
        var new: [NewMessage] = []
        for message in messages {
            guard message.data.readableBytes <= configuration.appendLimit else {
                throw CommandFailure.no("message too large", code: .tooBig)
            }
        }
        try await requireRoom(for: messages.reduce(0) { $0 + Int64($1.data.readableBytes) })
        for message in messages {
            let bytes = Array(buffer: message.data)
            let date: InternalDate
            if let given = message.internalDate {
                guard let converted = Conversions.internalDate(given) else { throw CommandFailure.bad("invalid date-time") }
                date = converted
            } else {
                date = InternalDate(secondsSince1970: Int64(Date().timeIntervalSince1970))
            }
            let blob = try await store.blobs.put(bytes)
            new.append(NewMessage(
                blob: blob, size: bytes.count, internalDate: date, flags: Conversions.messageFlags(message.flags),
                summary: MessageViews.summary(of: bytes)))
        }
        let mapping = try await store.append(new, to: info.id)
        return .ok("APPEND completed", code: .appendUID(uidValidity: mapping.uidValidity, uids: SequenceSet(mapping.destination)))
    }

    // MARK: IDLE (RFC 2177)

    func idle() async throws -> Completion {
        if selected?.messages != nil {
            selected?.messages = nil  // an idle session keeps no copy of its mailbox; the next command reads it again
            HeapTrimmer.shared.requestTrim()  // and the freed copy goes back to the kernel, not only to malloc
        }
        try await send(.continuation("idling"))
        try await connection.flush()
        let previousTimeout = connection.idleTimeout
        connection.idleTimeout = configuration.idleTimeout
        defer { connection.idleTimeout = previousTimeout }
        while true {
            try await announceUpdates(expungesAllowed: true)
            try await connection.flush()
            switch try await connection.readLineOrWakeUp() {
            case .line(let line):
                guard line.text.uppercased() == "DONE" else { throw CommandFailure.bad("expected DONE") }
                return .ok("IDLE terminated")
            case .wokenUp:
                continue
            case .shutdownRequested:
                try await send(.status(.bye, text: shutdownReason))
                closing = true
                return .ok("IDLE terminated")
            }
        }
    }
}
