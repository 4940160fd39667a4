import DNS
import Foundation
import MailAuth
import MailCore

/// DNS, through the configured resolver (`dns.servers`): the host's A/AAAA and PTR, and per domain MX, SPF, DKIM, DMARC,
/// MTA-STS, SRV (RFC 6186) and autoconfig. Each failure's fix is the record `letterbox dns DOMAIN` prints.
extension Doctor {
    func hostChecks(_ resolver: DNSResolver) async -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        let addresses = await hostAddresses(resolver)
        if addresses.isEmpty {
            checks.append(.fail("\(hostname) A/AAAA", "no address record", fix: "publish \(hostname). A <this server's public IPv4 address> (and AAAA for IPv6)"))
        } else {
            checks.append(.pass("\(hostname) A/AAAA", addresses.map(\.description).joined(separator: ", ")))
        }
        if let mx = configuration.listeners[.smtp], let ip = IPAddress(mx.host), !["0.0.0.0", "::"].contains(mx.host) {
            checks.append(await forwardReverse(ip, addresses: addresses, resolver))
        }
        return checks
    }

    func hostAddresses(_ resolver: DNSResolver) async -> [IPAddress] {
        guard let name = DomainName(hostname) else { return [] }
        let v4 = ((try? await resolver.a(name)) ?? []).map(IPAddress.v4)
        let v6 = ((try? await resolver.aaaa(name)) ?? []).map(IPAddress.v6)
        return v4 + v6
    }

    /// listen.smtp is a specific address: `hostname` resolves to it and its PTR names `hostname`.
    func forwardReverse(_ ip: IPAddress, addresses: [IPAddress], _ resolver: DNSResolver) async -> DoctorCheck {
        let name = "forward and reverse DNS of \(ip)"
        guard addresses.contains(ip) else {
            return .fail(name, "\(hostname) does not resolve to \(ip)", fix: "publish \(hostname). A \(ip) (listen.smtp is bound to it)")
        }
        let names = (try? await resolver.ptr(ip)) ?? []
        guard names.contains(hostname) else {
            return .fail(name, names.isEmpty ? "no PTR record" : "PTR says \(names.joined(separator: ", "))",
                         fix: "set the reverse DNS (PTR) of \(ip) to \(hostname) (ask the provider of the address)")
        }
        return .pass(name, "\(hostname) → \(ip) → \(hostname)")
    }

    func dnsChecks(domain: String, resolver: DNSResolver) async -> [DoctorCheck] {
        var checks = [await mxCheck(domain, resolver), await spfCheck(domain, resolver)]
        checks += await dkimChecks(domain, resolver)
        checks.append(await dmarcCheck(domain, resolver))
        if let check = await mtaSTSCheck(domain, resolver) { checks.append(check) }
        checks += await discoveryChecks(domain, resolver)
        return checks
    }

    func txt(_ name: String, _ resolver: DNSResolver) async -> [String] {
        guard let domain = DomainName(name) else { return [] }
        return (try? await resolver.txt(domain)) ?? []
    }

    func mxCheck(_ domain: String, _ resolver: DNSResolver) async -> DoctorCheck {
        let name = "\(domain) MX"
        let fix = "publish \(domain). MX 10 \(hostname)."
        guard let d = DomainName(domain), let records = try? await resolver.mx(d), !records.isEmpty else {
            return .fail(name, "no MX record", fix: fix)
        }
        let exchanges = records.map { $0.exchange.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ".")) }
        if exchanges.contains(hostname) { return .pass(name, "points at \(hostname)") }
        return .fail(name, "points at \(exchanges.joined(separator: ", ")), not \(hostname)", fix: fix + " (and remove the others)")
    }

    func spfCheck(_ domain: String, _ resolver: DNSResolver) async -> DoctorCheck {
        let name = "\(domain) SPF"
        let record = (try? DNSRecords.records(domain: domain, configuration: configuration))?.first { $0.type == "TXT" && $0.name == domain }
        let fix = "publish \(domain). TXT \"\(record?.plainValue ?? "v=spf1 mx -all")\""
        guard await txt(domain, resolver).contains(where: { $0.lowercased().hasPrefix("v=spf1") }) else {
            return .fail(name, "no SPF record", fix: fix)
        }
        guard let ip = await hostAddresses(resolver).first else {
            return .fail(name, "cannot evaluate: \(hostname) has no address", fix: "publish \(hostname). A <this server's public address>")
        }
        let result = await SPFEvaluator(resolver: resolver, receivingHost: hostname).check(ip: ip, mailFrom: "postmaster@\(domain)", helo: hostname)
        if result.status == .pass { return .pass(name, "pass for \(ip)") }
        return .fail(name, "\(result.status.rawValue) for \(ip)", fix: fix)
    }

    func dkimChecks(_ domain: String, _ resolver: DNSResolver) async -> [DoctorCheck] {
        let selectors = DKIMKeyStore(dataDirectory: configuration.dataDirectory).selectors(domain: domain).filter(\.isActive)
        if selectors.isEmpty {
            return [.fail("\(domain) DKIM", "no DKIM key on disk", fix: "letterbox dkim rotate \(domain), then publish the records of letterbox dns \(domain)")]
        }
        var checks: [DoctorCheck] = []
        for selector in selectors {
            let owner = "\(selector.name)._domainkey.\(domain)"
            let expected = selector.key.publicKeyRecord
            let name = "\(domain) DKIM \(selector.name)"
            let fix = "publish \(owner). TXT \"\(expected.text)\" (letterbox dns \(domain) --format zone)"
            let published = await txt(owner, resolver).compactMap { try? DKIMPublicKeyRecord(parsing: $0) }
            if published.isEmpty {
                checks.append(.fail(name, "no DKIM record at \(owner)", fix: fix))
            } else if published.contains(where: { $0.keyType == expected.keyType && $0.publicKey == expected.publicKey }) {
                checks.append(.pass(name, "matches the key on disk"))
            } else {
                checks.append(.fail(name, "the record at \(owner) is not the key on disk", fix: fix))
            }
        }
        return checks
    }

    func dmarcCheck(_ domain: String, _ resolver: DNSResolver) async -> DoctorCheck {
        let name = "\(domain) DMARC"
        if let record = await txt("_dmarc.\(domain)", resolver).first(where: { $0.hasPrefix("v=DMARC1") }) { return .pass(name, record) }
        return .fail(name, "no DMARC record at _dmarc.\(domain)", fix: "publish _dmarc.\(domain). TXT \"v=DMARC1; p=reject; rua=mailto:postmaster@\(domain)\"")
    }

    /// The `_mta-sts` TXT id must be the id of the policy served (RFC 8461 §3.1); absent is only advice.
    func mtaSTSCheck(_ domain: String, _ resolver: DNSResolver) async -> DoctorCheck? {
        guard let policy = (try? HTTPWiring.serverConfiguration(configuration))?.mtaSTS else { return nil }
        let name = "\(domain) MTA-STS"
        let fix = "publish _mta-sts.\(domain). TXT \"\(policy.txtRecord)\""
        guard let record = await txt("_mta-sts.\(domain)", resolver).first(where: { $0.hasPrefix("v=STSv1") }) else {
            return DoctorCheck(name: name, passed: false, detail: "no _mta-sts TXT record (recommended)", fix: fix, required: false)
        }
        let id = record.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("id=") }?.dropFirst(3)
        if id.map({ String($0) }) == policy.id { return .pass(name, "TXT id matches the policy served") }
        return .fail(name, "TXT id \(id ?? "missing") is not the policy's id \(policy.id)", fix: fix)
    }

    /// RFC 6186 SRV and autoconfig/autodiscover names: advice only.
    func discoveryChecks(_ domain: String, _ resolver: DNSResolver) async -> [DoctorCheck] {
        let wanted = ((try? DNSRecords.records(domain: domain, configuration: configuration)) ?? []).filter {
            $0.type == "SRV" && $0.plainValue != "0 0 0 ." || $0.type == "CNAME" && !$0.name.hasPrefix("mta-sts.")
        }
        var checks: [DoctorCheck] = []
        for record in wanted {
            let type: DNSRecordType = record.type == "SRV" ? DNSRecordType(rawValue: 33) : .a
            let answer = try? await resolver.lookup(record.name, type)
            let found = !(answer?.records.isEmpty ?? true)
            checks.append(DoctorCheck(name: "\(record.name) \(record.type)", passed: found, detail: found ? "present" : "missing (recommended)",
                                      fix: "publish \(record.name). \(record.type) \(record.value)", required: false))
        }
        return checks
    }
}
