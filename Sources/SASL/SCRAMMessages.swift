/// SCRAM message grammar (RFC 5802 §7), shared by the server and client state machines. One parse function per message
/// production; each keeps the exact text it parsed because the AuthMessage signs the messages as sent.
import Crypto

/// The gs2 header of a client-first-message. Only the flags without channel binding are accepted.
struct GS2Header: Sendable, Hashable {
    enum ChannelBindingFlag: Sendable, Hashable {
        /// `n`: the client does not support channel binding.
        case notSupported
        /// `y`: the client supports it but thinks the server does not (correct: we do not offer -PLUS).
        case notOfferedByServer
    }

    var flag: ChannelBindingFlag
    var authorizationID: String?
    /// The header exactly as sent, including both commas; `c=` in the final message must repeat it.
    var text: String

    init(flag: ChannelBindingFlag = .notSupported, authorizationID: String? = nil) {
        self.flag = flag
        self.authorizationID = authorizationID
        self.text = (flag == .notSupported ? "n" : "y") + "," + (authorizationID.map { "a=" + SCRAMName.encode($0) } ?? "") + ","
    }
}

/// `client-first-message = gs2-header client-first-message-bare`
struct ClientFirstMessage: Sendable, Hashable {
    var header: GS2Header
    /// `client-first-message-bare`, as sent (part of the AuthMessage).
    var bare: String
    /// The decoded `n=` user name, not yet SASLprep'd.
    var username: String
    var clientNonce: String

    init(header: GS2Header, username: String, clientNonce: String) {
        self.header = header
        self.username = username
        self.clientNonce = clientNonce
        self.bare = "n=\(SCRAMName.encode(username)),r=\(clientNonce)"
    }

    var text: String { header.text + bare }

    // gs2-header      = gs2-cbind-flag "," [ authzid ] ","
    // gs2-cbind-flag  = ("p=" cb-name) / "n" / "y"
    // authzid         = "a=" saslname
    // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    // username        = "n=" saslname
    // nonce           = "r=" c-nonce [s-nonce]
    static func parse(_ text: String) throws(SASLError) -> ClientFirstMessage {
        let parts = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformedMessage("SCRAM client-first-message lacks a gs2 header") }
        let flag: GS2Header.ChannelBindingFlag
        switch parts[0] {
        case "n": flag = .notSupported
        case "y": flag = .notOfferedByServer
        case let cbind where cbind.hasPrefix("p="): throw .channelBindingNotSupported
        default: throw .malformedMessage("SCRAM gs2-cbind-flag must be n or y")
        }
        var authzid: String?
        if !parts[1].isEmpty {
            guard parts[1].hasPrefix("a=") else { throw .malformedMessage("SCRAM gs2 authzid must start with a=") }
            authzid = try SCRAMName.decode(parts[1].dropFirst(2))
        }
        let bare = String(parts[2])
        let attributes = try SCRAMAttribute.parseList(bare)
        if attributes.first?.name == "m" { throw .extensionsNotSupported }
        guard attributes.first?.name == "n" else { throw .malformedMessage("SCRAM username (n=) missing") }
        guard attributes.count >= 2, attributes[1].name == "r" else { throw .malformedMessage("SCRAM nonce (r=) missing") }
        try SCRAMAttribute.checkExtensions(attributes.dropFirst(2))
        let username = try SCRAMName.decode(attributes[0].value)
        let nonce = try SCRAMNonce.checked(attributes[1].value)
        var header = GS2Header(flag: flag, authorizationID: authzid)
        header.text = String(parts[0]) + "," + parts[1] + ","
        var message = ClientFirstMessage(header: header, username: username, clientNonce: nonce)
        message.bare = bare
        return message
    }
}

/// `server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]`
struct ServerFirstMessage: Sendable, Hashable {
    var nonce: String
    var salt: [UInt8]
    var iterations: Int

    var text: String { "r=\(nonce),s=\(SASLBase64.encode(salt)),i=\(iterations)" }

    // salt            = "s=" base64
    // iteration-count = "i=" posit-number
    // posit-number    = %x31-39 *DIGIT
    static func parse(_ text: String) throws(SASLError) -> ServerFirstMessage {
        let attributes = try SCRAMAttribute.parseList(text)
        if attributes.first?.name == "m" { throw .extensionsNotSupported }
        guard attributes.count >= 3, attributes[0].name == "r", attributes[1].name == "s", attributes[2].name == "i" else {
            throw .malformedMessage("SCRAM server-first-message needs r=, s= and i=")
        }
        try SCRAMAttribute.checkExtensions(attributes.dropFirst(3))
        let digits = attributes[2].value
        guard let first = digits.first, first != "0", digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let iterations = Int(digits) else {
            throw .malformedMessage("SCRAM iteration-count is not a positive number")
        }
        return ServerFirstMessage(
            nonce: try SCRAMNonce.checked(attributes[0].value), salt: try SASLBase64.decode(attributes[1].value),
            iterations: iterations)
    }
}

/// `client-final-message = client-final-message-without-proof "," proof`
struct ClientFinalMessage: Sendable, Hashable {
    /// `client-final-message-without-proof`, as sent (part of the AuthMessage).
    var withoutProof: String
    var channelBinding: [UInt8]
    var nonce: String
    var proof: [UInt8]

    var text: String { withoutProof + ",p=" + SASLBase64.encode(proof) }

