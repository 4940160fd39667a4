/// The command grammar (RFC 9051 §9 and the extensions' ABNF), one function per rule, dispatched from a table by name.
extension GrammarReader {
    typealias CommandParser = @Sendable (inout GrammarReader) throws(IMAPSyntaxError) -> IMAPCommand

    /// Commands by name. UID-prefixed forms are parsed by `uidCommand`.
    static let commandTable: [String: CommandParser] = [
        "CAPABILITY": { _ throws(IMAPSyntaxError) in .capability },
        "NOOP": { _ throws(IMAPSyntaxError) in .noop },
        "LOGOUT": { _ throws(IMAPSyntaxError) in .logout },
        "STARTTLS": { _ throws(IMAPSyntaxError) in .startTLS },
        "NAMESPACE": { _ throws(IMAPSyntaxError) in .namespace },
        "IDLE": { _ throws(IMAPSyntaxError) in .idle },
        "UNAUTHENTICATE": { _ throws(IMAPSyntaxError) in .unauthenticate },
        "CHECK": { _ throws(IMAPSyntaxError) in .check },
        "CLOSE": { _ throws(IMAPSyntaxError) in .close },
        "UNSELECT": { _ throws(IMAPSyntaxError) in .unselect },
        "EXPUNGE": { _ throws(IMAPSyntaxError) in .expunge },
        "ID": { r throws(IMAPSyntaxError) in try r.idCommand() },
        "AUTHENTICATE": { r throws(IMAPSyntaxError) in try r.authenticate() },
        "LOGIN": { r throws(IMAPSyntaxError) in try r.login() },
        "ENABLE": { r throws(IMAPSyntaxError) in try r.enable() },
        "SELECT": { r throws(IMAPSyntaxError) in
            let (mailbox, parameters) = try r.select()
            return .select(mailbox, parameters: parameters)
        },
        "EXAMINE": { r throws(IMAPSyntaxError) in
            let (mailbox, parameters) = try r.select()
            return .examine(mailbox, parameters: parameters)
        },
        "CREATE": { r throws(IMAPSyntaxError) in try r.create() },
        "DELETE": { r throws(IMAPSyntaxError) in try r.space(); return .delete(try r.mailbox()) },
        "RENAME": { r throws(IMAPSyntaxError) in try r.rename() },
        "SUBSCRIBE": { r throws(IMAPSyntaxError) in try r.space(); return .subscribe(try r.mailbox()) },
        "UNSUBSCRIBE": { r throws(IMAPSyntaxError) in try r.space(); return .unsubscribe(try r.mailbox()) },
        "LIST": { r throws(IMAPSyntaxError) in .list(try r.list()) },
        "LSUB": { r throws(IMAPSyntaxError) in try r.lsub() },
        "STATUS": { r throws(IMAPSyntaxError) in try r.status() },
        // getquota = "GETQUOTA" SP quota-root-name ; quota-root-name = astring (RFC 9208 §9)
        "GETQUOTA": { r throws(IMAPSyntaxError) in try r.space(); return .getQuota(root: try r.astringText()) },
        // getquotaroot = "GETQUOTAROOT" SP mailbox
        "GETQUOTAROOT": { r throws(IMAPSyntaxError) in try r.space(); return .getQuotaRoot(try r.mailbox()) },
        // setquota = "SETQUOTA" SP quota-root-name SP setquota-list
        // setquota-list = "(" [setquota-resource *(SP setquota-resource)] ")"
        "SETQUOTA": { r throws(IMAPSyntaxError) in
            try r.space()
            let root = try r.astringText()
            try r.space()
            let limits = try r.parenthesizedList(allowEmpty: true) { (r: inout GrammarReader) throws(IMAPSyntaxError) in
                let name = try r.atom().uppercased()
                try r.space()
                return QuotaLimit(resource: name, limit: try r.number64())
            }
            return .setQuota(root: root, limits)
        },
        "APPEND": { r throws(IMAPSyntaxError) in try r.append() },
        "SEARCH": { r throws(IMAPSyntaxError) in .search(try r.search(), uid: false) },
        "SORT": { r throws(IMAPSyntaxError) in try r.sort(uid: false) },
        "THREAD": { r throws(IMAPSyntaxError) in try r.thread(uid: false) },
        "FETCH": { r throws(IMAPSyntaxError) in
            let (set, attributes, modifiers) = try r.fetch()
            return .fetch(set, attributes, modifiers: modifiers, uid: false)
        },
        "STORE": { r throws(IMAPSyntaxError) in
            let (set, flags) = try r.store()
            return .store(set, flags, uid: false)
        },
        "COPY": { r throws(IMAPSyntaxError) in
            let (set, mailbox) = try r.copyOrMove()
            return .copy(set, mailbox, uid: false)
        },
        "MOVE": { r throws(IMAPSyntaxError) in
            let (set, mailbox) = try r.copyOrMove()
            return .move(set, mailbox, uid: false)
        },
        "UID": { r throws(IMAPSyntaxError) in try r.uidCommand() },
    ]

