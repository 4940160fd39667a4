import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

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

    /// The `EMailAddress` of a POX request body. Namespaces and prefixes are ignored (clients differ); external entities
    /// are never resolved.
    public static func emailAddress(inRequest body: [UInt8]) throws(RequestError) -> String {
        let reader = RequestReader()
        // The parser lives and dies inside the lock (its libxml2 context included).
        let (parsed, parserError) = XMLParsing.serialized {
            let parser = XMLParser(data: Data(body))
            parser.shouldResolveExternalEntities = false
            parser.shouldProcessNamespaces = true
            parser.delegate = reader
            let parsed = parser.parse()
            return (parsed, parser.parserError.map { "\($0.localizedDescription)" })
        }
        // Some XMLParser builds report success for a truncated document, so the reader also checks the root closed.
        guard parsed, reader.error == nil, reader.rootClosed else {
            throw .malformed(reader.error ?? parserError ?? "not well-formed XML")
        }
        let address = reader.emailAddress.trimmingCharacters(in: .whitespacesAndNewlines)
        guard reader.sawAddress, !address.isEmpty else { throw .missingEmailAddress }
        return address
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

/// Runs Foundation's `XMLParser` one document at a time in the whole process. On Linux it is libxml2 behind
/// swift-corelibs-foundation, which is not safe to run on several threads at once: two autodiscover requests parsed
/// together crashed the test process (Illegal instruction in `_NSXMLParserStartElementNs`), and would have crashed the
/// server the same way. Requests are small and rare, so waiting for the lock costs nothing that matters.
public enum XMLParsing {
    private static let lock = NSLock()

    public static func serialized<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// Collects the text of the first `EMailAddress` element (any namespace) inside `Request`.
private final class RequestReader: NSObject, XMLParserDelegate {
    var path: [String] = []
    var emailAddress = ""
    var sawAddress = false
    var rootClosed = false
    var error: String?
    private var inAddress = false

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        let name = Self.localName(elementName)
        if name == "EMailAddress", !sawAddress, path.last == "Request" {
            inAddress = true
            sawAddress = true
        }
        path.append(name)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard !path.isEmpty, path.removeLast() == Self.localName(elementName) else {
            error = "mismatched end tag \(elementName)"
            parser.abortParsing()
            return
        }
        if path.isEmpty { rootClosed = true }
        inAddress = false
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
        if error == nil { error = "\(parseError.localizedDescription)" }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inAddress { emailAddress += string }
    }

    static func localName(_ name: String) -> String {
        name.split(separator: ":").last.map(String.init) ?? name
    }
}
