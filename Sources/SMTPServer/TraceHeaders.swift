import MailCore

/// The header fields the server adds to a message it accepts.
///
/// - `Received:` (RFC 5321 §4.4) on every message, both roles, with the RFC 3848 / RFC 6531 §3.7.3 `with` protocol
///   (`ESMTP`, `ESMTPA`, `ESMTPS`, `ESMTPSA`, `UTF8SMTP…`, `SMTP` after HELO) and a comment with the TLS version and the
///   authenticated user.
/// - `From:`, `Date:` and `Message-ID:` when a submitted message lacks them (RFC 6409 §8.2, §8.3). Nothing the user
///   wrote is changed or removed.
public enum TraceHeaders {
    /// Facts about the transaction that go into the Received field.
    public struct Transaction: Sendable, Hashable {
        /// The EHLO/HELO argument, as the client gave it.
        public var clientName: String
        /// The client's IP address, if known.
        public var clientAddress: String?
        public var usedEHLO: Bool
        public var smtpUTF8: Bool
        /// e.g. "TLSv1.3"; nil when the transaction ran in cleartext.
        public var tlsVersion: String?
        public var tlsActive: Bool
        public var authenticatedUser: String?
        /// The transaction id, also in the 250 reply.
        public var id: String
        /// The only recipient, when there is exactly one (RFC 5321 §4.4 `for`); nil otherwise, so as not to disclose Bcc.
        public var singleRecipient: EmailAddress?

        public init(
            clientName: String, clientAddress: String?, usedEHLO: Bool, smtpUTF8: Bool, tlsActive: Bool, tlsVersion: String?,
            authenticatedUser: String?, id: String, singleRecipient: EmailAddress?
        ) {
            self.clientName = clientName
            self.clientAddress = clientAddress
            self.usedEHLO = usedEHLO
            self.smtpUTF8 = smtpUTF8
            self.tlsActive = tlsActive
            self.tlsVersion = tlsVersion
            self.authenticatedUser = authenticatedUser
            self.id = id
            self.singleRecipient = singleRecipient
        }

        // Protocol = "ESMTP" / "SMTP" / Attdl-Protocol (RFC 5321 §4.4); ESMTPA/ESMTPS/ESMTPSA (RFC 3848 §3);
        // UTF8SMTP, UTF8SMTPA, UTF8SMTPS, UTF8SMTPSA (RFC 6531 §3.7.3).
        public var withProtocol: String {
            guard usedEHLO else { return "SMTP" }
            let base = smtpUTF8 ? "UTF8SMTP" : "ESMTP"
            return base + (tlsActive ? "S" : "") + (authenticatedUser != nil ? "A" : "")
        }
    }

    // Time-stamp-line = "Received:" FWS Stamp <CRLF>
    // Stamp = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
    // From-domain = "FROM" FWS Extended-Domain ; Extended-Domain = Domain / (Domain FWS "(" TCP-info ")") / …
    // By-domain = CFWS "BY" FWS Extended-Domain ; Opt-info = [Via] [With] [ID] [For] [Additional-Registered-Clauses]
    // (RFC 5321 §4.4)
    /// The Received field, folded, ending in CRLF.
    public static func received(_ transaction: Transaction, hostname: DomainName, date: MessageDate) -> String {
        var from = "from \(sanitized(transaction.clientName))"
        if let address = transaction.clientAddress {
            from += " (" + (address.contains(":") ? "[IPv6:\(address)]" : "[\(address)]") + ")"
        }
        var lines = ["Received: " + from, "\tby \(hostname.name) (Letterbox) with \(transaction.withProtocol) id \(transaction.id)"]
        var comment: [String] = []
        if transaction.tlsActive { comment.append("version=\(transaction.tlsVersion ?? "TLS")") }
        if let user = transaction.authenticatedUser { comment.append("authenticated as \(sanitized(user))") }
        if !comment.isEmpty { lines.append("\t(" + comment.joined(separator: "; ") + ")") }
        if let recipient = transaction.singleRecipient { lines.append("\tfor <\(sanitized(recipient.description))>") }
        lines[lines.count - 1] += ";"
        lines.append("\t" + date.rfc5322)
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// Comments may not hold parentheses, backslashes or line breaks unescaped: replace them.
    static func sanitized(_ text: String) -> String {
        String(text.unicodeScalars.map { "()\\\r\n".unicodeScalars.contains($0) || $0.value < 0x20 ? "_" : Character($0) })
    }

    /// The lower-cased names of the header fields of `message` (the part before the first empty line).
    public static func headerFieldNames(_ message: [UInt8]) -> Set<String> {
        var names: Set<String> = []
        var index = 0
        while index < message.count {
            var end = index
            while end < message.count, message[end] != 10 { end += 1 }
            var line = message[index..<end]
            if line.last == 13 { line = line.dropLast() }
            if line.isEmpty { break }  // the empty line that ends the header section
            if line.first != 32, line.first != 9, let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self).trimmingSuffix(" \t").lowercased()
                names.insert(name)
            }
            index = end + 1
        }
        return names
    }

    /// The fields a submission server adds to a message that lacks them (RFC 6409 §8): `Date:` and `Message-ID:`, and
    /// `From:` with the authenticated account's address when `from` is given (RFC 6409 §8.3 lets the server add it).
    public static func missingSubmissionFields(
        _ message: [UInt8], hostname: DomainName, date: MessageDate, uniqueID: String, from: EmailAddress? = nil
    ) -> String {
        let names = headerFieldNames(message)
        var fields = ""
        if let from, !names.contains("from") { fields += "From: <\(from)>\r\n" }
        if !names.contains("date") { fields += "Date: \(date.rfc5322)\r\n" }
        if !names.contains("message-id") { fields += "Message-ID: <\(uniqueID)@\(hostname.name)>\r\n" }
        return fields
    }
}

extension String {
    func trimmingSuffix(_ characters: String) -> String {
        var text = Substring(self)
        while let last = text.last, characters.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
