/// Thunderbird / Evolution / K-9 autoconfig: the clientConfig document (version 1.1, compatible with 1.2 of
/// draft-ietf-mailmaint-autoconfig §"Data format"), served at `/mail/config-v1.1.xml?emailaddress=…` and
/// `/.well-known/autoconfig/mail/config-v1.1.xml`.
///
/// Server sections are listed in order of preference (§"Multiple server sections"): implicit TLS (`SSL`) before
/// `STARTTLS` (RFC 8314 §5.1). Authentication is `password-cleartext` (SASL PLAIN/LOGIN or the protocol's login),
/// which only ever travels inside TLS here; `plain` socket types are never emitted.
public enum ThunderbirdAutoconfig {
    /// The document for `domain` (the address's or the Host's local domain), listing only that domain; for nil, every
    /// local domain with the first as provider id (the host name when there is none).
    public static func document(_ settings: MailClientSettings, domain: String?) -> String {
        let provider = domain ?? settings.domains.first ?? settings.hostname
        var lines = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<clientConfig version="1.1">"#,
            #"  <emailProvider id="\#(XMLText.escape(provider))">"#,
        ]
        for local in domain.map({ [$0] }) ?? settings.domains { lines.append("    " + XMLText.element("domain", local)) }
        lines.append("    " + XMLText.element("displayName", "\(provider) mail (\(settings.hostname))"))
        lines.append("    " + XMLText.element("displayShortName", provider))
        for service in settings.incoming { lines += server("incomingServer", type: "imap", service, settings.hostname) }
        for service in settings.outgoing { lines += server("outgoingServer", type: "smtp", service, settings.hostname) }
        lines += ["  </emailProvider>", "</clientConfig>", ""]
        return lines.joined(separator: "\n")
    }

    /// The socketType value (§"socketType"): `SSL` is TLS from the first byte, `STARTTLS` a mandatory upgrade.
    static func socketType(_ security: MailClientService.Security) -> String {
        switch security {
        case .implicitTLS: "SSL"
        case .startTLS: "STARTTLS"
        }
    }

    private static func server(_ element: String, type: String, _ service: MailClientService, _ hostname: String) -> [String] {
        [
            #"    <\#(element) type="\#(type)">"#,
            "      " + XMLText.element("hostname", hostname),
            "      " + XMLText.element("port", String(service.port)),
            "      " + XMLText.element("socketType", socketType(service.security)),
            "      " + XMLText.element("authentication", "password-cleartext"),
            "      " + XMLText.element("username", "%EMAILADDRESS%"),
            "    </\(element)>",
        ]
    }
}
