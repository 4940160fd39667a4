import Foundation

/// An unsigned Apple configuration profile (`.mobileconfig`, an XML property list) with one `com.apple.mail.managed`
/// payload, for iOS and macOS Mail: `/apple/mail.mobileconfig?emailaddress=…`, content type
/// `application/x-apple-aspen-config`. Uses the preferred IMAP and SMTP service (implicit TLS first), always with SSL on.
public enum AppleMobileConfig {
    public static let contentType = "application/x-apple-aspen-config"

    /// The profile's property list, or nil when no IMAP or no submission service can be offered.
    public static func profile(_ settings: MailClientSettings, emailAddress: String) -> [UInt8]? {
        guard let imap = settings.incoming.first, let smtp = settings.outgoing.first,
              let domain = settings.localDomain(of: emailAddress) else { return nil }
        let identifier = reverseDNS(settings.hostname)
        let mail: [String: Any] = [
            "EmailAccountDescription": emailAddress,
            "EmailAccountType": "EmailTypeIMAP",
            "EmailAddress": emailAddress,
            "IncomingMailServerAuthentication": "EmailAuthPassword",
            "IncomingMailServerHostName": settings.hostname,
            "IncomingMailServerPortNumber": imap.port,
            "IncomingMailServerUseSSL": true,
            "IncomingMailServerUsername": emailAddress,
            "OutgoingMailServerAuthentication": "EmailAuthPassword",
            "OutgoingMailServerHostName": settings.hostname,
            "OutgoingMailServerPortNumber": smtp.port,
            "OutgoingMailServerUseSSL": true,
            "OutgoingMailServerUsername": emailAddress,
            "OutgoingPasswordSameAsIncomingPassword": true,
            "PayloadDescription": "Mail account \(emailAddress)",
            "PayloadDisplayName": "Mail (\(emailAddress))",
            "PayloadIdentifier": "\(identifier).mail.\(emailAddress)",
            "PayloadType": "com.apple.mail.managed",
            "PayloadUUID": stableUUID("mail", emailAddress, settings.hostname),
            "PayloadVersion": 1,
        ]
        let profile: [String: Any] = [
            "PayloadContent": [mail],
            "PayloadDescription": "Sets up the mail account \(emailAddress) on \(settings.hostname).",
            "PayloadDisplayName": "\(domain) mail",
            "PayloadIdentifier": "\(identifier).profile.\(emailAddress)",
            "PayloadOrganization": domain,
            "PayloadRemovalDisallowed": false,
            "PayloadType": "Configuration",
            "PayloadUUID": stableUUID("profile", emailAddress, settings.hostname),
            "PayloadVersion": 1,
        ]
        guard let data = try? PropertyListSerialization.data(fromPropertyList: profile, format: .xml, options: 0) else { return nil }
        return Array(data)
    }

    /// `mail.example.org` → `org.example.mail` (profile identifiers are reverse-DNS).
    static func reverseDNS(_ hostname: String) -> String {
        hostname.split(separator: ".").reversed().joined(separator: ".")
    }

    /// A UUID derived from the inputs, so the same account always gets the same profile (a reinstall replaces it).
    static func stableUUID(_ parts: String...) -> String {
        let digest = Hashing.sha256Hex(Array(parts.joined(separator: "\u{0}").utf8))
        var hex = Array(digest.prefix(32))
        hex[12] = "5"   // version nibble
        hex[16] = ["8", "9", "a", "b"][Int(String(hex[16]), radix: 16)! & 3]   // RFC 4122 variant
        let text = String(hex)
        let cuts = [8, 12, 16, 20]
        var result = ""
        for (index, character) in text.enumerated() {
            if cuts.contains(index) { result += "-" }
            result.append(character)
        }
        return result.uppercased()
    }
}
