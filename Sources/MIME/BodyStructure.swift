import MailCore

/// IMAP BODY / BODYSTRUCTURE (RFC 3501 §7.4.2, RFC 9051 §7.5.2) as a value, and its exact wire encoding.
public indirect enum BodyStructure: Hashable, Sendable {
    /// `body-type-basic` and `body-type-text` (lines set for text/*).
    case single(SingleBody)
    /// `body-type-msg`: message/rfc822 (and message/global) with the encapsulated envelope and structure.
    case message(SingleBody, envelope: Envelope, body: BodyStructure, lines: Int)
    /// `body-type-mpart`.
    case multipart(parts: [BodyStructure], subtype: String, parameters: [BodyParameter], extension: BodyExtension)

    public struct BodyParameter: Hashable, Sendable {
        public var name: [UInt8]
        public var value: [UInt8]
    }

    /// `body-fields` plus the single-part extension data.
    public struct SingleBody: Hashable, Sendable {
        public var type: String
        public var subtype: String
        public var parameters: [BodyParameter]
        public var id: [UInt8]?
        public var description: [UInt8]?
        public var encoding: String
        public var size: Int
        /// Text line count (`body-fld-lines`) for text/*; nil for other types.
        public var lines: Int?
        public var md5: [UInt8]?
        public var `extension`: BodyExtension
    }

    /// `body-ext-1part` / `body-ext-mpart` tail: disposition, language, location.
    public struct BodyExtension: Hashable, Sendable {
        public var disposition: (value: [UInt8], parameters: [BodyParameter])? {
            get { dispositionValue.map { ($0, dispositionParameters) } }
            set { dispositionValue = newValue?.value; dispositionParameters = newValue?.parameters ?? [] }
        }
        public var dispositionValue: [UInt8]?
        public var dispositionParameters: [BodyParameter] = []
        public var language: [[UInt8]]?
        public var location: [UInt8]?
    }

    /// Builds the structure of `part` in `bytes`.
    public init(part: MessagePart, in bytes: [UInt8]) {
        let header = part.header
        let ext = Self.extensionData(header)
        switch part.kind {
        case .multipart:
            let params = part.hasContentType ? Self.parameters(part.contentType.parameters) : []
            self = .multipart(parts: part.children.map { BodyStructure(part: $0, in: bytes) }, subtype: part.contentType.subtype,
                              parameters: params, extension: ext)
        case .message:
            let single = Self.singleBody(part, bytes: bytes, ext: ext)
            let inner = part.children[0]
            self = .message(single, envelope: Envelope(header: inner.header), body: BodyStructure(part: inner, in: bytes),
                            lines: countLines(bytes, part.bodyRange))
        case .single:
            self = .single(Self.singleBody(part, bytes: bytes, ext: ext))
        }
    }

    static func singleBody(_ part: MessagePart, bytes: [UInt8], ext: BodyExtension) -> SingleBody {
        let header = part.header
        func text(_ name: String) -> [UInt8]? {
            guard let f = header[name] else { return nil }
            let v = f.unfoldedBytes
            return v.isEmpty ? nil : v
        }
        let ct = part.contentType
        var params = Self.parameters(ct.parameters)
        if ct.type == "text", params.isEmpty {
            params.insert(BodyParameter(name: Array("charset".utf8), value: Array("us-ascii".utf8)), at: 0)
        }
        let enc = header["Content-Transfer-Encoding"].map { String(decoding: $0.unfoldedBytes, as: UTF8.self) } ?? ""
        return SingleBody(type: ct.type, subtype: ct.subtype, parameters: params, id: text("Content-ID"),
                          description: text("Content-Description"), encoding: enc.isEmpty ? "7bit" : enc,
                          size: part.bodyRange.count, lines: ct.type == "text" ? countLines(bytes, part.bodyRange) : nil,
                          md5: text("Content-MD5"), extension: ext)
    }

    static func parameters(_ params: [MIMEParameter]) -> [BodyParameter] {
        params.map { BodyParameter(name: Array($0.imapName.utf8), value: Array($0.rawValue.utf8)) }
    }

    static func extensionData(_ header: Header) -> BodyExtension {
        var ext = BodyExtension()
        if let d = header["Content-Disposition"].flatMap({ ContentDisposition.parse($0.rawValue) }) {
            ext.dispositionValue = Array(d.value.utf8)
            ext.dispositionParameters = parameters(d.parameters)
        }
        if let lang = header["Content-Language"]?.unfoldedBytes, !lang.isEmpty {
            let tags = lang.split(whereSeparator: { $0 == UInt8(ascii: ",") || $0 == 0x20 || $0 == 0x09 }).map { Array($0) }
            ext.language = tags.isEmpty ? nil : tags
        }
        if let loc = header["Content-Location"]?.unfoldedBytes, !loc.isEmpty { ext.location = loc }
        return ext
    }

    /// The wire bytes of BODYSTRUCTURE (`extensible: true`) or BODY (`false`).
    public func wireBytes(extensible: Bool) -> [UInt8] {
        var w = IMAPWireWriter()
        write(to: &w, extensible: extensible)
        return w.bytes
    }

    public func write(to w: inout IMAPWireWriter, extensible: Bool) {
        w.open()
        switch self {
        case .single(let s):
            Self.writeFields(s, to: &w)
            if let lines = s.lines { w.space(); w.number(lines) }
            if extensible { Self.writeSingleExtension(s, to: &w) }
        case .message(let s, let envelope, let body, let lines):
            Self.writeFields(s, to: &w)
            w.space(); envelope.write(to: &w)
            w.space(); body.write(to: &w, extensible: extensible)
            w.space(); w.number(lines)
            if extensible { Self.writeSingleExtension(s, to: &w) }
        case .multipart(let parts, let subtype, let parameters, let ext):
            if parts.isEmpty {
                // RFC 3501 requires 1*body: an empty multipart is shown with one empty text/plain part, as Dovecot does.
                w.raw("(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)")
            }
            for p in parts { p.write(to: &w, extensible: extensible) }
            w.space(); w.string(subtype)
            if extensible {
                w.space(); Self.writeParameters(parameters, to: &w)
                Self.writeTail(ext, to: &w)
            }
        }
        w.close()
    }

    /// `body-fields = body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets`, after type/subtype.
    static func writeFields(_ s: SingleBody, to w: inout IMAPWireWriter) {
        w.string(s.type); w.space(); w.string(s.subtype); w.space()
        writeParameters(s.parameters, to: &w); w.space()
        w.nstring(s.id); w.space()
        w.nstring(s.description); w.space()
        w.string(s.encoding); w.space()
        w.number(s.size)
    }

    static func writeSingleExtension(_ s: SingleBody, to w: inout IMAPWireWriter) {
        w.space(); w.nstring(s.md5)
        writeTail(s.extension, to: &w)
    }

    /// `SP body-fld-dsp SP body-fld-lang SP body-fld-loc`
    static func writeTail(_ ext: BodyExtension, to w: inout IMAPWireWriter) {
        w.space()
        if let d = ext.dispositionValue {
            w.open(); w.string(d); w.space(); writeParameters(ext.dispositionParameters, to: &w); w.close()
        } else {
            w.nil_()
        }
        w.space()
        switch ext.language {
        case nil: w.nil_()
        case let tags?:  // Dovecot always sends a list, even for one tag; both forms are valid body-fld-lang.
            w.open()
            for (i, t) in tags.enumerated() { if i > 0 { w.space() }; w.string(t) }
            w.close()
        }
        w.space(); w.nstring(ext.location)
    }

    /// `body-fld-param = "(" string SP string *(SP string SP string) ")" / nil`
    static func writeParameters(_ params: [BodyParameter], to w: inout IMAPWireWriter) {
        guard !params.isEmpty else { w.nil_(); return }
        w.open()
        for (i, p) in params.enumerated() {
            if i > 0 { w.space() }
            w.string(p.name); w.space(); w.string(p.value)
        }
        w.close()
    }
}

func asciiLowerBytes(_ b: [UInt8]) -> [UInt8] { b.map(asciiLower) }

/// IMAP line count (`body-fld-lines`): the number of LF-terminated lines in the body, as Dovecot counts them (the line
/// ending before a boundary belongs to the boundary, so a part's last line is usually not counted as terminated).
func countLines(_ bytes: [UInt8], _ range: Range<Int>) -> Int {
    guard !range.isEmpty else { return 0 }
    var n = 0
    bytes.withUnsafeBufferPointer { buf in
        for i in range where buf[i] == 0x0A { n += 1 }
    }
    return n
}

extension Message {
    /// The ENVELOPE of the message.
    public var envelope: Envelope { Envelope(header: root.header) }

    /// BODYSTRUCTURE (`extensible: true`) or BODY (`false`) as a value; encode with `wireBytes(extensible:)`.
    public func bodyStructure(extensible: Bool = true) -> BodyStructure { BodyStructure(part: root, in: bytes) }
}
