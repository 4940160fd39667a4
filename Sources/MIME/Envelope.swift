import MailCore

/// One `address` of an IMAP ENVELOPE (RFC 3501 §7.4.2): `"(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"`.
/// A group start has a nil host and the group name as mailbox; a group end is all nil.
public struct IMAPAddress: Hashable, Sendable {
    public var name: [UInt8]?
    public var adl: [UInt8]?
    public var mailbox: [UInt8]?
    public var host: [UInt8]?

    public init(name: [UInt8]?, adl: [UInt8]?, mailbox: [UInt8]?, host: [UInt8]?) {
        self.name = name
        self.adl = adl
        self.mailbox = mailbox
        self.host = host
    }

    /// Builds the IMAP address list for an address header value, with RFC 3501 group markers.
    public static func list(from entries: [AddressListEntry]) -> [IMAPAddress] {
        var out: [IMAPAddress] = []
        for entry in entries {
            switch entry {
            case .mailbox(let m):
                out.append(IMAPAddress(mailbox: m))
            case .group(let name, let members):
                out.append(IMAPAddress(name: nil, adl: nil, mailbox: Array(name.utf8), host: nil))
                for m in members { out.append(IMAPAddress(mailbox: m)) }
                out.append(IMAPAddress(name: nil, adl: nil, mailbox: nil, host: nil))
            }
        }
        return out
    }

    /// Dovecot's convention for unparsable parts: a missing local part or domain is reported as `MISSING_MAILBOX` /
    /// `MISSING_DOMAIN` (so the address is never mistaken for a group marker), a broken one as `SYNTAX_ERROR`.
    init(mailbox m: MailboxAddress) {
        self.name = m.displayName.map { Array($0.utf8) }
        self.adl = m.route.map { Array($0.utf8) }
        self.mailbox = Array((m.localPart.isEmpty ? "MISSING_MAILBOX" : m.localPart).utf8)
        // An address with a domain that still failed to parse (e.g. `<a@b` without `>`) is reported as Dovecot does.
        self.host = Array((m.domain.map { m.isValid ? $0 : "SYNTAX_ERROR" } ?? "MISSING_DOMAIN").utf8)
    }
}

/// The IMAP ENVELOPE of a message (RFC 3501 §7.4.2 / RFC 9051 §7.5.2): header values as written (unfolded, not decoded).
public struct Envelope: Hashable, Sendable {
    public var date: [UInt8]?
    public var subject: [UInt8]?
    public var from: [IMAPAddress]
    public var sender: [IMAPAddress]
    public var replyTo: [IMAPAddress]
    public var to: [IMAPAddress]
    public var cc: [IMAPAddress]
    public var bcc: [IMAPAddress]
    public var inReplyTo: [UInt8]?
    public var messageID: [UInt8]?

    /// Builds the envelope from a header. Sender and Reply-To default to From when absent (RFC 3501 §7.4.2).
    ///
    /// A field that occurs more than once (RFC 5322 §3.6 allows each only once, but such mail exists) is read as Dovecot
    /// reads it, which RFC 3501 leaves open: the addresses of every From, Sender, Reply-To, To, Cc and Bcc field, in
    /// order, so no recipient is hidden from the client; for Date, Subject, In-Reply-To and Message-ID the last field.
    public init(header: Header) {
        func text(_ name: String) -> [UInt8]? {
            guard let field = header.fields(named: name).last else { return nil }
            let v = field.unfoldedBytes
            return v.isEmpty ? nil : v
        }
        func addresses(_ name: String) -> [IMAPAddress] {
            header.fields(named: name).flatMap { IMAPAddress.list(from: AddressParser.parseList(bytes: $0.unfoldedBytes)) }
        }
        date = text("Date")
        subject = text("Subject")
        from = addresses("From")
        let s = addresses("Sender")
        sender = s.isEmpty ? from : s
        let r = addresses("Reply-To")
        replyTo = r.isEmpty ? from : r
        to = addresses("To")
        cc = addresses("Cc")
        bcc = addresses("Bcc")
        inReplyTo = text("In-Reply-To")
        messageID = text("Message-ID")
    }

    /// The wire form: `"(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP env-to SP env-cc SP
    /// env-bcc SP env-in-reply-to SP env-message-id ")"`.
    public var wireBytes: [UInt8] {
        var w = IMAPWireWriter()
        write(to: &w)
        return w.bytes
    }

    public func write(to w: inout IMAPWireWriter) {
        w.open()
        w.nstring(date); w.space()
        w.nstring(subject); w.space()
        for list in [from, sender, replyTo, to, cc, bcc] {
            Self.writeAddresses(list, to: &w)
            w.space()
        }
        w.nstring(inReplyTo); w.space()
        w.nstring(messageID)
        w.close()
    }

    static func writeAddresses(_ list: [IMAPAddress], to w: inout IMAPWireWriter) {
        guard !list.isEmpty else { w.nil_(); return }
        w.open()
        for a in list {
            w.open()
            w.nstring(a.name); w.space()
            w.nstring(a.adl); w.space()
            w.nstring(a.mailbox); w.space()
            w.nstring(a.host)
            w.close()
        }
        w.close()
    }
}
