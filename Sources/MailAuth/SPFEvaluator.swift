import MailCore

/// The result of an SPF check (RFC 7208 §2.6, RFC 8601 vocabulary).
public struct SPFResult: Sendable, Hashable {
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case none, neutral, pass, fail, softfail, temperror, permerror
    }

    public enum Identity: String, Sendable, Hashable {
        /// `smtp.mailfrom` (the MAIL FROM domain, or the HELO name for the null sender).
        case mailFrom = "mailfrom"
        case helo
    }

    public var status: Status
    /// Which identity was checked and its domain (the DMARC SPF domain, RFC 7489 §4.2).
    public var identity: Identity
    public var domain: String
    /// The sender checked: the MAIL FROM address, or `postmaster@helo`.
    public var sender: String
    /// The directive that decided, as written (e.g. `-all`, `ip4:192.0.2.0/24`), or `redirect=…`.
    public var mechanism: String?
    /// The `exp=` text for a fail (§6.2), when the domain published one.
    public var explanation: String?
    /// Why, for none/neutral-by-default/temperror/permerror.
    public var reason: String?
}

/// Evaluates SPF (RFC 7208 `check_host()`, §4) against a resolver.
///
/// Limits (§4.6.4): at most 10 terms that cause DNS lookups (include, a, mx, ptr, exists, redirect), at most 2 "void"
/// lookups (NXDOMAIN or no records), at most 10 MX names and 10 PTR names examined per mechanism; more MX records than
/// 10 is a permerror.
public struct SPFEvaluator: Sendable {
    public var resolver: any DNSResolving
    /// `%{r}` in explanations: our host name.
    public var receivingHost: String
    public var lookupLimit = 10
    public var voidLookupLimit = 2

    public init(resolver: any DNSResolving, receivingHost: String = "unknown") {
        self.resolver = resolver
        self.receivingHost = receivingHost
    }

    /// Checks MAIL FROM; for the null sender (`mailFrom` empty or `<>`) checks `postmaster@helo` (§2.4).
    public func check(ip: IPAddress, mailFrom: String, helo: String, now: UnixTime = 0) async -> SPFResult {
        let trimmed = mailFrom.hasPrefix("<") && mailFrom.hasSuffix(">") ? String(mailFrom.dropFirst().dropLast()) : mailFrom
        if trimmed.isEmpty { return await checkHELO(ip: ip, helo: helo, now: now, identity: .mailFrom) }
        // One notion of "@" (a Character): `contains("@")` also finds an "@" that a combining mark joins to the next
        // character, and then `lastIndex(of:)` found none (a crash, found by Fuzz/FuzzSPF).
        guard let at = trimmed.lastIndex(of: "@") else {
            return await run(ip: ip, domain: trimmed, sender: "postmaster@" + trimmed, helo: helo, now: now, identity: .mailFrom)
        }
        let domain = String(trimmed[trimmed.index(after: at)...])
        return await run(ip: ip, domain: domain, sender: trimmed, helo: helo, now: now, identity: .mailFrom)
    }

    /// The HELO identity check (§2.3), sender `postmaster@helo`.
    public func checkHELO(ip: IPAddress, helo: String, now: UnixTime = 0, identity: SPFResult.Identity = .helo) async -> SPFResult {
        await run(ip: ip, domain: helo, sender: "postmaster@" + helo, helo: helo, now: now, identity: identity)
    }

    func run(ip: IPAddress, domain: String, sender: String, helo: String, now: UnixTime,
             identity: SPFResult.Identity) async -> SPFResult {
        var state = SPFState(ip: ip.unmappingIPv4, sender: sender, helo: helo, now: now)
        let outcome = await checkHost(domain: domain.lowercased(), state: &state, depth: 0)
        return SPFResult(status: outcome.status, identity: identity, domain: domain.lowercased(), sender: sender,
                         mechanism: outcome.mechanism, explanation: outcome.explanation, reason: outcome.reason)
    }

