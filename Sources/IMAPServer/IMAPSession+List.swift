import IMAPProtocol
import MailStore

/// LIST (RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE) and LSUB (RFC 3501 §6.3.9).
extension IMAPSession {
    /// One name the listing may show: an existing mailbox, a subscription, or a parent implied by a deeper name.
    struct ListEntry {
        var name: String
        var info: MailboxInfo?
        var subscribed: Bool
        var hasChildren: Bool
        var hasSubscribedChild: Bool
    }

    func listEntries() async throws -> [String: ListEntry] {
        let account = try accountID()
        let mailboxes = try await store.mailboxes(of: account)
        let subscriptions = Set(try await store.subscriptions(of: account))
        var entries: [String: ListEntry] = [:]
        for info in mailboxes {
            entries[info.name] = ListEntry(
                name: info.name, info: info, subscribed: subscriptions.contains(info.name), hasChildren: false, hasSubscribedChild: false)
        }
        for name in subscriptions where entries[name] == nil {
            entries[name] = ListEntry(name: name, info: nil, subscribed: true, hasChildren: false, hasSubscribedChild: false)
        }
        // Mark parents, creating implied (non-existent) ones.
        for entry in Array(entries.values) {
            let components = entry.name.split(separator: "/", omittingEmptySubsequences: false)
            guard components.count > 1 else { continue }
            for depth in 1..<components.count {
                let parent = components[0..<depth].joined(separator: "/")
                var parentEntry = entries[parent]
                    ?? ListEntry(name: parent, info: nil, subscribed: false, hasChildren: false, hasSubscribedChild: false)
                if entry.info != nil { parentEntry.hasChildren = true }
                if entry.subscribed { parentEntry.hasSubscribedChild = true }
                entries[parent] = parentEntry
            }
        }
        return entries
    }

    func list(_ command: ListCommand) async throws -> Completion {
        // LIST "" "": the hierarchy delimiter and root (RFC 9051 §6.3.9).
        if command.patterns == [""], command.selectionOptions.isEmpty {
            try await send(.list(MailboxListItem(attributes: ["\\Noselect"], name: MailboxName(command.reference))))
            return .ok("LIST completed")
        }
        let selectSubscribed = command.selectionOptions.contains(.subscribed)
        let selectSpecialUse = command.selectionOptions.contains(.specialUse)
        let recursiveMatch = command.selectionOptions.contains(.recursiveMatch)
        var returnSubscribed = selectSubscribed
        var returnStatus: [StatusAttribute]?
        for option in command.returnOptions {
            switch option {
            case .subscribed: returnSubscribed = true
            case .status(let attributes): returnStatus = attributes
            case .children, .specialUse, .other: break
            }
        }
        let patterns = command.mailboxPatterns
        let entries = try await listEntries()
        for entry in entries.values.sorted(by: { Self.listOrder($0.name, $1.name) }) {
            let name = MailboxName(entry.name)
            guard patterns.contains(where: { $0.matches(name) }) else { continue }
            // RFC 5258 §3.5: with RECURSIVEMATCH, a mailbox with a subscribed descendant says so in CHILDINFO, whether or
            // not it is subscribed itself or exists (its table: "() + CHILDINFO", "(\NonExistent) + CHILDINFO").
            var childInfo: [String] = []
            if selectSubscribed, recursiveMatch, entry.hasSubscribedChild { childInfo = ["SUBSCRIBED"] }
            if selectSubscribed, !entry.subscribed, childInfo.isEmpty { continue }
            if selectSpecialUse, entry.info?.specialUse == nil { continue }
            if entry.info == nil, !entry.subscribed, !entry.hasChildren, childInfo.isEmpty { continue }
            var attributes: [String] = []
            if entry.info == nil {
                attributes.append(selectSubscribed || entry.subscribed ? "\\NonExistent" : "\\Noselect")
            }
            attributes.append(entry.hasChildren ? "\\HasChildren" : "\\HasNoChildren")
            if returnSubscribed, entry.subscribed { attributes.append("\\Subscribed") }
            if let use = entry.info?.specialUse { attributes.append(use.rawValue) }
            // A level only implied by a deeper name is shown when a pattern ending in "%" matches it (RFC 3501 §6.3.8).
            if entry.info == nil, !entry.subscribed, !selectSubscribed,
               !patterns.contains(where: { $0.pattern.hasSuffix("%") && $0.matches(name) }) {
                continue
            }
            try await send(.list(MailboxListItem(attributes: attributes, name: name, childInfo: childInfo)))
            if let returnStatus, let info = entry.info {
                try await send(.mailboxStatus(name, try await statusValues(of: info, returnStatus)))
            }
        }
        return .ok("LIST completed")
    }

    /// RFC 3501 §6.3.9: subscribed names matching the pattern, and — when "%" would stop above a subscribed name — its
    /// unsubscribed parent, with \Noselect ("news/comp/mail" for a subscribed "news/comp/mail/misc" and `news/comp/%`).
    /// A subscribed name that does not exist is \Noselect too.
    func lsub(reference: String, pattern: String) async throws -> Completion {
        let matcher = MailboxPattern(reference: reference, pattern: pattern)
        let entries = try await listEntries()
        let candidates = entries.values.filter { $0.subscribed || $0.hasSubscribedChild }
        for entry in candidates.sorted(by: { Self.listOrder($0.name, $1.name) }) {
            let name = MailboxName(entry.name)
            guard matcher.matches(name) else { continue }
            if !entry.subscribed, !matcher.pattern.hasSuffix("%") { continue }
            let selectable = entry.subscribed && entry.info != nil
            try await send(.lsub(MailboxListItem(attributes: selectable ? [] : ["\\Noselect"], name: name)))
        }
        return .ok("LSUB completed")
    }

    /// INBOX first, then by name.
    static func listOrder(_ lhs: String, _ rhs: String) -> Bool {
        if lhs == "INBOX" || rhs == "INBOX" { return lhs == "INBOX" && rhs != "INBOX" }
        return lhs < rhs
    }
}
