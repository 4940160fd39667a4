import MailCore

/// `BODY=` values (RFC 6152 §2, RFC 3030 §3).
public enum SMTPBodyType: String, Hashable, Sendable {
    case sevenBit = "7BIT"
    case eightBitMIME = "8BITMIME"
    case binaryMIME = "BINARYMIME"
}

/// `RET=` values (RFC 3461 §4.3).
public enum SMTPDSNReturn: String, Hashable, Sendable {
    case full = "FULL"
    case headers = "HDRS"
}

/// `NOTIFY=` (RFC 3461 §4.1): NEVER, or a non-empty set of SUCCESS / FAILURE / DELAY.
public enum SMTPDSNNotify: Hashable, Sendable {
    case never
    case conditions(success: Bool, failure: Bool, delay: Bool)

    public var encoded: String {
        switch self {
        case .never: return "NEVER"
        case .conditions(let success, let failure, let delay):
            return [success ? "SUCCESS" : nil, failure ? "FAILURE" : nil, delay ? "DELAY" : nil].compactMap { $0 }.joined(separator: ",")
        }
    }
}

/// `ORCPT=addr-type;xtext` with the xtext decoded (RFC 3461 §4.2).
public struct SMTPOriginalRecipient: Hashable, Sendable {
    public var addressType: String
    public var address: String

    public init(addressType: String, address: String) {
        self.addressType = addressType
        self.address = address
    }

    public var encoded: String { "\(addressType);\(SMTPXText.encode(address))" }
}

/// `AUTH=` on MAIL (RFC 4954 §5): `<>` or an xtext-encoded mailbox.
public enum SMTPAuthIdentity: Hashable, Sendable {
    case unknown
    case mailbox(String)

    public var encoded: String {
        switch self {
        case .unknown: "<>"
        case .mailbox(let mailbox): SMTPXText.encode(mailbox)
        }
    }
}

/// Parameters of MAIL FROM that Letterbox understands.
public struct SMTPMailParameters: Hashable, Sendable {
    /// `SIZE=` declared message size (RFC 1870 §6).
    public var size: UInt64?
    public var body: SMTPBodyType?
    /// `SMTPUTF8` (RFC 6531 §3.4).
    public var smtpUTF8 = false
    public var dsnReturn: SMTPDSNReturn?
    /// `ENVID=` decoded from xtext (RFC 3461 §4.4).
    public var envelopeID: String?
    public var authIdentity: SMTPAuthIdentity?
    /// `REQUIRETLS` (RFC 8689 §2).
    public var requireTLS = false

    public init(
        size: UInt64? = nil, body: SMTPBodyType? = nil, smtpUTF8: Bool = false, dsnReturn: SMTPDSNReturn? = nil,
        envelopeID: String? = nil, authIdentity: SMTPAuthIdentity? = nil, requireTLS: Bool = false
    ) {
        self.size = size
        self.body = body
        self.smtpUTF8 = smtpUTF8
        self.dsnReturn = dsnReturn
        self.envelopeID = envelopeID
        self.authIdentity = authIdentity
        self.requireTLS = requireTLS
    }

    /// The wire form, each parameter preceded by a space (empty when there are none).
    public var encoded: String {
        var parts: [String] = []
        if let size { parts.append("SIZE=\(size)") }
        if let body { parts.append("BODY=\(body.rawValue)") }
        if smtpUTF8 { parts.append("SMTPUTF8") }
        if let dsnReturn { parts.append("RET=\(dsnReturn.rawValue)") }
        if let envelopeID { parts.append("ENVID=\(SMTPXText.encode(envelopeID))") }
        if let authIdentity { parts.append("AUTH=\(authIdentity.encoded)") }
        if requireTLS { parts.append("REQUIRETLS") }
        return parts.map { " " + $0 }.joined()
    }
}

/// Parameters of RCPT TO that Letterbox understands (RFC 3461 §4.1, §4.2).
public struct SMTPRecipientParameters: Hashable, Sendable {
    public var notify: SMTPDSNNotify?
    public var originalRecipient: SMTPOriginalRecipient?

    public init(notify: SMTPDSNNotify? = nil, originalRecipient: SMTPOriginalRecipient? = nil) {
        self.notify = notify
        self.originalRecipient = originalRecipient
    }

