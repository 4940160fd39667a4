/// The CONDSTORE and QRESYNC grammar (RFC 7162 §7): fetch and store modifiers, the QRESYNC select parameter and the
/// MODSEQ search key. One function per rule; the FETCH, STORE, SELECT and SEARCH parsers call them.
extension GrammarReader {
    // fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"        (RFC 4466 §2.4)
    // fetch-modifier =/ chgsince-fetch-mod / rexpunges-fetch-mod               (RFC 7162 §7)
    // chgsince-fetch-mod = "CHANGEDSINCE" SP mod-sequence-value ; rexpunges-fetch-mod = "VANISHED"
    mutating func fetchModifiers() throws(IMAPSyntaxError) -> FetchModifiers {
        guard peek() == .space, peek(1) == .openParen else { return FetchModifiers() }
        try space()
        var modifiers = FetchModifiers()
        let names = try parenthesizedList(allowEmpty: false) { r throws(IMAPSyntaxError) -> String in
            let name = try r.atom().uppercased()
            switch name {
            case "CHANGEDSINCE":
                try r.space()
                modifiers.changedSince = try r.modSequenceValue()
            case "VANISHED":
                modifiers.vanished = true
            default:
                throw IMAPSyntaxError("unknown FETCH modifier \(name)")
            }
            return name
        }
        guard Set(names).count == names.count else { throw IMAPSyntaxError("repeated FETCH modifier") }
        // RFC 7162 §3.2.6: VANISHED is only valid together with CHANGEDSINCE.
        if modifiers.vanished, modifiers.changedSince == nil { throw IMAPSyntaxError("VANISHED requires CHANGEDSINCE") }
        return modifiers
    }

    // store-modifiers = SP "(" store-modifier *(SP store-modifier) ")"        (RFC 4466 §2.5)
    // store-modifier =/ "UNCHANGEDSINCE" SP mod-sequence-valzer                (RFC 7162 §7)
    /// Parses the modifiers that sit between the sequence set and store-att-flags; returns UNCHANGEDSINCE.
    mutating func storeModifiers() throws(IMAPSyntaxError) -> UInt64? {
        guard peek() == .openParen else { return nil }
        var unchangedSince: UInt64?
        _ = try parenthesizedList(allowEmpty: false) { r throws(IMAPSyntaxError) in
            let name = try r.atom().uppercased()
            guard name == "UNCHANGEDSINCE", unchangedSince == nil else { throw IMAPSyntaxError("unknown STORE modifier \(name)") }
            try r.space()
            unchangedSince = try r.number64()
        }
        try space()
        return unchangedSince
    }

    // select-param =/ "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"
    // seq-match-data = "(" known-sequence-set SP known-uid-set ")"
    // uidvalidity = nz-number ; known-uids = sequence-set                       (RFC 7162 §7)
    mutating func qresyncParameters() throws(IMAPSyntaxError) -> QResyncParameters {
        try expect(.openParen, "(")
        let uidValidity = try nzNumber()
        try space()
        var parameters = QResyncParameters(uidValidity: uidValidity, modSeq: try modSequenceValue())
        if peek() == .space, let next = peek(1), next.isDigit {
            try space()
            parameters.knownUIDs = try sequenceSet()
        }
        if peek() == .space, peek(1) == .openParen {
            try space()
            try expect(.openParen, "(")
            let numbers = try sequenceSet()
            try space()
            parameters.sequenceMatch = QResyncParameters.SequenceMatch(sequenceNumbers: numbers, uids: try sequenceSet())
            try expect(.closeParen, ")")
        }
        try expect(.closeParen, ")")
        return parameters
    }

    // search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer
    // search-modseq-ext = SP entry-name SP entry-type-req
    // entry-name = DQUOTE "/flags/" attr-flag DQUOTE ; entry-type-req = "priv" / "shared" / "all"   (RFC 7162 §7)
    /// Called after "MODSEQ" SP.
    mutating func searchModSequence() throws(IMAPSyntaxError) -> SearchKey {
        if peek() == .quote {
            let entry = String(decoding: try quoted(), as: UTF8.self)
            guard entry.lowercased().hasPrefix("/flags/") else { throw IMAPSyntaxError("invalid MODSEQ entry name") }
            try space()
            let type = try atom().lowercased()
            guard ["priv", "shared", "all"].contains(type) else { throw IMAPSyntaxError("invalid MODSEQ entry type") }
            try space()
        }
        return .modSeq(try number64())
    }

    // mod-sequence-value = 1*DIGIT   ; positive unsigned 63-bit integer
    mutating func modSequenceValue() throws(IMAPSyntaxError) -> UInt64 {
        let start = index
        let value = try number64()
        guard value > 0 else { index = start; throw IMAPSyntaxError("mod-sequence must be positive") }
        return value
    }
}
