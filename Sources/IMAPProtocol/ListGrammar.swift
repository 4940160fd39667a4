/// LIST and its extensions: RFC 9051 §6.3.9, RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE.
extension GrammarReader {
    // list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]
    // mbox-or-pat = list-mailbox / patterns
    // patterns = "(" list-mailbox *(SP list-mailbox) ")"
    mutating func list() throws(IMAPSyntaxError) -> ListCommand {
        try space()
        var selection: [ListCommand.SelectionOption] = []
        if peek() == .openParen {
            selection = try listSelectOptions()
            try space()
        }
        let reference = try referenceName()
        try space()
        let patterns: [String]
        if peek() == .openParen {
            patterns = try parenthesizedList(allowEmpty: false) { r throws(IMAPSyntaxError) in try r.listMailbox() }
        } else {
            patterns = [try listMailbox()]
        }
        var returns: [ListCommand.ReturnOption] = []
        if skipOptional(.space) { returns = try listReturnOptions() }
        return ListCommand(selectionOptions: selection, reference: reference, patterns: patterns, returnOptions: returns)
    }

    // list-select-opts = "(" [(*(list-select-opt SP) list-select-base-opt *(SP list-select-opt))
    //                    / (list-select-independent-opt *(SP list-select-independent-opt))] ")"
    // list-select-base-opt = "SUBSCRIBED" / "SPECIAL-USE" (RFC 6154) ; list-select-independent-opt = "REMOTE"
    // list-select-mod-opt = "RECURSIVEMATCH"
    mutating func listSelectOptions() throws(IMAPSyntaxError) -> [ListCommand.SelectionOption] {
        let options = try parenthesizedList(allowEmpty: true) { r throws(IMAPSyntaxError) -> ListCommand.SelectionOption in
            switch try r.atom().uppercased() {
            case "SUBSCRIBED": .subscribed
            case "REMOTE": .remote
            case "RECURSIVEMATCH": .recursiveMatch
            case "SPECIAL-USE": .specialUse
            // RFC 5258 §3: "A server MUST respond to options it does not recognize with a BAD response."
            case let other: throw IMAPSyntaxError("unknown LIST selection option \(other)")
            }
        }
        // "If a list-select-mod-opt appears, then a list-select-base-opt must also appear."
        if options.contains(.recursiveMatch), !options.contains(where: { $0 == .subscribed || $0 == .specialUse }) {
            throw IMAPSyntaxError("RECURSIVEMATCH needs SUBSCRIBED or SPECIAL-USE")
        }
        return options
    }

    // list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
    // return-option = "SUBSCRIBED" / "CHILDREN" / status-option / "SPECIAL-USE" / option-extension
    // status-option = "STATUS" SP "(" status-att *(SP status-att) ")"          (RFC 5819)
    mutating func listReturnOptions() throws(IMAPSyntaxError) -> [ListCommand.ReturnOption] {
        guard keyword("RETURN") else { throw IMAPSyntaxError("expected RETURN") }
        try space()
        return try parenthesizedList(allowEmpty: true) { r throws(IMAPSyntaxError) -> ListCommand.ReturnOption in
            switch try r.atom().uppercased() {
            case "SUBSCRIBED": return .subscribed
            case "CHILDREN": return .children
            case "SPECIAL-USE": return .specialUse
            case "STATUS":
                try r.space()
                return .status(try r.statusAttributes())
            // RFC 5258 §3: an option the server does not recognize gets BAD.
            case let other: throw IMAPSyntaxError("unknown LIST return option \(other)")
            }
        }
    }

    /// The reference argument of LIST/LSUB: a `mailbox`, decoded but not INBOX-normalised.
    mutating func referenceName() throws(IMAPSyntaxError) -> String {
        try decodedName(try astring())
    }

    // list-mailbox = 1*list-char / string
    mutating func listMailbox() throws(IMAPSyntaxError) -> String {
        if peek() == .quote || peek() == .openBrace { return try decodedName(try string()) }
        return try decodedName(Array(try run(while: \.isListChar, what: "mailbox pattern").utf8))
    }

    func decodedName(_ bytes: [UInt8]) throws(IMAPSyntaxError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw IMAPSyntaxError("mailbox name is not UTF-8") }
        if options.utf8Enabled { return text }
        guard let decoded = ModifiedUTF7.decode(text) else { throw IMAPSyntaxError("mailbox name is not valid modified UTF-7") }
        return decoded
    }
}