    public var encoded: String {
        var parts: [String] = []
        if let notify { parts.append("NOTIFY=\(notify.encoded)") }
        if let originalRecipient { parts.append("ORCPT=\(originalRecipient.encoded)") }
        return parts.map { " " + $0 }.joined()
    }
}

/// The `xtext` encoding of RFC 3461 §4.
public enum SMTPXText {
    // xtext = *( xchar / hexchar )
    // xchar = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except for "+" and "=".
    // hexchar = ASCII "+" immediately followed by two upper case hexadecimal digits
    /// Decodes xtext to its octets; nil when the text is not xtext.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                guard index + 2 < bytes.count, let high = upperHex(bytes[index + 1]), let low = upperHex(bytes[index + 2]) else {
                    return nil
                }
                out.append(high << 4 | low)
                index += 3
            } else {
                guard (33...126).contains(byte), byte != UInt8(ascii: "=") else { return nil }
                out.append(byte)
                index += 1
            }
        }
        return out
    }

    /// Encodes octets as xtext: `!`..`~` except `+` and `=` as themselves, everything else as `+XX`.
    public static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if (33...126).contains(byte), byte != UInt8(ascii: "+"), byte != UInt8(ascii: "=") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let digits = Array("0123456789ABCDEF".utf8)
                out += "+" + String(ascii: [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
            }
        }
        return out
    }

    private static func upperHex(_ byte: UInt8) -> UInt8? {
        if isDigit(byte) { return byte - UInt8(ascii: "0") }
        if byte >= UInt8(ascii: "A"), byte <= UInt8(ascii: "F") { return byte - UInt8(ascii: "A") + 10 }
        return nil
    }
}

/// One `esmtp-param` before interpretation: keyword upper-cased, value as written.
struct SMTPRawParameter: Hashable {
    var keyword: String
    var value: String?
}

enum SMTPParameterGrammar {
    static let maximumEnvelopeIDLength = 100
    static let maximumOriginalRecipientLength = 500