    struct Outcome: Error {
        var status: SPFResult.Status
        var mechanism: String?
        var explanation: String?
        var reason: String?
    }

    struct SPFState {
        var ip: IPAddress
        var sender: String
        var helo: String
        var now: UnixTime
        var lookups = 0
        var voidLookups = 0
    }

    /// §4: `check_host(ip, domain, sender)`.
    func checkHost(domain: String, state: inout SPFState, depth: Int) async -> Outcome {
        // §4.3: a domain that is not a valid FQDN gives "none".
        guard let name = DomainName(domain), domain.contains("."), depth < 20 else {
            return Outcome(status: .none, reason: "no valid domain: \(domain)")
        }
        let record: SPFRecord
        switch await fetchRecord(name) {
        case .found(let found): record = found
        case .outcome(let outcome): return outcome
        }
        var context = SPFMacroString.Context(sender: state.sender, domain: domain, ip: state.ip, helo: state.helo,
                                             validatedName: nil, receivingHost: receivingHost, now: state.now)
        for directive in record.directives {
            let matched: Bool
            switch await matches(directive.mechanism, context: &context, state: &state, depth: depth) {
            case .match: matched = true
            case .noMatch: matched = false
            case .error(let outcome): return outcome
            }
            guard matched else { continue }
            var outcome = Outcome(status: directive.qualifier.status, mechanism: directive.text)
            if outcome.status == .fail, let exp = record.explanation {
                outcome.explanation = await explanation(exp, context: &context)
            }
            return outcome
        }
        if let redirect = record.redirect {
            guard countLookup(&state) else { return Self.tooManyLookups }
            let target = await expandDomain(redirect, context: &context)
            var outcome = await checkHost(domain: target, state: &state, depth: depth + 1)
            if outcome.status == .none { return Outcome(status: .permerror, reason: "redirect to \(target): no SPF record") }
            outcome.mechanism = outcome.mechanism ?? "redirect=\(target)"
            return outcome
        }
        return Outcome(status: .neutral, reason: "no mechanism matched")
    }

    static let tooManyLookups = Outcome(status: .permerror, reason: "more than 10 DNS-querying terms")
    static let tooManyVoidLookups = Outcome(status: .permerror, reason: "more than 2 void lookups")

    func countLookup(_ state: inout SPFState) -> Bool {
        state.lookups += 1
        return state.lookups <= lookupLimit
    }

    enum RecordLookup { case found(SPFRecord), outcome(Outcome) }

    /// §4.5: the TXT records starting `v=spf1`; none → none, several → permerror.
    func fetchRecord(_ name: DomainName) async -> RecordLookup {
        let texts: [String]
        do { texts = try await resolver.txt(name) } catch {
            if error.isTemporary { return .outcome(Outcome(status: .temperror, reason: "TXT \(name): \(error)")) }
            return .outcome(Outcome(status: .none, reason: "no SPF record at \(name)"))
        }
        let candidates = texts.filter { text in
            let lower = text.lowercased()
            return lower == "v=spf1" || lower.hasPrefix("v=spf1 ")
        }
        guard candidates.count <= 1 else { return .outcome(Outcome(status: .permerror, reason: "several SPF records at \(name)")) }
        guard let text = candidates.first else { return .outcome(Outcome(status: .none, reason: "no SPF record at \(name)")) }
        do { return .found(try SPFRecord(parsing: text)) } catch {
            return .outcome(Outcome(status: .permerror, reason: "\(name): \(error)"))
        }
    }

    enum Match { case match, noMatch, error(Outcome) }