    // command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF
    mutating func command() throws(IMAPSyntaxError) -> (tag: String, command: IMAPCommand) {
        let tag = try self.tag()
        try space()
        let name = try commandName()
        guard let parse = Self.commandTable[name] else { throw IMAPSyntaxError("unknown command \(name)") }
        let command = try parse(&self)
        try crlf()
        guard isAtEnd else { throw IMAPSyntaxError("unexpected data after command") }
        return (tag, command)
    }

    // tag = 1*<any ASTRING-CHAR except "+">
    mutating func tag() throws(IMAPSyntaxError) -> String {
        try run(while: \.isTagChar, what: "tag")
    }

    /// Command names are alphabetic keywords, case-insensitive.
    mutating func commandName() throws(IMAPSyntaxError) -> String {
        try run(while: { $0.isAtomChar }, what: "command").uppercased()
    }

    // uid = "UID" SP (copy / move / fetch / search / store / uid-expunge)
    // uid-expunge = "EXPUNGE" SP sequence-set
    mutating func uidCommand() throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let name = try commandName()
        switch name {
        case "FETCH":
            let (set, attributes, modifiers) = try fetch()
            return .fetch(set, attributes, modifiers: modifiers, uid: true)
        case "STORE":
            let (set, flags) = try store()
            return .store(set, flags, uid: true)
        case "SEARCH": return .search(try search(), uid: true)
        case "SORT": return try sort(uid: true)
        case "THREAD": return try thread(uid: true)
        case "COPY":
            let (set, mailbox) = try copyOrMove()
            return .copy(set, mailbox, uid: true)
        case "MOVE":
            let (set, mailbox) = try copyOrMove()
            return .move(set, mailbox, uid: true)
        case "EXPUNGE":
            try space()
            return .uidExpunge(try sequenceSet())
        default: throw IMAPSyntaxError("unknown UID command \(name)")
        }
    }

    // id = "ID" SP id-params-list   (RFC 2971)
    // id-params-list = "(" [string SP nstring *(SP string SP nstring)] ")" / nil
    mutating func idCommand() throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        if keyword("NIL") { return .id(nil) }
        let pairs = try parenthesizedList(allowEmpty: true) { r throws(IMAPSyntaxError) in
            let key = try r.string()
            try r.space()
            let value = try r.nstring()
            return IDParameter(key: String(decoding: key, as: UTF8.self), value: value.map { String(decoding: $0, as: UTF8.self) })
        }
        guard pairs.count <= 30 else { throw IMAPSyntaxError("too many ID fields") }
        return .id(pairs)
    }

    // authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp] *(CRLF base64)
    // auth-type = atom ; initial-resp = (base64 / "=")   (RFC 4959)
    mutating func authenticate() throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let mechanism = try atom().uppercased()
        guard skipOptional(.space) else { return .authenticate(mechanism: mechanism, initialResponse: nil) }
        let response = try run(while: \.isBase64Char, what: "initial response")
        return .authenticate(mechanism: mechanism, initialResponse: response == "=" ? .empty : .base64(response))
    }

    // login = "LOGIN" SP userid SP password ; userid = astring ; password = astring
    mutating func login() throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let user = try astringText()
        try space()
        let password = try astringText()
        return .login(username: user, password: password)
    }

    // enable = "ENABLE" 1*(SP capability) ; capability = ("AUTH=" auth-type) / atom
    mutating func enable() throws(IMAPSyntaxError) -> IMAPCommand {
        var capabilities: [String] = []
        while skipOptional(.space) { capabilities.append(try atom().uppercased()) }
        guard !capabilities.isEmpty else { throw IMAPSyntaxError("ENABLE needs a capability") }
        return .enable(capabilities)
    }

    // mailbox = "INBOX" / astring   ; decoded from modified UTF-7 (or UTF-8 once enabled)
    mutating func mailbox() throws(IMAPSyntaxError) -> MailboxName {
        let start = index
        do throws(IMAPSyntaxError) {
            return try MailboxName(wire: try astring(), utf8Enabled: options.utf8Enabled)
        } catch {
            index = start
            throw error
        }
    }

    // select = "SELECT" SP mailbox [select-params]          (RFC 4466)
    // select-params = SP "(" select-param *(SP select-param) ")"
    // select-param = select-param-name [SP select-param-value]
    mutating func select() throws(IMAPSyntaxError) -> (MailboxName, [SelectParameter]) {
        try space()
        // A name that is not valid modified UTF-7 is one that cannot exist: NO from the session, not BAD.
        let start = index
        let name: MailboxName
        do throws(IMAPSyntaxError) {
            name = try MailboxName.decodingLeniently(wire: try astring(), utf8Enabled: options.utf8Enabled)
        } catch {
            index = start
            throw error
        }
        guard skipOptional(.space) else { return (name, []) }
        let parameters = try parenthesizedList(allowEmpty: false) { r throws(IMAPSyntaxError) in
            let parameterName = try r.atom().uppercased()
            if parameterName == "QRESYNC" {
                try r.space()
                return SelectParameter.qresync(try r.qresyncParameters())
            }
            // A value starts with a digit or "("; a following parameter name starts with a letter.
            guard r.peek() == .space, let first = r.peek(1), first.isDigit || first == .openParen else {
                return SelectParameter(name: parameterName)
            }
            try r.space()
            return SelectParameter(name: parameterName, value: try r.taggedExtensionValue())
        }
        return (name, parameters)
    }

    // tagged-ext-val = tagged-ext-simple / "(" [tagged-ext-comp] ")"   (RFC 4466), kept as its text
    mutating func taggedExtensionValue() throws(IMAPSyntaxError) -> String {
        if peek() == .openParen {
            let values = try parenthesizedList(allowEmpty: true) { r throws(IMAPSyntaxError) in try r.astringText() }
            return "(" + values.joined(separator: " ") + ")"
        }
        return try run(while: { $0.isDigit || $0 == .colon || $0 == .comma || $0 == .star }, what: "value")
    }

    // create = "CREATE" SP mailbox [create-params]
    // create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"      (RFC 6154 §3)
    mutating func create() throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let name = try mailbox()
        var specialUse: [String] = []
        if skipOptional(.space) {
            let uses = try parenthesizedList(allowEmpty: false) { r throws(IMAPSyntaxError) -> [String] in
                guard r.keyword("USE") else { throw IMAPSyntaxError("unknown CREATE parameter") }
                try r.space()
                return try r.parenthesizedList(allowEmpty: true) { r throws(IMAPSyntaxError) in try r.flagText() }
            }
            specialUse = uses.flatMap { $0 }
        }
        return .create(name, specialUse: specialUse)
    }

    // rename = "RENAME" SP mailbox SP mailbox
    mutating func rename() throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let from = try mailbox()
        try space()
        return .rename(from: from, to: try mailbox())
    }

    // lsub = "LSUB" SP mailbox SP list-mailbox   (RFC 3501)
    mutating func lsub() throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let reference = try referenceName()
        try space()
        return .lsub(reference: reference, pattern: try listMailbox())
    }

    // status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
    mutating func status() throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let name = try mailbox()
        try space()
        return .status(name, try statusAttributes())
    }

    mutating func statusAttributes() throws(IMAPSyntaxError) -> [StatusAttribute] {
        try parenthesizedList(allowEmpty: false) { r throws(IMAPSyntaxError) in try r.statusAttribute() }
    }

    // status-att = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "DELETED" / "SIZE"  (+ RFC 3501 "RECENT")
    mutating func statusAttribute() throws(IMAPSyntaxError) -> StatusAttribute {
        let name = try atom().uppercased()
        guard let attribute = StatusAttribute(rawValue: name) else { throw IMAPSyntaxError("unknown status attribute \(name)") }
        return attribute
    }

    // append = "APPEND" SP mailbox 1*append-message                     (RFC 3502, RFC 4466)
    // append-message = append-opts SP append-data
    // append-opts = [SP flag-list] [SP date-time] *(SP append-ext)
    // append-data = literal / literal8 / append-data-ext
    // append-data =/ utf8-literal ; utf8-literal = "UTF8" SP "(" literal8 ")"   (RFC 6855 §4)
    mutating func append() throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let name = try mailbox()
        var messages: [AppendMessage] = []
        repeat {
            try space()
            var message = AppendMessage(data: .init())
            if peek() == .openParen {
                message.flags = try flagList(allowRecent: false)
                try space()
            }
            if peek() == .quote {
                message.internalDate = try dateTime()
                try space()
            }
            if keyword("UTF8") {
                try space()
                try expect(.openParen, "(")
                (message.data, message.isBinary) = try literal(allowBinary: true)
                guard message.isBinary else { throw IMAPSyntaxError("UTF8 APPEND data must be a literal8") }
                try expect(.closeParen, ")")
                message.isUTF8 = true
            } else {
                (message.data, message.isBinary) = try literal(allowBinary: true)
            }
            messages.append(message)
        } while peek() == .space
        return .append(name, messages)
    }

    // copy = "COPY" SP sequence-set SP mailbox ; move = "MOVE" SP sequence-set SP mailbox (RFC 6851)
    mutating func copyOrMove() throws(IMAPSyntaxError) -> (SequenceSet, MailboxName) {
        try space()
        let set = try sequenceSet()
        try space()
        return (set, try mailbox())
    }

    // store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags     (RFC 4466 §2.5)
    // store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
    mutating func store() throws(IMAPSyntaxError) -> (SequenceSet, StoreFlags) {
        try space()
        let set = try sequenceSet()
        try space()
        let unchangedSince = try storeModifiers()
        let operation: StoreFlags.Operation = skipOptional(.plus) ? .add : skipOptional(.minus) ? .remove : .replace
        let silent: Bool
        if keyword("FLAGS") {
            silent = false
        } else if keyword("FLAGS.SILENT") {
            silent = true
        } else {
            throw IMAPSyntaxError("expected FLAGS, +FLAGS or -FLAGS")
        }
        try space()
        let flags: [Flag]
        if peek() == .openParen {
            flags = try flagList(allowRecent: false)
        } else {
            var list = [try flag(allowRecent: false)]
            while skipOptional(.space) { list.append(try flag(allowRecent: false)) }
            flags = list
        }
        return (set, StoreFlags(operation, silent: silent, flags: flags, unchangedSince: unchangedSince))
    }

    // flag-list = "(" [flag *(SP flag)] ")"
    mutating func flagList(allowRecent: Bool) throws(IMAPSyntaxError) -> [Flag] {
        try parenthesizedList(allowEmpty: true) { r throws(IMAPSyntaxError) in try r.flag(allowRecent: allowRecent) }
    }

    // flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension
    // flag-keyword = atom ; flag-extension = "\" atom
    mutating func flag(allowRecent: Bool) throws(IMAPSyntaxError) -> Flag {
        let start = index
        let flag = Flag(try flagText())
        guard allowRecent || flag != .recent else { index = start; throw IMAPSyntaxError("\\Recent cannot be set") }
        return flag
    }

    mutating func flagText() throws(IMAPSyntaxError) -> String {
        let backslash = skipOptional(.backslash)
        let name = try atom()
        return backslash ? "\\" + name : name
    }
}