    // Mail-parameters  = esmtp-param *(SP esmtp-param)
    // esmtp-param    = esmtp-keyword ["=" esmtp-value]
    // esmtp-keyword  = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    // esmtp-value    = 1*(%d33-60 / %d62-126)          ; =/ UTF8-non-ascii (RFC 6531 §3.3)
    static func parseParameters(_ scanner: inout SMTPScanner) throws(SMTPCommandError) -> [SMTPRawParameter] {
        var parameters: [SMTPRawParameter] = []
        while !scanner.isAtEnd {
            guard scanner.take(" ") else { throw .invalidArguments }
            if scanner.isAtEnd { break }  // tolerate one trailing space
            let keyword = scanner.takeWhile { isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
            guard let first = keyword.first, isAlpha(first) || isDigit(first) else { throw .invalidArguments }
            var value: String?
            if scanner.take("=") {
                let raw = scanner.takeWhile { (33...60).contains($0) || (62...126).contains($0) || $0 >= 0x80 }
                guard !raw.isEmpty else { throw .invalidArguments }
                value = String(decoding: raw, as: UTF8.self)
            }
            guard scanner.isAtEnd || scanner.peek == UInt8(ascii: " ") else { throw .invalidArguments }
            parameters.append(SMTPRawParameter(keyword: String(ascii: keyword).uppercased(), value: value))
        }
        let keywords = parameters.map(\.keyword)
        guard Set(keywords).count == keywords.count else { throw .duplicateParameter }
        return parameters
    }

    static func mailParameters(_ raw: [SMTPRawParameter]) throws(SMTPCommandError) -> SMTPMailParameters {
        var result = SMTPMailParameters()
        for parameter in raw {
            switch (parameter.keyword, parameter.value) {
            // size-value ::= 1*20DIGIT   (RFC 1870 §6)
            case ("SIZE", let value?):
                guard value.utf8.count <= 20, value.utf8.allSatisfy(isDigit) else { throw .invalidParameterValue("SIZE") }
                result.size = UInt64(value) ?? UInt64.max
            // body-value ::= "7BIT" / "8BITMIME" / "BINARYMIME"   (RFC 6152 §2, RFC 3030 §3)
            case ("BODY", let value?):
                guard let body = SMTPBodyType(rawValue: value.uppercased()) else { throw .invalidParameterValue("BODY") }
                result.body = body
            case ("SMTPUTF8", nil):
                result.smtpUTF8 = true
            case ("RET", let value?):
                guard let ret = SMTPDSNReturn(rawValue: value.uppercased()) else { throw .invalidParameterValue("RET") }
                result.dsnReturn = ret
            // envid-parameter = "ENVID=" xtext   (RFC 3461 §4.4)
            case ("ENVID", let value?):
                guard let bytes = SMTPXText.decode(value), bytes.count <= maximumEnvelopeIDLength,
                    bytes.allSatisfy({ (32...126).contains($0) || $0 == 9 })
                else { throw .invalidParameterValue("ENVID") }
                result.envelopeID = String(ascii: bytes)
            // AUTH=mailbox / "<>"   (RFC 4954 §5)
            case ("AUTH", let value?):
                if value == "<>" {
                    result.authIdentity = .unknown
                } else {
                    guard let bytes = SMTPXText.decode(value), let text = String(validating: bytes, as: UTF8.self) else {
                        throw .invalidParameterValue("AUTH")
                    }
                    result.authIdentity = .mailbox(text)
                }
            case ("REQUIRETLS", nil):
                result.requireTLS = true
            case ("SIZE", nil), ("BODY", nil), ("RET", nil), ("ENVID", nil), ("AUTH", nil), ("SMTPUTF8", _?), ("REQUIRETLS", _?):
                throw .invalidParameterValue(parameter.keyword)
            default:
                throw .unrecognizedParameter(parameter.keyword)
            }
        }
        return result
    }

    static func recipientParameters(_ raw: [SMTPRawParameter]) throws(SMTPCommandError) -> SMTPRecipientParameters {
        var result = SMTPRecipientParameters()
        for parameter in raw {
            switch (parameter.keyword, parameter.value) {
            case ("NOTIFY", let value?):
                guard let notify = parseNotify(value) else { throw .invalidParameterValue("NOTIFY") }
                result.notify = notify
            case ("ORCPT", let value?):
                guard let original = parseOriginalRecipient(value) else { throw .invalidParameterValue("ORCPT") }
                result.originalRecipient = original
            case ("NOTIFY", nil), ("ORCPT", nil):
                throw .invalidParameterValue(parameter.keyword)
            default:
                throw .unrecognizedParameter(parameter.keyword)
            }
        }
        return result
    }

    // notify-esmtp-value = "NEVER" / 1#notify-list-element
    // notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"      (RFC 3461 §4.1; NEVER must appear by itself)
    static func parseNotify(_ value: String) -> SMTPDSNNotify? {
        let elements = value.uppercased().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if elements == ["NEVER"] { return .never }
        guard !elements.isEmpty, Set(elements).count == elements.count,
            elements.allSatisfy({ ["SUCCESS", "FAILURE", "DELAY"].contains($0) })
        else { return nil }
        return .conditions(success: elements.contains("SUCCESS"), failure: elements.contains("FAILURE"), delay: elements.contains("DELAY"))
    }

    // orcpt-parameter = "ORCPT=" original-recipient-address
    // original-recipient-address = addr-type ";" xtext
    // addr-type = atom                                           (RFC 3461 §4.2; at most 500 characters)
    static func parseOriginalRecipient(_ value: String) -> SMTPOriginalRecipient? {
        guard value.utf8.count + 6 <= maximumOriginalRecipientLength, let semicolon = value.firstIndex(of: ";") else { return nil }
        let type = value[..<semicolon]
        guard !type.isEmpty, type.utf8.allSatisfy({ EmailAddress.isAtext($0) }), let bytes = SMTPXText.decode(value[value.index(after: semicolon)...]),
            let address = String(validating: bytes, as: UTF8.self), !address.isEmpty
        else { return nil }
        if type.lowercased() == "rfc822", !bytes.allSatisfy({ (32...126).contains($0) }) { return nil }
        return SMTPOriginalRecipient(addressType: String(type), address: address)
    }
}