    func matches(_ mechanism: SPFRecord.Mechanism, context: inout SPFMacroString.Context, state: inout SPFState,
                 depth: Int) async -> Match {
        switch mechanism {
        case .all:
            return .match
        case .ip4(let network, let prefix):
            guard case .v4(let address) = state.ip else { return .noMatch }
            return address.bytes.matches(network.bytes, prefix: prefix) ? .match : .noMatch
        case .ip6(let network, let prefix):
            guard case .v6(let address) = state.ip else { return .noMatch }
            return address.bytes.matches(network.bytes, prefix: prefix) ? .match : .noMatch
        case .include(let spec):
            guard countLookup(&state) else { return .error(Self.tooManyLookups) }
            let target = await expandDomain(spec, context: &context)
            let outcome = await checkHost(domain: target, state: &state, depth: depth + 1)
            switch outcome.status {
            case .pass: return .match
            case .fail, .softfail, .neutral: return .noMatch
            case .temperror, .permerror: return .error(outcome)
            case .none: return .error(Outcome(status: .permerror, reason: "include:\(target) has no SPF record"))
            }
        case .a(let spec, let v4, let v6):
            guard countLookup(&state) else { return .error(Self.tooManyLookups) }
            let target = spec == nil ? context.domain : await expandDomain(spec!, context: &context)
            switch await addresses(of: target, state: &state, countVoid: true) {
            case .success(let list): return list.contains { state.ip.matches($0, v4: v4, v6: v6) } ? .match : .noMatch
            case .failure(let outcome): return .error(outcome)
            }
        case .mx(let spec, let v4, let v6):
            guard countLookup(&state) else { return .error(Self.tooManyLookups) }
            let target = spec == nil ? context.domain : await expandDomain(spec!, context: &context)
            return await matchMX(target, v4: v4, v6: v6, state: &state)
        case .ptr(let spec):
            guard countLookup(&state) else { return .error(Self.tooManyLookups) }
            let target = spec == nil ? context.domain : await expandDomain(spec!, context: &context)
            switch await validatedNames(state: &state) {
            case .success(let names):
                return names.contains { $0 == target || $0.hasSuffix("." + target) } ? .match : .noMatch
            case .failure(let outcome): return .error(outcome)
            }
        case .exists(let spec):
            guard countLookup(&state) else { return .error(Self.tooManyLookups) }
            let target = await expandDomain(spec, context: &context)
            guard let name = DomainName(target) else { return .noMatch }
            do { return try await resolver.a(name).isEmpty ? .noMatch : .match } catch {
                if error.isTemporary { return .error(Outcome(status: .temperror, reason: "A \(target): \(error)")) }
                return countVoid(&state) ? .noMatch : .error(Self.tooManyVoidLookups)
            }
        }
    }

    func countVoid(_ state: inout SPFState) -> Bool {
        state.voidLookups += 1
        return state.voidLookups <= voidLookupLimit
    }

    /// A or AAAA (by the client's family) of a name; NXDOMAIN/NODATA is an empty list (and a void lookup if asked).
    func addresses(of target: String, state: inout SPFState, countVoid: Bool) async -> Result<[IPAddress], Outcome> {
        guard let name = DomainName(target) else { return .success([]) }
        do throws(DNSError) {
            switch state.ip {
            case .v4: return .success(try await resolver.a(name).map(IPAddress.v4))
            case .v6: return .success(try await resolver.aaaa(name).map(IPAddress.v6))
            }
        } catch {
            if error.isTemporary { return .failure(Outcome(status: .temperror, reason: "address of \(target): \(error)")) }
            if countVoid, !self.countVoid(&state) { return .failure(Self.tooManyVoidLookups) }
            return .success([])
        }
    }

