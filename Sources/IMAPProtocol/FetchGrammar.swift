/// FETCH (RFC 9051 §6.4.5) with BINARY (RFC 3516): attributes, sections and partial ranges.
extension GrammarReader {
    // fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")")
    //   [fetch-modifiers]                                                      (RFC 4466 §2.4)
    mutating func fetch() throws(IMAPSyntaxError) -> (SequenceSet, [FetchAttribute], FetchModifiers) {
        try space()
        let set = try sequenceSet()
        try space()
        let attributes: [FetchAttribute]
        if keyword("ALL") {
            attributes = FetchAttribute.allMacro
        } else if keyword("FAST") {
            attributes = FetchAttribute.fastMacro
        } else if keyword("FULL") {
            attributes = FetchAttribute.fullMacro
        } else if peek() == .openParen {
            attributes = try parenthesizedList(allowEmpty: false) { r throws(IMAPSyntaxError) in try r.fetchAttribute() }
        } else {
            attributes = [try fetchAttribute()]
        }
        return (set, attributes, try fetchModifiers())
    }

    // fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" / "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
    //   "BODY" ["STRUCTURE"] / "UID" / "BODY" section [partial] / "BODY.PEEK" section [partial] /
    //   "BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE" section-binary
    // fetch-att =/ fetch-mod-sequence ; fetch-mod-sequence = "MODSEQ"   (RFC 7162 §7)
    mutating func fetchAttribute() throws(IMAPSyntaxError) -> FetchAttribute {
        let name = try run(while: { $0.isAtomChar && $0 != .openBracket && $0 != .lessThan }, what: "fetch attribute").uppercased()
        switch name {
        // fetch-att =/ "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"] ; preview-mod = "LAZY"   (RFC 8970 §7)
        case "PREVIEW":
            guard peek() == .space, peek(1) == .openParen else { return .preview(lazy: false) }
            try space()
            let modifiers = try parenthesizedList(allowEmpty: false) { (r: inout GrammarReader) throws(IMAPSyntaxError) -> String in
                let modifier = try r.atom().uppercased()
                guard modifier == "LAZY" else { throw IMAPSyntaxError("unknown preview modifier \(modifier)") }
                return modifier
            }
            return .preview(lazy: modifiers.contains("LAZY"))
        case "ENVELOPE": return .envelope
        case "FLAGS": return .flags
        case "INTERNALDATE": return .internalDate
        case "RFC822": return .rfc822
        case "RFC822.HEADER": return .rfc822Header
        case "RFC822.SIZE": return .rfc822Size
        case "RFC822.TEXT": return .rfc822Text
        case "BODYSTRUCTURE": return .bodyStructure
        case "UID": return .uid
        case "MODSEQ": return .modSeq
        case "BODY", "BODY.PEEK":
            guard peek() == .openBracket else {
                guard name == "BODY" else { throw IMAPSyntaxError("BODY.PEEK needs a section") }
                return .body
            }
            let section = try self.section()
            return .bodySection(section, partial: try partial(), peek: name == "BODY.PEEK")
        case "BINARY", "BINARY.PEEK":
            let part = try sectionBinary()
            return .binary(part: part, partial: try partial(), peek: name == "BINARY.PEEK")
        case "BINARY.SIZE":
            return .binarySize(part: try sectionBinary())
        default:
            throw IMAPSyntaxError("unknown fetch attribute \(name)")
        }
    }

    // section = "[" [section-spec] "]"
    // section-spec = section-msgtext / (section-part ["." section-text])
    // section-text = section-msgtext / "MIME"
    mutating func section() throws(IMAPSyntaxError) -> SectionSpecifier {
        try expect(.openBracket, "[")
        if skipOptional(.closeBracket) { return .complete }
        var part: [Int] = []
        var kind = SectionSpecifier.Kind.complete
        if let byte = peek(), byte.isDigit {
            part = try sectionPart()
            if skipOptional(.dot) {
                kind = keyword("MIME") ? .mime : try sectionMessageText()
            }
        } else {
            kind = try sectionMessageText()
        }
        try expect(.closeBracket, "]")
        return SectionSpecifier(part: part, kind: kind)
    }

    // section-part = nz-number *("." nz-number)
    mutating func sectionPart() throws(IMAPSyntaxError) -> [Int] {
        var part = [Int(try nzNumber())]
        while peek() == .dot, let following = peek(1), following.isDigit {
            index += 1
            part.append(Int(try nzNumber()))
        }
        return part
    }

    // section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
    // header-list = "(" header-fld-name *(SP header-fld-name) ")" ; header-fld-name = astring
    mutating func sectionMessageText() throws(IMAPSyntaxError) -> SectionSpecifier.Kind {
        let name = try run(while: { $0.isAtomChar && $0 != .openBracket }, what: "section").uppercased()
        switch name {
        case "HEADER": return .header
        case "TEXT": return .text
        case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
            try space()
            let fields = try parenthesizedList(allowEmpty: false) { r throws(IMAPSyntaxError) in try r.astringText() }
            return name == "HEADER.FIELDS" ? .headerFields(fields) : .headerFieldsNot(fields)
        default: throw IMAPSyntaxError("unknown section \(name)")
        }
    }

    // section-binary = "[" [section-part] "]"
    mutating func sectionBinary() throws(IMAPSyntaxError) -> [Int] {
        try expect(.openBracket, "[")
        if skipOptional(.closeBracket) { return [] }
        let part = try sectionPart()
        try expect(.closeBracket, "]")
        return part
    }

    // partial = "<" number64 "." nz-number64 ">"
    mutating func partial() throws(IMAPSyntaxError) -> PartialRange? {
        guard skipOptional(.lessThan) else { return nil }
        let offset = try number64()
        try expect(.dot, ".")
        let length = try number64()
        guard length > 0 else { throw IMAPSyntaxError("partial length must be non-zero") }
        try expect(.greaterThan, ">")
        return PartialRange(offset: offset, length: length)
    }
}
