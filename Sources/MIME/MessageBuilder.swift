import MailCore

/// Composes RFC 5322 / MIME messages (bounces, DSNs, tests): header fields folded at 78 columns with RFC 2047 encoded
/// words for non-ASCII text, multipart bodies with boundaries that cannot occur in the content, attachments in base64.
public struct MessageBuilder: Sendable {
    /// A body: a leaf with its content type and bytes, a multipart, or an encapsulated message.
    public indirect enum Body: Sendable {
        /// Text, encoded quoted-printable when it is not 7-bit-safe; `subtype` is e.g. "plain" or "html".
        case text(String, subtype: String = "plain")
        /// Arbitrary bytes in base64 with a content type (`image/png`) and optional file name (attachment).
        case attachment([UInt8], contentType: String, fileName: String?)
        /// A part with its own extra header fields (e.g. Content-ID) and a body.
        case part(headers: [(String, String)], body: Body)
        /// multipart/`subtype` with its parts.
        case multipart(subtype: String, parts: [Body], parameters: [(String, String)] = [])
        /// message/rfc822 (forwarded as attachment, DSN returned content).
        case message([UInt8])
        /// A leaf given verbatim: content type and already-encoded body lines (e.g. message/delivery-status).
        case raw(contentType: String, bytes: [UInt8])
    }

    public var fields: [(String, String)] = []
    public var body: Body
    /// Boundaries are `=_<prefix>_<n>`; "=_" cannot start a base64 or quoted-printable line, so they never collide.
    public var boundaryPrefix: String

    public init(body: Body = .text(""), boundaryPrefix: String = "lbx") {
        self.body = body
        self.boundaryPrefix = boundaryPrefix
    }

    /// Adds an unstructured field; non-ASCII text becomes encoded words.
    public mutating func add(_ name: String, _ value: String) { fields.append((name, EncodedWords.encode(value))) }

    /// Adds an address field; display names with non-ASCII text are encoded, others quoted when needed.
    public mutating func add(_ name: String, addresses: [MailboxAddress]) {
        fields.append((name, addresses.map(Self.format).joined(separator: ", ")))
    }

    public static func format(_ m: MailboxAddress) -> String {
        guard let name = m.displayName, !name.isEmpty else { return m.addressText }
        let phrase: String
        if name.utf8.contains(where: { $0 >= 0x80 }) {
            phrase = EncodedWords.encode(name)
        } else if name.utf8.allSatisfy({ EmailAddress.isAtext($0) || $0 == 0x20 }) {
            phrase = name
        } else {
            phrase = MailboxAddress.quoted(name)
        }
        return "\(phrase) <\(m.addressText)>"
    }

    /// The message bytes, CRLF line endings.
    public func build() -> [UInt8] {
        var counter = 0
        var out: [UInt8] = []
        for (name, value) in fields { out += Self.fold(name, value) }
        if !fields.contains(where: { Header.namesEqual($0.0, "MIME-Version") }) { out += Self.fold("MIME-Version", "1.0") }
        write(body, into: &out, counter: &counter)
        return out
    }

    func write(_ body: Body, into out: inout [UInt8], counter: inout Int) {
        switch body {
        case .text(let text, let subtype):
            let bytes = Array(Self.crlf(text).utf8)
            let sevenBit = bytes.allSatisfy { $0 < 0x80 } && !Self.hasLongLine(bytes)
            out += Self.fold("Content-Type", "text/\(subtype); charset=\(sevenBit ? "us-ascii" : "utf-8")")
            out += Self.fold("Content-Transfer-Encoding", sevenBit ? "7bit" : "quoted-printable")
            out += [0x0D, 0x0A]
            out += sevenBit ? bytes : TransferEncoding.encodeQuotedPrintable(bytes)
        case .attachment(let bytes, let type, let fileName):
            var ct = type
            var cd = "attachment"
            if let fileName {
                ct += "; name=" + Self.parameterValue(fileName)
                cd += "; filename=" + Self.parameterValue(fileName)
            }
            out += Self.fold("Content-Type", ct)
            out += Self.fold("Content-Disposition", cd)
            out += Self.fold("Content-Transfer-Encoding", "base64")
            out += [0x0D, 0x0A]
            out += TransferEncoding.encodeBase64(bytes)
            out += [0x0D, 0x0A]
        case .part(let headers, let inner):
            for (name, value) in headers { out += Self.fold(name, EncodedWords.encode(value)) }
            write(inner, into: &out, counter: &counter)
        case .multipart(let subtype, let parts, let parameters):
            counter += 1
            let boundary = "=_\(boundaryPrefix)_\(counter)"
            var ct = "multipart/\(subtype); boundary=\"\(boundary)\""
            for (k, v) in parameters { ct += "; \(k)=\(Self.parameterValue(v))" }
            out += Self.fold("Content-Type", ct)
            out += [0x0D, 0x0A]
            for part in parts {
                out += "--\(boundary)\r\n".utf8
                write(part, into: &out, counter: &counter)
                if out.last != 0x0A { out += [0x0D, 0x0A] }
            }
            out += "--\(boundary)--\r\n".utf8
        case .message(let bytes):
            out += Self.fold("Content-Type", "message/rfc822")
            out += [0x0D, 0x0A]
            out += bytes
        case .raw(let type, let bytes):
            out += Self.fold("Content-Type", type)
            out += [0x0D, 0x0A]
            out += bytes
        }
    }

    static func hasLongLine(_ bytes: [UInt8]) -> Bool {
        var run = 0
        for b in bytes {
            if b == 0x0A { run = 0 } else { run += 1; if run > 998 { return true } }
        }
        return false
    }

    static func crlf(_ text: String) -> String {
        var out = ""
        var previous: Character = " "
        for ch in text {
            if ch == "\n" && previous != "\r" { out += "\r\n" } else { out.append(ch) }
            previous = ch
        }
        return out
    }

    /// A token, a quoted string, or an RFC 2231 extended value for non-ASCII text.
    static func parameterValue(_ value: String) -> String {
        if value.utf8.contains(where: { $0 >= 0x80 }) {
            // RFC 2231 extended form goes in `name*=`; callers that need that should pass it via `parameters`.
            return MailboxAddress.quoted(EncodedWords.encode(value))
        }
        let isToken = !value.isEmpty && value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && !ParameterScanner.isTSpecial($0) }
        return isToken ? value : MailboxAddress.quoted(value)
    }

    /// RFC 5322 §2.2.3 folding: `Name: value` broken before whitespace so lines stay within 78 characters when possible.
    public static func fold(_ name: String, _ value: String) -> [UInt8] {
        let words = value.split(separator: " ", omittingEmptySubsequences: false)
        var out = Array("\(name):".utf8)
        var lineLength = out.count
        for word in words {
            let w = Array(word.utf8)
            if lineLength + 1 + w.count > 78, lineLength > name.utf8.count + 1 {
                out += [0x0D, 0x0A]
                lineLength = 0
            }
            out.append(0x20)
            out += w
            lineLength += 1 + w.count
        }
        out += [0x0D, 0x0A]
        return out
    }
}