    // client-final-message-without-proof = channel-binding "," nonce ["," extensions]
    // channel-binding = "c=" base64
    // proof           = "p=" base64
    static func parse(_ text: String) throws(SASLError) -> ClientFinalMessage {
        let attributes = try SCRAMAttribute.parseList(text)
        if attributes.first?.name == "m" { throw .extensionsNotSupported }
        guard attributes.first?.name == "c" else { throw .malformedMessage("SCRAM channel-binding (c=) missing") }
        guard attributes.count >= 2, attributes[1].name == "r" else { throw .malformedMessage("SCRAM nonce (r=) missing") }
        guard attributes.count >= 3, let last = attributes.last, last.name == "p" else {
            throw .malformedMessage("SCRAM proof (p=) missing")
        }
        try SCRAMAttribute.checkExtensions(attributes.dropFirst(2).dropLast())
        guard let proofComma = text.lastIndex(of: ",") else { throw .malformedMessage("SCRAM proof (p=) missing") }
        return ClientFinalMessage(
            withoutProof: String(text[..<proofComma]), channelBinding: try SASLBase64.decode(attributes[0].value),
            nonce: String(attributes[1].value), proof: try SASLBase64.decode(last.value))
    }
}

/// `server-final-message = (server-error / verifier) ["," extensions]`
enum ServerFinalMessage: Sendable, Hashable {
    case verifier([UInt8])
    case error(String)

    var text: String {
        switch self {
        case .verifier(let signature): "v=" + SASLBase64.encode(signature)
        case .error(let value): "e=" + value
        }
    }

    // server-error = "e=" server-error-value
    // verifier     = "v=" base64
    static func parse(_ text: String) throws(SASLError) -> ServerFinalMessage {
        let attributes = try SCRAMAttribute.parseList(text)
        guard let first = attributes.first else { throw .malformedMessage("SCRAM server-final-message is empty") }
        try SCRAMAttribute.checkExtensions(attributes.dropFirst())
        switch first.name {
        case "e": return .error(String(first.value))
        case "v": return .verifier(try SASLBase64.decode(first.value))
        default: throw .malformedMessage("SCRAM server-final-message needs v= or e=")
        }
    }
}

/// `attr-val = ALPHA "=" value`
struct SCRAMAttribute: Sendable, Hashable {
    var name: Character
    var value: Substring

    static func parseList(_ text: String) throws(SASLError) -> [SCRAMAttribute] {
        guard !text.isEmpty else { return [] }
        var result: [SCRAMAttribute] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard item.count >= 2, let name = item.first, name.isASCII, name.isLetter,
                  item[item.index(after: item.startIndex)] == "=" else {
                throw .malformedMessage("SCRAM attribute \"\(item.prefix(16))\" is not ALPHA \"=\" value")
            }
            result.append(SCRAMAttribute(name: name, value: item.dropFirst(2)))
        }
        return result
    }

    /// Optional extensions are ignored (RFC 5802 §7 `extensions`), but an attribute the grammar already used, or `m=`
    /// out of place, is malformed.
    static func checkExtensions(_ attributes: ArraySlice<SCRAMAttribute>) throws(SASLError) {
        for attribute in attributes where "mnrcpsiaev".contains(attribute.name) {
            throw .malformedMessage("SCRAM attribute \(attribute.name)= out of place")
        }
    }
}

/// `saslname = 1*(value-safe-char / "=2C" / "=3D")`: a user name with `,` and `=` escaped.
enum SCRAMName {
    static func encode(_ name: String) -> String {
        var out = ""
        for character in name {
            switch character {
            case ",": out += "=2C"
            case "=": out += "=3D"
            default: out.append(character)
            }
        }
        return out
    }

    static func decode(_ text: Substring) throws(SASLError) -> String {
        guard !text.isEmpty else { throw .malformedMessage("SCRAM saslname is empty") }
        var out = ""
        var rest = text[...]
        while let equals = rest.firstIndex(of: "=") {
            out += rest[..<equals]
            let escape = rest[equals...].prefix(3)
            switch escape {
            case "=2C": out += ","
            case "=3D": out += "="
            default: throw .malformedMessage("SCRAM saslname has \"=\" not followed by 2C or 3D")
            }
            rest = rest[equals...].dropFirst(3)
        }
        out += rest
        guard !out.unicodeScalars.contains("\0") else { throw .malformedMessage("SCRAM saslname contains NUL") }
        return out
    }
}

/// Nonces: `printable = %x21-2B / %x2D-7E` (no comma), from a secure random source.
public enum SCRAMNonce {
    /// 24 random octets in base64: 32 printable characters, 192 bits.
    public static func random() -> String {
        SASLBase64.encode(randomBytes(count: 24))
    }

    /// Random octets from the system's secure generator (getrandom(2) on Linux).
    public static func randomBytes(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// True when `text` is a valid (non-empty) nonce.
    public static func isValid(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { (0x21...0x7E).contains($0) && $0 != UInt8(ascii: ",") }
    }

    static func checked(_ text: Substring) throws(SASLError) -> String {
        guard isValid(text) else { throw .malformedMessage("SCRAM nonce has characters outside printable") }
        return String(text)
    }
}

/// The SCRAM-SHA-256 functions of RFC 5802 §3 with H = SHA-256 (RFC 7677).
enum SCRAMSHA256 {
    static func hmac(_ key: [UInt8], _ data: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(data.utf8), using: SymmetricKey(data: key)))
    }

    static func hash(_ data: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: data))
    }

    static func xor(_ lhs: [UInt8], _ rhs: [UInt8]) -> [UInt8] {
        zip(lhs, rhs).map { $0 ^ $1 }
    }

    /// `AuthMessage := client-first-message-bare + "," + server-first-message + "," + client-final-message-without-proof`
    static func authMessage(clientFirstBare: String, serverFirst: String, clientFinalWithoutProof: String) -> String {
        clientFirstBare + "," + serverFirst + "," + clientFinalWithoutProof
    }
}
