import Foundation
import MailAuth
import MailCore

/// Mail authentication in the SMTP server: DKIM signing of submitted mail, and SPF/DKIM/DMARC checks of mail arriving on
/// the MX port with an Authentication-Results field (RFC 8601) and the DMARC policy applied.
public struct MessageAuthentication: Sendable {
    /// The active DKIM signers of a domain (empty: do not sign).
    public var signers: @Sendable (String) -> [DKIMSigner]
    public var resolver: any DNSResolving
    public var publicSuffixes: PublicSuffixList
    /// Check inbound mail at all (SPF, DKIM, DMARC, Authentication-Results). Default true.
    public var checkInbound = true
    /// Refuse mail that fails DMARC under `p=reject` (550 5.7.1). Default true.
    public var rejectDMARCFailures = true
    /// File mail that fails DMARC under `p=quarantine` into Junk. Default true.
    public var quarantineDMARCFailures = true

    public init(signers: @escaping @Sendable (String) -> [DKIMSigner], resolver: any DNSResolving, publicSuffixes: PublicSuffixList) {
        self.signers = signers
        self.resolver = resolver
        self.publicSuffixes = publicSuffixes
    }

    /// What to do with an inbound message after the checks.
    public enum Disposition: Sendable, Equatable {
        case deliver
        case junk
        case reject(String)
    }

    /// The checks of an inbound message: the Authentication-Results field to prepend and the disposition.
    public struct Verdict: Sendable {
        public var headerField: String
        public var disposition: Disposition
        public var summary: String
    }

    /// Runs SPF (the connecting IP against MAIL FROM, or HELO for the null sender), DKIM and DMARC.
    public func check(message: [UInt8], clientIP: String?, helo: String, mailFrom: String?, hostname: String, now: Int64) async -> Verdict {
        var spfResults: [SPFResult] = []
        var spfForDMARC: (status: SPFResult.Status, domain: String) = (.none, "")
        if let clientIP, let ip = IPAddress(clientIP) {
            let spf = await SPFEvaluator(resolver: resolver, receivingHost: hostname).check(ip: ip, mailFrom: mailFrom ?? "", helo: helo, now: now)
            spfResults.append(spf)
            spfForDMARC = (spf.status, spf.domain)
        }
        let dkim = await DKIMVerifier(resolver: resolver).verify(message: message, now: now)
        var dmarc: DMARCResult?
        if let from = Self.fromDomain(of: message) {
            dmarc = await DMARCEvaluator(resolver: resolver, publicSuffixes: publicSuffixes).evaluate(fromDomain: from, spf: spfForDMARC, dkim: dkim)
        }
        let field = AuthenticationResults(authservID: hostname, dkim: dkim, spf: spfResults, dmarc: dmarc).headerField
        var disposition = Disposition.deliver
        if let dmarc, dmarc.status == .fail {
            switch dmarc.disposition {
            case .reject where rejectDMARCFailures: disposition = .reject("DMARC policy of \(dmarc.fromDomain) rejects this message")
            case .quarantine where quarantineDMARCFailures, .reject: disposition = .junk
            default: break
            }
        }
        let summary = "spf=\(spfResults.first?.status.rawValue ?? "none") dkim=\(dkim.map(\.status.rawValue).joined(separator: ",").nonEmpty ?? "none") dmarc=\(dmarc?.status.rawValue ?? "none")"
        return Verdict(headerField: field.hasSuffix("\r\n") ? field : field + "\r\n", disposition: disposition, summary: summary)
    }

    /// DKIM-Signature fields for a submitted message: signed by the From domain's keys, else by the envelope sender's.
    public func signatures(for message: [UInt8], mailFrom: String?, now: Int64) -> String {
        var domains: [String] = []
        if let from = Self.fromDomain(of: message) { domains.append(from) }
        if let sender = mailFrom, let at = sender.lastIndex(of: "@") { domains.append(String(sender[sender.index(after: at)...]).lowercased()) }
        for domain in domains {
            let signers = signers(domain)
            guard !signers.isEmpty else { continue }
            return signers.compactMap { try? $0.sign(message: message, now: now) }.map { $0.hasSuffix("\r\n") ? $0 : $0 + "\r\n" }.joined()
        }
        return ""
    }

    /// The domain of the single From address (RFC 7489 §6.6.1); nil when there is not exactly one.
    static func fromDomain(of message: [UInt8]) -> String? {
        let froms = RawMessage(message).fields.filter { $0.lowercasedName == "from" }
        guard froms.count == 1, let colon = froms[0].raw.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let mailboxes = AddressParser.parseList(bytes: Array(froms[0].raw[(colon + 1)...])).flatMap(\.mailboxes)
        guard mailboxes.count == 1, let domain = mailboxes[0].domain, !domain.hasPrefix("[") else { return nil }
        return domain.lowercased()
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