    func matchMX(_ target: String, v4: Int, v6: Int, state: inout SPFState) async -> Match {
        guard let name = DomainName(target) else { return .noMatch }
        let records: [MXRecord]
        do { records = try await resolver.mx(name) } catch {
            if error.isTemporary { return .error(Outcome(status: .temperror, reason: "MX \(target): \(error)")) }
            return countVoid(&state) ? .noMatch : .error(Self.tooManyVoidLookups)
        }
        guard records.count <= 10 else { return .error(Outcome(status: .permerror, reason: "MX \(target): more than 10 records")) }
        for record in records.sorted(by: { $0.preference < $1.preference }) where !record.isNullMX {
            switch await addresses(of: record.exchange, state: &state, countVoid: false) {
            case .success(let list): if list.contains(where: { state.ip.matches($0, v4: v4, v6: v6) }) { return .match }
            case .failure(let outcome): return .error(outcome)
            }
        }
        return .noMatch
    }

    /// §5.5: PTR names (at most 10) whose forward addresses include the client IP. A failed PTR lookup is no match.
    func validatedNames(state: inout SPFState) async -> Result<[String], Outcome> {
        let names: [String]
        do { names = try await resolver.ptr(state.ip) } catch {
            if !error.isTemporary, !countVoid(&state) { return .failure(Self.tooManyVoidLookups) }
            return .success([])
        }
        var validated: [String] = []
        for name in names.prefix(10) {
            if case .success(let list) = await addresses(of: name, state: &state, countVoid: false), list.contains(state.ip) {
                validated.append(name.lowercased())
            }
        }
        return .success(validated)
    }

    /// Expands a domain-spec; over 253 characters, labels are dropped from the left (§7.3). `%{p}` triggers the PTR
    /// validation it needs.
    func expandDomain(_ spec: SPFMacroString, context: inout SPFMacroString.Context) async -> String {
        if spec.usesValidatedName, context.validatedName == nil {
            var scratch = SPFState(ip: context.ip, sender: context.sender, helo: context.helo, now: context.now)
            let names = (try? await validatedNames(state: &scratch).get()) ?? []
            context.validatedName = names.first { $0 == context.domain || $0.hasSuffix("." + context.domain) }
                ?? names.first ?? "unknown"
        }
        var text = spec.expand(with: context).lowercased()
        if text.hasSuffix(".") { text.removeLast() }
        while text.utf8.count > 253, let dot = text.firstIndex(of: ".") { text = String(text[text.index(after: dot)...]) }
        return text
    }

    /// §6.2: the TXT at the `exp=` domain, expanded; any problem means no explanation.
    func explanation(_ spec: SPFMacroString, context: inout SPFMacroString.Context) async -> String? {
        let target = await expandDomain(spec, context: &context)
        guard let name = DomainName(target), let texts = try? await resolver.txt(name), texts.count == 1,
              let macro = try? SPFMacroString(parsing: texts[0], allowSpaces: true) else { return nil }
        return macro.expand(with: context)
    }
}

extension SPFRecord.Qualifier {
    var status: SPFResult.Status {
        switch self {
        case .pass: .pass
        case .fail: .fail
        case .softfail: .softfail
        case .neutral: .neutral
        }
    }
}

extension IPAddress {
    /// `::ffff:a.b.c.d` is treated as the IPv4 client it is (§5: "IPv4-mapped IPv6 addresses").
    var unmappingIPv4: IPAddress {
        if case .v6(let address) = self, address.bytes.prefix(12) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF],
           let v4 = IPv4Address(bytes: address.bytes.suffix(4)) {
            return .v4(v4)
        }
        return self
    }

    func matches(_ other: IPAddress, v4: Int, v6: Int) -> Bool {
        switch (self, other) {
        case (.v4(let mine), .v4(let theirs)): mine.bytes.matches(theirs.bytes, prefix: v4)
        case (.v6(let mine), .v6(let theirs)): mine.bytes.matches(theirs.bytes, prefix: v6)
        default: false
        }
    }
}

extension Array where Element == UInt8 {
    /// The first `prefix` bits are equal.
    func matches(_ other: [UInt8], prefix: Int) -> Bool {
        guard count == other.count else { return false }
        var bits = prefix
        for index in indices where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if self[index] & mask != other[index] & mask { return false }
            bits -= 8
        }
        return true
    }
}
