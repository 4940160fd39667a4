import NIOCore

/// Writes `IMAPCommand`s as client bytes — for test clients and for round-trip tests of the parser. Literals are written
/// non-synchronizing (`{n+}`, RFC 7888) so one buffer holds the whole command.
public struct IMAPCommandEncoder: Sendable {
    public var utf8Enabled: Bool

    public init(utf8Enabled: Bool = false) { self.utf8Enabled = utf8Enabled }

    public func encode(tag: String, _ command: IMAPCommand) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString(tag + " ")
        write(command, into: &buffer)
        buffer.writeString("\r\n")
        return buffer
    }

    func write(_ command: IMAPCommand, into buffer: inout ByteBuffer) {
        switch command {
        case .capability: buffer.writeString("CAPABILITY")
        case .noop: buffer.writeString("NOOP")
        case .logout: buffer.writeString("LOGOUT")
        case .startTLS: buffer.writeString("STARTTLS")
        case .namespace: buffer.writeString("NAMESPACE")
        case .sort(let criteria, let charset, let key, let uid):
            buffer.writeString(uid ? "UID SORT (" : "SORT (")
            buffer.writeString(criteria.map { ($0.reverse ? "REVERSE " : "") + $0.key.rawValue }.joined(separator: " "))
            buffer.writeString(") \(charset) ")
            writeSearchKeys(key, into: &buffer)
        case .thread(let algorithm, let charset, let key, let uid):
            buffer.writeString(uid ? "UID THREAD " : "THREAD ")
            buffer.writeString("\(algorithm.rawValue) \(charset) ")
            writeSearchKeys(key, into: &buffer)
        case .getQuota(let root):
            buffer.writeString("GETQUOTA ")
            writeString(root, into: &buffer)
        case .getQuotaRoot(let mailbox):
            buffer.writeString("GETQUOTAROOT ")
            writeMailbox(mailbox, into: &buffer)
        case .setQuota(let root, let limits):
            buffer.writeString("SETQUOTA ")
            writeString(root, into: &buffer)
            buffer.writeString(" (" + limits.map { "\($0.resource) \($0.limit)" }.joined(separator: " ") + ")")
        case .idle: buffer.writeString("IDLE")
        case .unauthenticate: buffer.writeString("UNAUTHENTICATE")
        case .check: buffer.writeString("CHECK")
        case .close: buffer.writeString("CLOSE")
        case .unselect: buffer.writeString("UNSELECT")
        case .expunge: buffer.writeString("EXPUNGE")
        case .id(let parameters):
            buffer.writeString("ID ")
            guard let parameters else { buffer.writeString("NIL"); return }
            buffer.writeString("(")
            for (offset, parameter) in parameters.enumerated() {
                if offset > 0 { buffer.writeString(" ") }
                writeString(parameter.key, into: &buffer)
                buffer.writeString(" ")
                if let value = parameter.value { writeString(value, into: &buffer) } else { buffer.writeString("NIL") }
            }
            buffer.writeString(")")
        case .authenticate(let mechanism, let initial):
            buffer.writeString("AUTHENTICATE " + mechanism)
            switch initial {
            case .none: break
            case .empty: buffer.writeString(" =")
            case .base64(let text): buffer.writeString(" " + text)
            }
        case .login(let user, let password):
            buffer.writeString("LOGIN ")
            writeString(user, into: &buffer)
            buffer.writeString(" ")
            writeString(password, into: &buffer)
        case .enable(let capabilities): buffer.writeString("ENABLE " + capabilities.joined(separator: " "))
        case .select(let name, let parameters), .examine(let name, let parameters):
            if case .select = command { buffer.writeString("SELECT ") } else { buffer.writeString("EXAMINE ") }
            writeMailbox(name, into: &buffer)
            if !parameters.isEmpty {
                buffer.writeString(" (" + parameters.map(Self.selectParameter).joined(separator: " ") + ")")
            }
        case .create(let name, let uses):
            buffer.writeString("CREATE ")
            writeMailbox(name, into: &buffer)
            if !uses.isEmpty { buffer.writeString(" (USE (" + uses.joined(separator: " ") + "))") }
        case .delete(let name): writeNamed("DELETE ", name, into: &buffer)
        case .subscribe(let name): writeNamed("SUBSCRIBE ", name, into: &buffer)
        case .unsubscribe(let name): writeNamed("UNSUBSCRIBE ", name, into: &buffer)
        case .rename(let from, let to):
            writeNamed("RENAME ", from, into: &buffer)
            buffer.writeString(" ")
            writeMailbox(to, into: &buffer)
        case .list(let list): write(list, into: &buffer)
        case .lsub(let reference, let pattern):
            buffer.writeString("LSUB ")
            writeString(wire(reference), into: &buffer)
            buffer.writeString(" ")
            writeString(wire(pattern), into: &buffer)
        case .status(let name, let attributes):
            writeNamed("STATUS ", name, into: &buffer)
            buffer.writeString(" (" + attributes.map(\.rawValue).joined(separator: " ") + ")")
        case .append(let name, let messages):
            writeNamed("APPEND ", name, into: &buffer)
            for message in messages {
                if !message.flags.isEmpty { buffer.writeString(" " + IMAPResponseEncoder.flagList(message.flags)) }
                if let date = message.internalDate { buffer.writeString(" \"" + IMAPResponseEncoder.dateTime(date) + "\"") }
                var data = message.data
                let opening = message.isUTF8 ? " UTF8 (~{" : message.isBinary ? " ~{" : " {"
                buffer.writeString(opening + "\(data.readableBytes)+}\r\n")
                buffer.writeBuffer(&data)
                if message.isUTF8 { buffer.writeString(")") }
            }
        case .uidExpunge(let set): buffer.writeString("UID EXPUNGE " + IMAPResponseEncoder.sequenceSet(set))
        case .search(let search, let uid):
            buffer.writeString(uid ? "UID SEARCH" : "SEARCH")
            if let options = search.returnOptions { buffer.writeString(" RETURN (" + options.map(\.rawValue).joined(separator: " ") + ")") }
            if let charset = search.charset { buffer.writeString(" CHARSET " + charset) }
            buffer.writeString(" ")
            writeSearchKeys(search.key, into: &buffer)
        case .fetch(let set, let attributes, let modifiers, let uid):
            buffer.writeString((uid ? "UID FETCH " : "FETCH ") + IMAPResponseEncoder.sequenceSet(set) + " (")
            buffer.writeString(attributes.map(Self.fetchAttribute).joined(separator: " ") + ")")
            if !modifiers.isEmpty {
                let items = (modifiers.changedSince.map { ["CHANGEDSINCE \($0)"] } ?? []) + (modifiers.vanished ? ["VANISHED"] : [])
                buffer.writeString(" (" + items.joined(separator: " ") + ")")
            }
        case .store(let set, let store, let uid):
            buffer.writeString((uid ? "UID STORE " : "STORE ") + IMAPResponseEncoder.sequenceSet(set) + " ")
            if let unchangedSince = store.unchangedSince { buffer.writeString("(UNCHANGEDSINCE \(unchangedSince)) ") }
            let sign = switch store.operation {
            case .replace: ""
            case .add: "+"
            case .remove: "-"
            }
            buffer.writeString(sign + "FLAGS" + (store.silent ? ".SILENT " : " ") + IMAPResponseEncoder.flagList(store.flags))
        case .copy(let set, let name, let uid):
            buffer.writeString((uid ? "UID COPY " : "COPY ") + IMAPResponseEncoder.sequenceSet(set) + " ")
            writeMailbox(name, into: &buffer)
        case .move(let set, let name, let uid):
            buffer.writeString((uid ? "UID MOVE " : "MOVE ") + IMAPResponseEncoder.sequenceSet(set) + " ")
            writeMailbox(name, into: &buffer)
        }
    }

    func write(_ list: ListCommand, into buffer: inout ByteBuffer) {
        buffer.writeString("LIST ")
        if !list.selectionOptions.isEmpty {
            buffer.writeString("(" + list.selectionOptions.map { option in
                switch option {
                case .subscribed: "SUBSCRIBED"
                case .remote: "REMOTE"
                case .recursiveMatch: "RECURSIVEMATCH"
                case .specialUse: "SPECIAL-USE"
                case .other(let name): name
                }
            }.joined(separator: " ") + ") ")
        }
        writeString(wire(list.reference), into: &buffer)
        buffer.writeString(" ")
        if list.patterns.count == 1 {
            writeString(wire(list.patterns[0]), into: &buffer)
        } else {
            buffer.writeString("(")
            for (offset, pattern) in list.patterns.enumerated() {
                if offset > 0 { buffer.writeString(" ") }
                writeString(wire(pattern), into: &buffer)
            }
            buffer.writeString(")")
        }
        guard !list.returnOptions.isEmpty else { return }
        buffer.writeString(" RETURN (" + list.returnOptions.map { option in
            switch option {
            case .subscribed: "SUBSCRIBED"
            case .children: "CHILDREN"
            case .specialUse: "SPECIAL-USE"
            case .status(let attributes): "STATUS (" + attributes.map(\.rawValue).joined(separator: " ") + ")"
            case .other(let name): name
            }
        }.joined(separator: " ") + ")")
    }

    func write(_ key: SearchKey, into buffer: inout ByteBuffer) {
        func text(_ name: String, _ value: String) {
            buffer.writeString(name + " ")
            writeString(value, into: &buffer)
        }
        func date(_ name: String, _ value: IMAPDate) { buffer.writeString(name + " " + IMAPResponseEncoder.date(value)) }
        switch key {
        case .all: buffer.writeString("ALL")
        case .answered: buffer.writeString("ANSWERED")
        case .deleted: buffer.writeString("DELETED")
        case .draft: buffer.writeString("DRAFT")
        case .flagged: buffer.writeString("FLAGGED")
        case .seen: buffer.writeString("SEEN")
        case .unanswered: buffer.writeString("UNANSWERED")
        case .undeleted: buffer.writeString("UNDELETED")
        case .undraft: buffer.writeString("UNDRAFT")
        case .unflagged: buffer.writeString("UNFLAGGED")
        case .unseen: buffer.writeString("UNSEEN")
        case .new: buffer.writeString("NEW")
        case .old: buffer.writeString("OLD")
        case .recent: buffer.writeString("RECENT")
        case .keyword(let flag): buffer.writeString("KEYWORD " + flag.rawValue)
        case .unkeyword(let flag): buffer.writeString("UNKEYWORD " + flag.rawValue)
        case .bcc(let value): text("BCC", value)
        case .body(let value): text("BODY", value)
        case .cc(let value): text("CC", value)
        case .from(let value): text("FROM", value)
        case .subject(let value): text("SUBJECT", value)
        case .text(let value): text("TEXT", value)
        case .to(let value): text("TO", value)
        case .header(let field, let value):
            text("HEADER", field)
            buffer.writeString(" ")
            writeString(value, into: &buffer)
        case .before(let value): date("BEFORE", value)
        case .on(let value): date("ON", value)
        case .since(let value): date("SINCE", value)
        case .sentBefore(let value): date("SENTBEFORE", value)
        case .sentOn(let value): date("SENTON", value)
        case .sentSince(let value): date("SENTSINCE", value)
        case .larger(let size): buffer.writeString("LARGER \(size)")
        case .older(let seconds): buffer.writeString("OLDER \(seconds)")
        case .younger(let seconds): buffer.writeString("YOUNGER \(seconds)")
        case .smaller(let size): buffer.writeString("SMALLER \(size)")
        case .uid(let set): buffer.writeString("UID " + IMAPResponseEncoder.sequenceSet(set))
        case .sequenceNumbers(let set): buffer.writeString(IMAPResponseEncoder.sequenceSet(set))
        case .not(let inner):
            buffer.writeString("NOT ")
            write(inner, into: &buffer)
        case .or(let first, let second):
            buffer.writeString("OR ")
            write(first, into: &buffer)
            buffer.writeString(" ")
            write(second, into: &buffer)
        case .modSeq(let value): buffer.writeString("MODSEQ \(value)")
        case .and(let keys):
            buffer.writeString("(")
            for (offset, key) in keys.enumerated() {
                if offset > 0 { buffer.writeString(" ") }
                write(key, into: &buffer)
            }
            buffer.writeString(")")
        }
    }

    // select-param = select-param-name [SP select-param-value] ; QRESYNC per RFC 7162 §7
    static func selectParameter(_ parameter: SelectParameter) -> String {
        guard let q = parameter.qresync else { return parameter.name + (parameter.value.map { " " + $0 } ?? "") }
        var text = "QRESYNC (\(q.uidValidity) \(q.modSeq)"
        if let known = q.knownUIDs { text += " " + IMAPResponseEncoder.sequenceSet(known) }
        if let match = q.sequenceMatch {
            text += " (" + IMAPResponseEncoder.sequenceSet(match.sequenceNumbers) + " " + IMAPResponseEncoder.sequenceSet(match.uids) + ")"
        }
        return text + ")"
    }

    static func fetchAttribute(_ attribute: FetchAttribute) -> String {
        func partial(_ range: PartialRange?) -> String { range.map { "<\($0.offset).\($0.length)>" } ?? "" }
        switch attribute {
        case .preview(let lazy): return lazy ? "PREVIEW (LAZY)" : "PREVIEW"
        case .envelope: return "ENVELOPE"
        case .flags: return "FLAGS"
        case .internalDate: return "INTERNALDATE"
        case .rfc822Size: return "RFC822.SIZE"
        case .body: return "BODY"
        case .bodyStructure: return "BODYSTRUCTURE"
        case .uid: return "UID"
        case .modSeq: return "MODSEQ"
        case .rfc822: return "RFC822"
        case .rfc822Header: return "RFC822.HEADER"
        case .rfc822Text: return "RFC822.TEXT"
        case .bodySection(let section, let range, let peek):
            return (peek ? "BODY.PEEK[" : "BODY[") + IMAPResponseEncoder.section(section) + "]" + partial(range)
        case .binary(let part, let range, let peek):
            return (peek ? "BINARY.PEEK[" : "BINARY[") + IMAPResponseEncoder.part(part) + "]" + partial(range)
        case .binarySize(let part): return "BINARY.SIZE[" + IMAPResponseEncoder.part(part) + "]"
        }
    }

    func wire(_ name: String) -> String { utf8Enabled ? name : ModifiedUTF7.encode(name) }

    func writeNamed(_ prefix: String, _ name: MailboxName, into buffer: inout ByteBuffer) {
        buffer.writeString(prefix)
        writeMailbox(name, into: &buffer)
    }

    /// The keys of a search: a top-level AND of several keys is written as the keys one after the other.
    func writeSearchKeys(_ key: SearchKey, into buffer: inout ByteBuffer) {
        if case .and(let keys) = key, keys.count > 1 {
            for (offset, key) in keys.enumerated() {
                if offset > 0 { buffer.writeString(" ") }
                write(key, into: &buffer)
            }
        } else {
            write(key, into: &buffer)
        }
    }

    func writeMailbox(_ name: MailboxName, into buffer: inout ByteBuffer) { writeString(name.wireForm(utf8Enabled: utf8Enabled), into: &buffer) }

    /// Quoted when possible, else a non-synchronizing literal.
    func writeString(_ text: String, into buffer: inout ByteBuffer) {
        let bytes = Array(text.utf8)
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            buffer.writeString("\"" + String(text.flatMap { $0 == "\"" || $0 == "\\" ? ["\\", $0] : [$0] }) + "\"")
        } else {
            buffer.writeString("{\(bytes.count)+}\r\n")
            buffer.writeBytes(bytes)
        }
    }
}
