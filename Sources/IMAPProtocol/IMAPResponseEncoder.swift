import NIOCore

/// Writes `IMAPResponse`s as exact wire bytes (RFC 9051 §7, §9). Strings become atoms, quoted strings or literals as needed.
public struct IMAPResponseEncoder: Sendable {
    /// After ENABLE IMAP4rev2 / UTF8=ACCEPT: mailbox names are sent as UTF-8 and quoted strings may carry UTF-8.
    public var utf8Enabled: Bool
    /// Strings longer than this are sent as literals even when they could be quoted.
    public var maximumQuotedLength: Int

    public init(utf8Enabled: Bool = false, maximumQuotedLength: Int = 1024) {
        self.utf8Enabled = utf8Enabled
        self.maximumQuotedLength = maximumQuotedLength
    }

    /// The bytes of one response, CRLF included.
    public func encode(_ response: IMAPResponse) -> ByteBuffer {
        var buffer = ByteBuffer()
        encode(response, into: &buffer)
        return buffer
    }

    public func encode(_ response: IMAPResponse, into buffer: inout ByteBuffer) {
        switch response {
        case .tagged(let tag, let status, let code, let text):
            buffer.writeString(tag)
            buffer.writeString(" " + status.rawValue)
            writeResponseText(code: code, text: text, into: &buffer)
        case .untagged(let untagged):
            buffer.writeString("* ")
            encode(untagged, into: &buffer)
        case .continuation(let text):
            buffer.writeString("+ " + Self.sanitized(text))
        }
        buffer.writeString("\r\n")
    }

    // resp-text = ["[" resp-text-code "]" SP] [text]
    func writeResponseText(code: ResponseCode?, text: String, into buffer: inout ByteBuffer) {
        buffer.writeString(" ")
        if let code {
            buffer.writeString("[")
            encode(code, into: &buffer)
            buffer.writeString("] ")
        }
        buffer.writeString(Self.sanitized(text.isEmpty ? "done" : text))
    }

