/// SEARCH (RFC 9051 §6.4.4, RFC 4731 ESEARCH, RFC 5182 SAVE), sequence sets and dates.
extension GrammarReader {
    // search = "SEARCH" [search-return-opts] SP search-program
    // search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"
    // search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)
    mutating func search() throws(IMAPSyntaxError) -> SearchCommand {
        try space()
        var returnOptions: [SearchReturnOption]? = nil
        if keyword("RETURN") {
            try space()
            returnOptions = try parenthesizedList(allowEmpty: true) { r throws(IMAPSyntaxError) in try r.searchReturnOption() }
            try space()
        }
        var charset: String? = nil
        if keyword("CHARSET") {
            try space()
            charset = try self.charset()
            try space()
        }
        var keys = [try searchKey()]
        while skipOptional(.space) { keys.append(try searchKey()) }
        return SearchCommand(returnOptions: returnOptions, charset: charset, key: keys.count == 1 ? keys[0] : .and(keys))
    }

    // sort = ["UID" SP] "SORT" SP sort-criteria SP search-criteria      (RFC 5256 §4)
    // sort-criteria = "(" sort-criterion *(SP sort-criterion) ")" ; sort-criterion = ["REVERSE" SP] sort-key
    // search-criteria = charset 1*(SP search-key)
    mutating func sort(uid: Bool) throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let criteria = try parenthesizedList(allowEmpty: false) { (r: inout GrammarReader) throws(IMAPSyntaxError) -> SortCriterion in
            let reverse = r.keyword("REVERSE")
            if reverse { try r.space() }
            let name = try r.atom().uppercased()
            guard let key = SortKey(rawValue: name) else { throw IMAPSyntaxError("unknown sort key \(name)") }
            return SortCriterion(key, reverse: reverse)
        }
        let (charset, key) = try searchCriteria()
        return .sort(criteria, charset: charset, key: key, uid: uid)
    }

    // thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria   (RFC 5256 §4)
    mutating func thread(uid: Bool) throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let name = try atom().uppercased()
        guard let algorithm = ThreadAlgorithm(rawValue: name) else { throw IMAPSyntaxError("unknown threading algorithm \(name)") }
        let (charset, key) = try searchCriteria()
        return .thread(algorithm, charset: charset, key: key, uid: uid)
    }

    private mutating func searchCriteria() throws(IMAPSyntaxError) -> (charset: String, key: SearchKey) {
        try space()
        let charset = try self.charset()
        try space()
        var keys = [try searchKey()]
        while skipOptional(.space) { keys.append(try searchKey()) }
        return (charset, keys.count == 1 ? keys[0] : .and(keys))
    }

    // search-return-opt = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE"
    mutating func searchReturnOption() throws(IMAPSyntaxError) -> SearchReturnOption {
        let name = try atom().uppercased()
        guard let option = SearchReturnOption(rawValue: name) else { throw IMAPSyntaxError("unknown search return option \(name)") }
        return option
    }

    // charset = atom / quoted
    mutating func charset() throws(IMAPSyntaxError) -> String {
        if peek() == .quote { return String(decoding: try quoted(), as: UTF8.self) }
        return try atom()
    }

    /// search-key keywords that take no argument.
    static let simpleSearchKeys: [String: SearchKey] = [
        "ALL": .all, "ANSWERED": .answered, "DELETED": .deleted, "DRAFT": .draft, "FLAGGED": .flagged, "SEEN": .seen,
        "UNANSWERED": .unanswered, "UNDELETED": .undeleted, "UNDRAFT": .undraft, "UNFLAGGED": .unflagged, "UNSEEN": .unseen,
        "NEW": .new, "OLD": .old, "RECENT": .recent,
    ]

    /// search-key keywords that take one astring.
    static let stringSearchKeys: [String: @Sendable (String) -> SearchKey] = [
        "BCC": { .bcc($0) }, "BODY": { .body($0) }, "CC": { .cc($0) }, "FROM": { .from($0) },
        "SUBJECT": { .subject($0) }, "TEXT": { .text($0) }, "TO": { .to($0) },
    ]

    /// search-key keywords that take one date.
    static let dateSearchKeys: [String: @Sendable (IMAPDate) -> SearchKey] = [
        "BEFORE": { .before($0) }, "ON": { .on($0) }, "SINCE": { .since($0) },
        "SENTBEFORE": { .sentBefore($0) }, "SENTON": { .sentOn($0) }, "SENTSINCE": { .sentSince($0) },
    ]

    /// search-key keywords with other arguments, parsed in `searchKey`.
    static let otherSearchKeys: Set<String> = [
        "KEYWORD", "UNKEYWORD", "HEADER", "LARGER", "SMALLER", "UID", "NOT", "OR", "MODSEQ", "OLDER", "YOUNGER",
    ]

    // search-key = "ALL" / "ANSWERED" / "BCC" SP astring / "BEFORE" SP date / "BODY" SP astring / "CC" SP astring /
    //   "DELETED" / "FLAGGED" / "FROM" SP astring / "KEYWORD" SP flag-keyword / "ON" SP date / "SEEN" /
    //   "SINCE" SP date / "SUBJECT" SP astring / "TEXT" SP astring / "TO" SP astring / "UNANSWERED" / "UNDELETED" /
    //   "UNFLAGGED" / "UNKEYWORD" SP flag-keyword / "UNSEEN" / "DRAFT" / "HEADER" SP header-fld-name SP astring /
    //   "LARGER" SP number64 / "NOT" SP search-key / "OR" SP search-key SP search-key / "SENTBEFORE" SP date /
    //   "SENTON" SP date / "SENTSINCE" SP date / "SMALLER" SP number64 / "UID" SP sequence-set / "UNDRAFT" /
    //   sequence-set / "(" search-key *(SP search-key) ")"
    //   ; RFC 3501 also: "NEW" / "OLD" / "RECENT"; RFC 7162: search-modsequence
    mutating func searchKey() throws(IMAPSyntaxError) -> SearchKey {
        if let byte = peek(), byte.isDigit || byte == .star || byte == .dollar {
            return .sequenceNumbers(try sequenceSet())
        }
        if peek() == .openParen {
            return .and(try parenthesizedList(allowEmpty: false) { r throws(IMAPSyntaxError) in try r.searchKey() })
        }
        let name = try atom().uppercased()
        if let key = Self.simpleSearchKeys[name] { return key }
        guard Self.stringSearchKeys[name] != nil || Self.dateSearchKeys[name] != nil || Self.otherSearchKeys.contains(name) else {
            throw IMAPSyntaxError("unknown search key \(name)")
        }
        try space()
        if let make = Self.stringSearchKeys[name] { return make(try astringText()) }
        if let make = Self.dateSearchKeys[name] { return make(try date()) }
        switch name {
        case "KEYWORD": return .keyword(Flag(try atom()))
        case "UNKEYWORD": return .unkeyword(Flag(try atom()))
        case "HEADER":
            let field = try astringText()
            try space()
            return .header(field, try astringText())
        case "LARGER": return .larger(try number64())
        case "SMALLER": return .smaller(try number64())
        // search-key =/ ( "OLDER" / "YOUNGER" ) SP nz-number   (RFC 5032 §4)
        case "OLDER": return .older(try nzNumber())
        case "YOUNGER": return .younger(try nzNumber())
        case "UID": return .uid(try sequenceSet())
        case "MODSEQ": return try searchModSequence()
        case "NOT":
            try enterNesting()
            defer { leaveNesting() }
            return .not(try searchKey())
        case "OR":
            try enterNesting()
            defer { leaveNesting() }
            let first = try searchKey()
            try space()
            return .or(first, try searchKey())
        default: throw IMAPSyntaxError("unknown search key \(name)")
        }
    }

    // sequence-set = (seq-number / seq-range) ["," sequence-set] / seq-last-command
    // seq-range = seq-number ":" seq-number ; seq-last-command = "$"   (RFC 5182)
    mutating func sequenceSet() throws(IMAPSyntaxError) -> SequenceSet {
        if skipOptional(.dollar) { return .lastCommand }
        var ranges: [SequenceRange] = []
        repeat {
            let first = try sequenceNumber()
            let second = skipOptional(.colon) ? try sequenceNumber() : first
            ranges.append(SequenceRange(first, second))
        } while skipOptional(.comma)
        return .ranges(ranges)
    }

    // seq-number = nz-number / "*"
    mutating func sequenceNumber() throws(IMAPSyntaxError) -> SequenceBound {
        if skipOptional(.star) { return .last }
        return .number(try nzNumber())
    }

    // date = date-text / DQUOTE date-text DQUOTE
    // date-text = date-day "-" date-month "-" date-year ; date-day = 1*2DIGIT ; date-year = 4DIGIT
    mutating func date() throws(IMAPSyntaxError) -> IMAPDate {
        let quoted = skipOptional(.quote)
        let day = try digits(1...2)
        try expect(.minus, "-")
        let month = try dateMonth()
        try expect(.minus, "-")
        let year = try digits(4...4)
        if quoted { try expect(.quote, "closing quote") }
        guard (1...31).contains(day) else { throw IMAPSyntaxError("invalid day") }
        return IMAPDate(year: year, month: month, day: day)
    }

    // date-month = "Jan" / "Feb" / "Mar" / "Apr" / "May" / "Jun" / "Jul" / "Aug" / "Sep" / "Oct" / "Nov" / "Dec"
    mutating func dateMonth() throws(IMAPSyntaxError) -> Int {
        for (offset, name) in IMAPDate.monthNames.enumerated() where prefix(name) { return offset + 1 }
        throw IMAPSyntaxError("invalid month")
    }

    // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
    // date-day-fixed = (SP DIGIT) / 2DIGIT ; time = 2DIGIT ":" 2DIGIT ":" 2DIGIT ; zone = ("+" / "-") 4DIGIT
    mutating func dateTime() throws(IMAPSyntaxError) -> IMAPDateTime {
        try expect(.quote, "date-time")
        _ = skipOptional(.space)
        let day = try digits(1...2)
        try expect(.minus, "-")
        let month = try dateMonth()
        try expect(.minus, "-")
        let year = try digits(4...4)
        try space()
        let hour = try digits(2...2)
        try expect(.colon, ":")
        let minute = try digits(2...2)
        try expect(.colon, ":")
        let second = try digits(2...2)
        try space()
        let sign = try next()
        guard sign == .plus || sign == .minus else { throw IMAPSyntaxError("invalid zone") }
        let zone = try digits(4...4)
        try expect(.quote, "closing quote")
        guard (1...31).contains(day), hour < 24, minute < 60, second < 61, zone % 100 < 60 else {
            throw IMAPSyntaxError("invalid date-time")
        }
        let zoneMinutes = (zone / 100 * 60 + zone % 100) * (sign == .minus ? -1 : 1)
        return IMAPDateTime(date: IMAPDate(year: year, month: month, day: day), hour: hour, minute: minute, second: second,
                            zoneMinutes: zoneMinutes)
    }

    /// Exactly `count` decimal digits (a range of allowed lengths).
    mutating func digits(_ count: ClosedRange<Int>) throws(IMAPSyntaxError) -> Int {
        var value = 0, length = 0
        while length < count.upperBound, let byte = peek(), byte.isDigit {
            value = value * 10 + Int(byte - .zero)
            length += 1
            index += 1
        }
        guard count.contains(length) else { throw IMAPSyntaxError("expected \(count.lowerBound) digits") }
        return value
    }
}
