import MailCore
import Crypto

/// Signs outgoing messages (RFC 6376 §5): relaxed/relaxed, SHA-256, `t=`, no `l=`; From is over-signed so that no
/// second From can be added without breaking the signature (§8.15).
public struct DKIMSigner: Sendable {
    /// The fields signed when present (in this order), each as often as it occurs.
    public static let defaultHeaders = [
        "From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID", "In-Reply-To", "References", "MIME-Version",
        "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Content-Language", "Sender", "Resent-Date",
        "Resent-From", "Resent-To", "Resent-Cc", "List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post",
        "List-Subscribe", "List-Post", "List-Owner", "List-Archive", "Autocrypt", "Feedback-ID",
    ]

    public var key: DKIMPrivateKey
    public var domain: String
    public var selector: String
    public var headers: [String]
    /// Listed once more than they occur (§5.4.2), so adding one breaks the signature.
    public var oversignedHeaders: [String]

    public init(key: DKIMPrivateKey, domain: String, selector: String, headers: [String] = DKIMSigner.defaultHeaders,
                oversignedHeaders: [String] = ["From"]) {
        self.key = key
        self.domain = domain.lowercased()
        self.selector = selector.lowercased()
        self.headers = headers
        self.oversignedHeaders = oversignedHeaders
    }

    public enum SignError: Error, Sendable, Hashable {
        case crypto(String)
    }

    /// The complete `DKIM-Signature: …\r\n` field to put on top of the message. Messages with bare LF line ends are
    /// signed as if they had CRLF (as they will on the wire).
    public func sign(message: [UInt8], now: UnixTime) throws(SignError) -> String {
        let parsed = RawMessage(message)
        let bodyHash = Base64.encode(Array(SHA256.hash(data: DKIMCanonicalization.relaxed.canonicalize(body: parsed.body))))
        var names: [String] = []
        for name in headers {
            let count = parsed.fields.filter { $0.lowercasedName == name.lowercased() }.count
            let oversigned = oversignedHeaders.contains { $0.lowercased() == name.lowercased() }
            names += Array(repeating: name.lowercased(), count: count + (oversigned ? 1 : 0))
        }
        let tags = [
            "v=1", "a=\(key.algorithm.rawValue)", "c=relaxed/relaxed", "d=\(domain)", "s=\(selector)", "t=\(now)",
            "h=" + names.joined(separator: ":"), "bh=\(bodyHash)", "b=",
        ]
        let unsigned = Self.fold(tags)
        let field = RawHeaderField(name: "DKIM-Signature", raw: Array(unsigned.utf8) + [0x0D, 0x0A])
        let data = dkimSignedData(fields: parsed.fields, signedHeaders: names, signatureField: field,
                                  canonicalization: .relaxed)
        let signature: [UInt8]
        do { signature = try key.sign(data) } catch { throw .crypto("\(error)") }
        return unsigned + Self.foldBase64(Base64.encode(signature), column: Self.lastLineLength(unsigned)) + "\r\n"
    }

    /// `DKIM-Signature: tag; tag; …` with lines kept under 78 characters by folding between tags and inside `h=`.
    static func fold(_ tags: [String]) -> String {
        var text = "DKIM-Signature:"
        var column = text.count
        for (index, tag) in tags.enumerated() {
            let piece = tag + (index == tags.count - 1 ? "" : ";")
            let pieces: [String] = piece.count > 70 && piece.hasPrefix("h=")
                ? piece.split(separator: ":", omittingEmptySubsequences: false).enumerated()
                    .map { $0.offset == 0 ? String($0.element) : ":" + $0.element }
                : [piece]
            for (part, chunk) in pieces.enumerated() {
                let separator = part == 0 ? " " : ""
                if column + separator.count + chunk.count > 76 {
                    text += "\r\n " + chunk
                    column = 1 + chunk.count
                } else {
                    text += separator + chunk
                    column += separator.count + chunk.count
                }
            }
        }
        return text
    }

    static func lastLineLength(_ text: String) -> Int {
        text.split(separator: "\n", omittingEmptySubsequences: false).last?.count ?? text.count
    }

    /// Base64 continued on new lines ("\r\n ") whenever a line would pass 76 characters; folding inside `b=` is removed
    /// with the value when verifying (§3.7).
    static func foldBase64(_ value: String, column: Int) -> String {
        var output = ""
        var column = column
        for character in value {
            if column >= 76 {
                output += "\r\n "
                column = 1
            }
            output.append(character)
            column += 1
        }
        return output
    }
}
