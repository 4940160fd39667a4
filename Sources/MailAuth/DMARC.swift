import MailCore

/// A DMARC policy record (RFC 7489 §6.3), the TXT at `_dmarc.<domain>`.
public struct DMARCRecord: Sendable, Hashable {
    public enum Policy: String, Sendable, Hashable, CaseIterable {
        case none, quarantine, reject
    }

    public enum Alignment: String, Sendable, Hashable {
        case relaxed = "r", strict = "s"
    }

    public var policy: Policy
    /// `sp=`; defaults to `p=`.
    public var subdomainPolicy: Policy
    /// `pct=` 0…100, default 100.
    public var percentage: Int
    public var dkimAlignment: Alignment
    public var spfAlignment: Alignment
    public var aggregateReportURIs: [String]
    public var failureReportURIs: [String]

    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// §6.3/§6.4: `v=DMARC1` first; `p=` required — if it is absent or invalid and `rua=` is present the record is
    /// treated as `p=none` (§6.6.3); other invalid values fall back to their defaults.
    public init(parsing text: String) throws(ParseError) {
        let tags: TagList
        do { tags = try TagList(parsing: text) } catch { throw ParseError(description: "DMARC record syntax: \(error)") }
        guard tags.firstName == "v", tags["v"] == "DMARC1" else { throw ParseError(description: "not a DMARC1 record") }
        func uris(_ name: String) -> [String] {
            (tags[name] ?? "").split(separator: ",").map { String($0.trimmingWhitespace()) }.filter { !$0.isEmpty }
        }
        aggregateReportURIs = uris("rua")
        failureReportURIs = uris("ruf")
        if let p = tags["p"].flatMap({ Policy(rawValue: $0.lowercased()) }) {
            policy = p
        } else if !aggregateReportURIs.isEmpty {
            policy = .none
        } else {
            throw ParseError(description: "DMARC record without a valid p=")
        }
        subdomainPolicy = tags["sp"].flatMap { Policy(rawValue: $0.lowercased()) } ?? policy
        percentage = tags["pct"].flatMap { Int($0) }.map { min(max($0, 0), 100) } ?? 100
        dkimAlignment = tags["adkim"].flatMap { Alignment(rawValue: $0.lowercased()) } ?? .relaxed
        spfAlignment = tags["aspf"].flatMap { Alignment(rawValue: $0.lowercased()) } ?? .relaxed
    }
}

/// The outcome of DMARC evaluation (RFC 7489 §6.6).
public struct DMARCResult: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case none, pass, fail, temperror, permerror
    }

    public var status: Status
    /// The RFC 5322.From domain evaluated (`header.from`).
    public var fromDomain: String
    /// The record found, and where (the From domain or its organizational domain).
    public var record: DMARCRecord?
    public var recordDomain: String?
    /// `p=` or, for a subdomain whose record came from the organizational domain, `sp=`.
    public var requestedPolicy: DMARCRecord.Policy?
    /// What to do: the requested policy for a failure selected by `pct`, one step milder if not selected (§6.6.4),
    /// `.none` for everything that is not a failure.
    public var disposition: DMARCRecord.Policy
    public var dkimAligned: Bool
    public var spfAligned: Bool
    public var reason: String?
}

/// Evaluates DMARC for a message's From domain, given the SPF and DKIM results already computed (RFC 7489 §6.6).
public struct DMARCEvaluator: Sendable {
    public var resolver: any DNSResolving
    public var publicSuffixes: PublicSuffixList

    public init(resolver: any DNSResolving, publicSuffixes: PublicSuffixList) {
        self.resolver = resolver
        self.publicSuffixes = publicSuffixes
    }

    /// - Parameters:
    ///   - spf: the SPF result and the domain it was for (MAIL FROM's, or HELO's for the null sender).
    ///   - sample: a number in 0..<100 for `pct` sampling (randomness is the caller's; a failure is "selected" when
    ///     `sample < pct`).
    public func evaluate(fromDomain: String, spf: (status: SPFResult.Status, domain: String), dkim: [DKIMResult],
                         sample: Int = Int.random(in: 0..<100)) async -> DMARCResult {
        let from = fromDomain.lowercased().trimmingSuffix(".")
        var result = DMARCResult(status: .none, fromDomain: from, disposition: .none, dkimAligned: false, spfAligned: false)
        let organizational = publicSuffixes.organizationalDomain(of: from)
        var lookup = await fetchRecord(from)
        var recordDomain = from
        if case .notFound = lookup, organizational != from {
            lookup = await fetchRecord(organizational)
            recordDomain = organizational
        }
        let record: DMARCRecord
        switch lookup {
        case .found(let found): record = found
        case .notFound(let reason):
            result.reason = reason
            return result
        case .temporary(let reason):
            result.status = .temperror
            result.reason = reason
            return result
        case .invalid(let reason):
            result.status = .permerror
            result.reason = reason
            return result
        }
        result.record = record
        result.recordDomain = recordDomain
        let policy = recordDomain == from ? record.policy : record.subdomainPolicy
        result.requestedPolicy = policy

        result.dkimAligned = dkim.contains { $0.status == .pass && aligned($0.domain, from, record.dkimAlignment) }
        result.spfAligned = spf.status == .pass && aligned(spf.domain, from, record.spfAlignment)
        if result.dkimAligned || result.spfAligned {
            result.status = .pass
            return result
        }
        result.status = .fail
        result.reason = "no aligned DKIM or SPF pass"
        if sample < record.percentage {
            result.disposition = policy
        } else {
            result.disposition = policy == .reject ? .quarantine : .none
        }
        return result
    }

    /// §3.1: strict means equal; relaxed means the same organizational domain.
    public func aligned(_ domain: String, _ from: String, _ mode: DMARCRecord.Alignment) -> Bool {
        let domain = domain.lowercased().trimmingSuffix(".")
        switch mode {
        case .strict: return domain == from
        case .relaxed:
            return publicSuffixes.organizationalDomain(of: domain) == publicSuffixes.organizationalDomain(of: from)
        }
    }

    enum RecordLookup { case found(DMARCRecord), notFound(String), temporary(String), invalid(String) }

    /// §6.6.3: records starting `v=DMARC1`; none or several count as no record; a single one that does not parse is a
    /// permerror (the domain meant to publish a policy).
    func fetchRecord(_ domain: String) async -> RecordLookup {
        guard let name = DomainName("_dmarc." + domain) else { return .notFound("invalid domain \(domain)") }
        let texts: [String]
        do { texts = try await resolver.txt(name) } catch {
            return error.isTemporary ? .temporary("TXT \(name): \(error)") : .notFound("no DMARC record at \(name)")
        }
        let candidates = texts.filter { $0.hasPrefix("v=DMARC1") }
        guard candidates.count == 1 else {
            return .notFound(candidates.isEmpty ? "no DMARC record at \(name)" : "several DMARC records at \(name)")
        }
        do { return .found(try DMARCRecord(parsing: candidates[0])) } catch { return .invalid("\(name): \(error)") }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