    /// Text must not contain CR or LF (it would end the response early).
    static func sanitized(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "\r" || $0 == "\n" ? " " : $0 }))
    }

    func encode(_ response: UntaggedResponse, into buffer: inout ByteBuffer) {
        switch response {
        case .status(let status, let code, let text):
            buffer.writeString(status.rawValue)
            writeResponseText(code: code, text: text, into: &buffer)
        case .capability(let capabilities):
            buffer.writeString((["CAPABILITY"] + capabilities).joined(separator: " "))
        case .enabled(let capabilities):
            buffer.writeString((["ENABLED"] + capabilities).joined(separator: " "))
        case .flags(let flags):
            buffer.writeString("FLAGS " + Self.flagList(flags))
        case .list(let item):
            buffer.writeString("LIST ")
            encode(item, into: &buffer)
        case .lsub(let item):
            buffer.writeString("LSUB ")
            encode(item, into: &buffer)
        case .mailboxStatus(let name, let values):
            buffer.writeString("STATUS ")
            writeMailbox(name, into: &buffer)
            let items = values.map { "\($0.attribute.rawValue) \($0.value)" }.joined(separator: " ")
            buffer.writeString(" (" + items + ")")
        case .search(let numbers, let modSeq):
            buffer.writeString((["SEARCH"] + numbers.map(String.init)).joined(separator: " "))
            // mailbox-data =/ "SEARCH" [1*(SP nz-number) SP search-sort-mod-seq]   (RFC 7162 §7)
            if let modSeq, !numbers.isEmpty { buffer.writeString(" (MODSEQ \(modSeq))") }
        case .esearch(let esearch):
            encode(esearch, into: &buffer)
        case .exists(let count):
            buffer.writeString("\(count) EXISTS")
        case .recent(let count):
            buffer.writeString("\(count) RECENT")
        case .expunge(let number):
            buffer.writeString("\(number) EXPUNGE")
        case .vanished(let earlier, let uids):
            buffer.writeString("VANISHED " + (earlier ? "(EARLIER) " : "") + Self.sequenceSet(uids))
        case .fetch(let number, let items):
            buffer.writeString("\(number) FETCH (")
            for (offset, item) in items.enumerated() {
                if offset > 0 { buffer.writeString(" ") }
                encode(item, into: &buffer)
            }
            buffer.writeString(")")
        case .sort(let numbers):
            buffer.writeString("SORT")
            for number in numbers { buffer.writeString(" \(number)") }
        case .thread(let threads):
            buffer.writeString("THREAD")
            if !threads.isEmpty { buffer.writeString(" ") }
            for thread in threads { writeThread(thread, into: &buffer) }
        case .quota(let root, let resources):
            buffer.writeString("QUOTA ")
            writeString(Array(root.utf8), into: &buffer)
            buffer.writeString(" (")
            buffer.writeString(resources.map { "\($0.resource) \($0.usage) \($0.limit)" }.joined(separator: " "))
            buffer.writeString(")")
        case .quotaRoot(let mailbox, let roots):
            buffer.writeString("QUOTAROOT ")
            writeMailbox(mailbox, into: &buffer)
            for root in roots {
                buffer.writeString(" ")
                writeString(Array(root.utf8), into: &buffer)
            }
        case .namespace(let personal, let other, let shared):
            buffer.writeString("NAMESPACE ")
            for (offset, group) in [personal, other, shared].enumerated() {
                if offset > 0 { buffer.writeString(" ") }
                writeNamespaces(group, into: &buffer)
            }
        case .id(let parameters):
            buffer.writeString("ID ")
            guard let parameters, !parameters.isEmpty else { buffer.writeString("NIL"); break }
            buffer.writeString("(")
            for (offset, parameter) in parameters.enumerated() {
                if offset > 0 { buffer.writeString(" ") }
                writeString(Array(parameter.key.utf8), into: &buffer)
                buffer.writeString(" ")
                writeNString(parameter.value.map { Array($0.utf8) }, into: &buffer)
            }
            buffer.writeString(")")
        }
    }

    // resp-text-code (RFC 9051 §7.1)
    func encode(_ code: ResponseCode, into buffer: inout ByteBuffer) {
        let text: String
        switch code {
        case .alert: text = "ALERT"
        case .badCharset(let charsets): text = charsets.isEmpty ? "BADCHARSET" : "BADCHARSET (" + charsets.joined(separator: " ") + ")"
        case .capability(let capabilities): text = (["CAPABILITY"] + capabilities).joined(separator: " ")
        case .parse: text = "PARSE"
        case .permanentFlags(let flags, let allowsNew):
            text = "PERMANENTFLAGS (" + (flags.map(\.rawValue) + (allowsNew ? ["\\*"] : [])).joined(separator: " ") + ")"
        case .readOnly: text = "READ-ONLY"
        case .readWrite: text = "READ-WRITE"
        case .tryCreate: text = "TRYCREATE"
        case .uidNext(let value): text = "UIDNEXT \(value)"
        case .uidValidity(let value): text = "UIDVALIDITY \(value)"
        case .unseen(let value): text = "UNSEEN \(value)"
        case .highestModSeq(let value): text = "HIGHESTMODSEQ \(value)"
        case .noModSeq: text = "NOMODSEQ"
        case .modified(let set): text = "MODIFIED " + Self.sequenceSet(set)
        case .appendUID(let validity, let uids): text = "APPENDUID \(validity) \(Self.sequenceSet(uids))"
        case .copyUID(let validity, let source, let destination):
            text = "COPYUID \(validity) \(Self.sequenceSet(source)) \(Self.sequenceSet(destination))"
        case .uidNotSticky: text = "UIDNOTSTICKY"
        case .closed: text = "CLOSED"
        case .unavailable: text = "UNAVAILABLE"
        case .authenticationFailed: text = "AUTHENTICATIONFAILED"
        case .authorizationFailed: text = "AUTHORIZATIONFAILED"
        case .expired: text = "EXPIRED"
        case .privacyRequired: text = "PRIVACYREQUIRED"
        case .contactAdmin: text = "CONTACTADMIN"
        case .noPermission: text = "NOPERM"
        case .inUse: text = "INUSE"
        case .expungeIssued: text = "EXPUNGEISSUED"
        case .corruption: text = "CORRUPTION"
        case .serverBug: text = "SERVERBUG"
        case .clientBug: text = "CLIENTBUG"
        case .cannot: text = "CANNOT"
        case .limit: text = "LIMIT"
        case .overQuota: text = "OVERQUOTA"
        case .alreadyExists: text = "ALREADYEXISTS"
        case .nonexistent: text = "NONEXISTENT"
        case .notSaved: text = "NOTSAVED"
        case .hasChildren: text = "HASCHILDREN"
        case .unknownCTE: text = "UNKNOWN-CTE"
        case .tooBig: text = "TOOBIG"
        case .other(let atom, let detail):
            text = atom + (detail.map { " " + String(Self.sanitized($0).map { $0 == "]" ? " " : $0 }) } ?? "")
        }
        buffer.writeString(text)
    }

    // mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox [SP mbox-list-extended]
    func encode(_ item: MailboxListItem, into buffer: inout ByteBuffer) {
        buffer.writeString("(" + item.attributes.joined(separator: " ") + ") ")
        writeSeparator(item.separator, into: &buffer)
        buffer.writeString(" ")
        writeMailbox(item.name, into: &buffer)
        if !item.childInfo.isEmpty {
            buffer.writeString(" (\"CHILDINFO\" (" + item.childInfo.map { "\"\($0)\"" }.joined(separator: " ") + "))")
        }
    }

    // esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)
    func encode(_ response: ESearchResponse, into buffer: inout ByteBuffer) {
        buffer.writeString("ESEARCH")
        if let tag = response.tag {
            buffer.writeString(" (TAG ")
            writeString(Array(tag.utf8), into: &buffer)
            buffer.writeString(")")
        }
        if response.uid { buffer.writeString(" UID") }
        if let min = response.min { buffer.writeString(" MIN \(min)") }
        if let max = response.max { buffer.writeString(" MAX \(max)") }
        if let all = response.all, all != .ranges([]) { buffer.writeString(" ALL " + Self.sequenceSet(all)) }
        if let count = response.count { buffer.writeString(" COUNT \(count)") }
        if let modSeq = response.modSeq { buffer.writeString(" MODSEQ \(modSeq)") }
    }

    // msg-att-dynamic / msg-att-static
    func encode(_ item: FetchResponseItem, into buffer: inout ByteBuffer) {
        switch item {
        case .flags(let flags): buffer.writeString("FLAGS " + Self.flagList(flags))
        case .preview(let text):
            buffer.writeString("PREVIEW ")
            writeNString(text.map { Array($0.utf8) }, into: &buffer)
        case .uid(let uid): buffer.writeString("UID \(uid)")
        case .modSeq(let value): buffer.writeString("MODSEQ (\(value))")
        case .internalDate(let date): buffer.writeString("INTERNALDATE \"" + Self.dateTime(date) + "\"")
        case .rfc822Size(let size): buffer.writeString("RFC822.SIZE \(size)")
        case .envelope(var bytes):
            buffer.writeString("ENVELOPE ")
            buffer.writeBuffer(&bytes)
        case .body(var bytes):
            buffer.writeString("BODY ")
            buffer.writeBuffer(&bytes)
        case .bodyStructure(var bytes):
            buffer.writeString("BODYSTRUCTURE ")
            buffer.writeBuffer(&bytes)
        case .bodySection(let section, let origin, let data):
            buffer.writeString("BODY[" + Self.section(section) + "]" + (origin.map { "<\($0)>" } ?? "") + " ")
            writeLiteral(data, binary: false, into: &buffer)
        case .binary(let part, let origin, let data):
            buffer.writeString("BINARY[" + Self.part(part) + "]" + (origin.map { "<\($0)>" } ?? "") + " ")
            writeLiteral(data, binary: data?.readableBytesView.contains(0) ?? false, into: &buffer)
        case .binarySize(let part, let size): buffer.writeString("BINARY.SIZE[" + Self.part(part) + "] \(size)")
        case .rfc822(let data):
            buffer.writeString("RFC822 ")
            writeLiteral(data, binary: false, into: &buffer)
        case .rfc822Header(let data):
            buffer.writeString("RFC822.HEADER ")
            writeLiteral(data, binary: false, into: &buffer)
        case .rfc822Text(let data):
            buffer.writeString("RFC822.TEXT ")
            writeLiteral(data, binary: false, into: &buffer)
        }
    }

    /// literal = "{" number64 "}" CRLF *CHAR8 ; literal8 = "~{" number64 "}" CRLF *OCTET ; nil = "NIL"
    func writeLiteral(_ data: ByteBuffer?, binary: Bool, into buffer: inout ByteBuffer) {
        guard var data else { buffer.writeString("NIL"); return }
        buffer.writeString((binary ? "~{" : "{") + "\(data.readableBytes)}\r\n")
        buffer.writeBuffer(&data)
    }

    // mailbox = "INBOX" / astring — always sent as a string, modified UTF-7 unless UTF-8 is enabled.
    func writeMailbox(_ name: MailboxName, into buffer: inout ByteBuffer) {
        writeString(Array(name.wireForm(utf8Enabled: utf8Enabled).utf8), into: &buffer)
    }

    /// thread-list = "(" (thread-members / thread-nested) ")" ; thread-members = nz-number *(SP nz-number) [SP thread-nested]
    /// thread-nested = 2*thread-list. A chain of only children is written as members, branches as nested lists.
    func writeThread(_ node: ThreadNode, into buffer: inout ByteBuffer) {
        buffer.writeString("(")
        writeMembers(node, first: true, into: &buffer)
        buffer.writeString(")")
    }

    private func writeMembers(_ node: ThreadNode, first: Bool, into buffer: inout ByteBuffer) {
        var current = node
        var first = first
        while true {
            if let message = current.message {
                if !first { buffer.writeString(" ") }
                buffer.writeString("\(message)")
                first = false
            }
            if current.children.count == 1 {
                current = current.children[0]
                continue
            }
            if !current.children.isEmpty {
                if !first { buffer.writeString(" ") }
                for child in current.children { writeThread(child, into: &buffer) }
            }
            return
        }
    }

    func writeNamespaces(_ namespaces: [NamespaceDescription], into buffer: inout ByteBuffer) {
        guard !namespaces.isEmpty else { buffer.writeString("NIL"); return }
        buffer.writeString("(")
        for namespace in namespaces {
            buffer.writeString("(")
            writeString(Array(MailboxName(namespace.prefix).wireForm(utf8Enabled: utf8Enabled).utf8), into: &buffer)
            buffer.writeString(" ")
            writeSeparator(namespace.separator, into: &buffer)
            buffer.writeString(")")
        }
        buffer.writeString(")")
    }

    func writeSeparator(_ separator: Character?, into buffer: inout ByteBuffer) {
        guard let separator else { buffer.writeString("NIL"); return }
        buffer.writeString(separator == "\\" || separator == "\"" ? "\"\\\(separator)\"" : "\"\(separator)\"")
    }

    // string = quoted / literal — quoted when every byte is allowed in a quoted string and it is short enough.
    func writeString(_ bytes: [UInt8], into buffer: inout ByteBuffer) {
        let quotable = bytes.count <= maximumQuotedLength && bytes.allSatisfy { byte in
            byte != 0 && byte != .cr && byte != .lf && (byte < 0x80 || utf8Enabled)
        }
        guard quotable else {
            buffer.writeString("{\(bytes.count)}\r\n")
            buffer.writeBytes(bytes)
            return
        }
        buffer.writeInteger(UInt8.quote)
        for byte in bytes {
            if byte == .quote || byte == .backslash { buffer.writeInteger(UInt8.backslash) }
            buffer.writeInteger(byte)
        }
        buffer.writeInteger(UInt8.quote)
    }

    func writeNString(_ bytes: [UInt8]?, into buffer: inout ByteBuffer) {
        guard let bytes else { buffer.writeString("NIL"); return }
        writeString(bytes, into: &buffer)
    }

    // MARK: Text forms shared with the command encoder

    static func flagList(_ flags: [Flag]) -> String { "(" + flags.map(\.rawValue).joined(separator: " ") + ")" }

    static func part(_ part: [Int]) -> String { part.map(String.init).joined(separator: ".") }

    // section-spec = section-msgtext / (section-part ["." section-text])
    static func section(_ section: SectionSpecifier) -> String {
        let kind: String
        switch section.kind {
        case .complete: kind = ""
        case .header: kind = "HEADER"
        case .text: kind = "TEXT"
        case .mime: kind = "MIME"
        case .headerFields(let fields): kind = "HEADER.FIELDS (" + fields.joined(separator: " ") + ")"
        case .headerFieldsNot(let fields): kind = "HEADER.FIELDS.NOT (" + fields.joined(separator: " ") + ")"
        }
        if section.part.isEmpty { return kind }
        return kind.isEmpty ? part(section.part) : part(section.part) + "." + kind
    }

    static func sequenceSet(_ set: SequenceSet) -> String {
        switch set {
        case .lastCommand: return "$"
        case .ranges(let ranges):
            return ranges.map { range in
                func bound(_ b: SequenceBound) -> String {
                    switch b {
                    case .number(let n): String(n)
                    case .last: "*"
                    }
                }
                return range.first == range.second ? bound(range.first) : bound(range.first) + ":" + bound(range.second)
            }.joined(separator: ",")
        }
    }

    // date-year = 4DIGIT (RFC 9051 §9): a year before 1000 keeps its leading zeros, or it would not parse back (found by
    // Fuzz/FuzzIMAP: "0226" was read and written as "226").
    static func year(_ year: Int) -> String {
        let digits = String(year)
        return year >= 0 && digits.count < 4 ? String(repeating: "0", count: 4 - digits.count) + digits : digits
    }

    static func date(_ date: IMAPDate) -> String {
        "\(date.day)-\(IMAPDate.monthNames[date.month - 1])-\(year(date.year))"
    }

    // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE (without the quotes)
    static func dateTime(_ value: IMAPDateTime) -> String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let zone = abs(value.zoneMinutes)
        let sign = value.zoneMinutes < 0 ? "-" : "+"
        return "\(two(value.date.day))-\(IMAPDate.monthNames[value.date.month - 1])-\(year(value.date.year)) "
            + "\(two(value.hour)):\(two(value.minute)):\(two(value.second)) \(sign)\(two(zone / 60))\(two(zone % 60))"
    }
}
