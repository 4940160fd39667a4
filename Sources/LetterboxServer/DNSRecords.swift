import Foundation
import MailAuth
import MailCore

/// `letterbox dns DOMAIN`: the exact DNS records a domain needs — MX, SPF, DKIM (every selector on disk), DMARC — and,
/// marked as recommended, MTA-STS, TLS-RPT, RFC 6186 SRV and the autoconfig/autodiscover names. Generated from the live
/// configuration and keys, never hand-written.
public struct DNSRecords: Sendable {
    public struct Record: Sendable {
        public var name: String
        public var type: String
        /// The value in zone-file syntax (TXT values quoted and split at 255 octets).
        public var value: String
        /// The value as a DNS admin panel wants it (TXT unquoted, one string).
        public var plainValue: String
        public var required: Bool
        public var comment: String
    }

    public static func records(domain: String, configuration: LetterboxConfiguration) throws(ConfigurationError) -> [Record] {
        let d = domain.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        let host = configuration.hostname.lowercased()
        var records: [Record] = []
        func txt(_ name: String, _ value: String, required: Bool, _ comment: String) {
            records.append(Record(name: name, type: "TXT", value: DNSTXTValue.zoneFileRData(value), plainValue: value, required: required, comment: comment))
        }
        records.append(Record(name: d, type: "MX", value: "10 \(host).", plainValue: "10 \(host)", required: true,
                              comment: "mail for \(d) goes to this server (\(host) must have an A/AAAA record with its public address)"))
        var spf = "v=spf1 mx"
        if let source = configuration.delivery.sourceAddress { spf += source.contains(":") ? " ip6:\(source)" : " ip4:\(source)" }
        if let smarthost = configuration.delivery.smarthost, let relay = ListenAddress(smarthost) {
            spf += " a:\(relay.host)"
        }
        txt(d, spf + " -all", required: true, "SPF: only this domain's MX hosts (and the smarthost, if any) send its mail")
        for selector in DKIMKeyStore(dataDirectory: configuration.dataDirectory).selectors(domain: d) {
            txt("\(selector.name)._domainkey.\(d)", selector.key.publicKeyRecord.text, required: selector.isActive,
                "DKIM \(selector.key.algorithm.rawValue) key\(selector.isActive ? " (signing now)" : " (retired: remove once mail signed with it is delivered)")")
        }
        txt("_dmarc.\(d)", "v=DMARC1; p=reject; rua=mailto:postmaster@\(d)", required: true,
            "DMARC: receivers reject mail claiming to be from \(d) that fails SPF and DKIM alignment")
        if let http = try HTTPWiring.serverConfiguration(configuration), let policy = http.mtaSTS {
            txt("_mta-sts.\(d)", policy.txtRecord, required: false, "MTA-STS (RFC 8461): the id changes whenever the policy does")
            records.append(Record(name: "mta-sts.\(d)", type: "CNAME", value: "\(host).", plainValue: host, required: false,
                                  comment: "serves https://mta-sts.\(d)/.well-known/mta-sts.txt (HTTPS on 443 in front of listen.http)"))
        }
        txt("_smtp._tls.\(d)", "v=TLSRPTv1; rua=mailto:postmaster@\(d)", required: false, "TLS-RPT (RFC 8460): TLS failure reports")
        let services: [(String, LetterboxConfiguration.Service)] = [
            ("_submissions._tcp", .submissions), ("_submission._tcp", .submission), ("_imaps._tcp", .imaps), ("_imap._tcp", .imap),
        ]
        for (index, (label, service)) in services.enumerated() {
            if let address = configuration.listeners[service], address.port != 0 {
                let priority = index % 2 == 0 ? 0 : 10  // implicit TLS first (RFC 8314 §5.1)
                records.append(Record(name: "\(label).\(d)", type: "SRV", value: "\(priority) 1 \(address.port) \(host).",
                                      plainValue: "\(priority) 1 \(address.port) \(host)", required: false, comment: "RFC 6186 client discovery"))
            } else {
                records.append(Record(name: "\(label).\(d)", type: "SRV", value: "0 0 0 .", plainValue: "0 0 0 .", required: false,
                                      comment: "RFC 6186: this service is not offered"))
            }
        }
        for name in ["autoconfig", "autodiscover"] {
            records.append(Record(name: "\(name).\(d)", type: "CNAME", value: "\(host).", plainValue: host, required: false,
                                  comment: "client autoconfiguration (Thunderbird / Outlook)"))
        }
        return records
    }

    /// BIND zone-file lines.
    public static func zone(_ records: [Record]) -> String {
        records.map { "; \($0.required ? "" : "recommended: ")\($0.comment)\n\($0.name). 3600 IN \($0.type) \($0.value)" }.joined(separator: "\n") + "\n"
    }

    /// A readable list: what to enter in a DNS provider's form.
    public static func table(_ records: [Record]) -> String {
        var lines: [String] = []
        for required in [true, false] {
            lines.append(required ? "Required records:" : "\nRecommended records:")
            for record in records where record.required == required {
                lines.append("  \(record.name)  \(record.type)  \(record.plainValue)")
                lines.append("      (\(record.comment))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
