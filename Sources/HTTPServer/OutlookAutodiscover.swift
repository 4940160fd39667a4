import Foundation

/// Microsoft Outlook "Plain Old XML" autodiscover ([MS-OXDSCLI] §2.2.3/§2.2.4), `POST /autodiscover/autodiscover.xml`.
/// The request names the address in `Autodiscover/Request/EMailAddress`; the response gives one IMAP and one SMTP
/// `Protocol` (the preferred of each: implicit TLS first), always with TLS and the full address as login name.
public enum OutlookAutodiscover {
    public static let requestNamespace = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
    public static let responseNamespace = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
    public static let outlookNamespace = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"

    public enum RequestError: Error, Equatable, Sendable {
        /// Not well-formed XML (the parser's message).
        case malformed(String)
        /// Well-formed, but no `EMailAddress` element in an `Autodiscover/Request`.
        case missingEmailAddress
    }

    /// The `EMailAddress` of a POX request body. Namespaces and prefixes are ignored (clients differ). Read by
    /// `POXReader`, a small strict reader of our own: no DOCTYPE (so no entity can be declared or resolved), and no
    /// libxml2 in the server, whose `XMLParser` wrapper crashed the process under concurrency.
    public static func emailAddress(inRequest body: [UInt8]) throws(RequestError) -> String {
        var path: [String] = []
        var address: String?
        var inAddress = false
        var text = ""
        do {
            try POXReader.read(body) { event in
                switch event {
                case .start(let name):
                    let local = localName(name)
                    if local == "EMailAddress", address == nil, !inAddress, path.last == "Request" { inAddress = true; text = "" }
                    path.append(local)
                case .end:
                    path.removeLast()
                    if inAddress, path.last == "Request" { inAddress = false; address = text }
                case .text(let chunk):
                    if inAddress { text += chunk }
                }
            }
        } catch {
            throw .malformed(error.description)
        }
        guard let found = address?.trimmingCharacters(in: .whitespacesAndNewlines), !found.isEmpty else { throw .missingEmailAddress }
        return found
    }

    static func localName(_ name: String) -> String {
        name.split(separator: ":").last.map(String.init) ?? name
    }

    /// The POX response for `emailAddress` (already known to be in a local domain).
    public static func response(_ settings: MailClientSettings, emailAddress: String) -> String {
        var lines = [
            #"<?xml version="1.0" encoding="utf-8"?>"#,
            #"<Autodiscover xmlns="\#(responseNamespace)">"#,
            #"  <Response xmlns="\#(outlookNamespace)">"#,
            "    <Account>",
            "      <AccountType>email</AccountType>",
            "      <Action>settings</Action>",
        ]
        if let imap = settings.incoming.first { lines += protocolElement("IMAP", imap, settings.hostname, emailAddress) }
        if let smtp = settings.outgoing.first { lines += protocolElement("SMTP", smtp, settings.hostname, emailAddress) }
        lines += ["    </Account>", "  </Response>", "</Autodiscover>", ""]
        return lines.joined(separator: "\n")
    }

    /// `Encryption` overrides `SSL` in Outlook 2010 and later: `SSL` is implicit TLS, `TLS` is STARTTLS.
    static func encryption(_ security: MailClientService.Security) -> String {
        switch security {
        case .implicitTLS: "SSL"
        case .startTLS: "TLS"
        }
    }

    private static func protocolElement(_ type: String, _ service: MailClientService, _ hostname: String, _ login: String) -> [String] {
        var lines = [
            "      <Protocol>",
            "        " + XMLText.element("Type", type),
            "        " + XMLText.element("Server", hostname),
            "        " + XMLText.element("Port", String(service.port)),
            "        <DomainRequired>off</DomainRequired>",
            "        " + XMLText.element("LoginName", login),
            "        <SPA>off</SPA>",
            "        <SSL>on</SSL>",
            "        " + XMLText.element("Encryption", encryption(service.security)),
            "        <AuthRequired>on</AuthRequired>",
        ]
        if type == "SMTP" { lines += ["        <UsePOPAuth>on</UsePOPAuth>", "        <SMTPLast>off</SMTPLast>"] }
        lines.append("      </Protocol>")
        return lines
    }
}
