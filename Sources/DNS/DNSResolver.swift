/// DNS: the resolver Letterbox uses for MX routing, SPF, DKIM, DMARC, DANE and reverse lookups — a stub resolver that
/// asks configured recursive servers over UDP (RFC 1035 §4.2.1) with EDNS0 (RFC 6891), falls back to TCP (RFC 7766)
/// when an answer is truncated, and caches answers for their TTL (negative answers per RFC 2308). Also `MailExchangers`,
/// RFC 5321 §5.1 MX selection with RFC 7505 null MX.
///
/// Invariants:
/// - Every query has a fresh random ID and a fresh socket (so a random source port, RFC 5452 §9.2); a response counts
///   only if it comes from the server asked, carries that ID and repeats the question.
/// - Each attempt has its own deadline; a lookup tries each server in turn, `attempts` rounds, and reports the last
///   temporary error only when all failed.
/// - NXDOMAIN and NODATA are definite answers (cached, not retried); SERVFAIL, REFUSED, timeouts and garbage are
///   temporary (never cached, next server tried).
import MailCore
import NIOCore
import NIOPosix

/// Settings of the resolver. Defaults are documented where declared.
public struct DNSResolverConfiguration: Sendable {
    /// Servers as `host:port` strings of IP literals: `127.0.0.1:5353`, `[::1]:53`, `192.0.2.1` (port 53). Empty (the
    /// default) means the `nameserver` lines of `/etc/resolv.conf`, or `127.0.0.1:53` if it names none.
    public var servers: [String] = []
    /// Deadline of one attempt against one server. Default 2 s.
    public var timeout: Duration = .seconds(2)
    /// Rounds over the server list. Default 2.
    public var attempts: Int = 2
    /// EDNS0 UDP payload size advertised (RFC 6891 §6.2.5). Default 1232, which avoids IP fragmentation.
    public var udpPayloadSize: UInt16 = 1232
    /// Most cached answers kept. Default 10,000.
    public var cacheCapacity: Int = 10_000
    /// Longest time an answer is cached, whatever its TTL. Default 1 day.
    public var maximumCacheTTL: Duration = .seconds(86_400)
    /// Longest time a negative answer (NXDOMAIN, NODATA) is cached. Default 5 minutes (RFC 2308 §5 suggests 1–3 hours
    /// at most; mail retries sooner than that).
    public var maximumNegativeCacheTTL: Duration = .seconds(300)
    /// Where to read `nameserver` lines when `servers` is empty.
    public var resolvConfPath: String = "/etc/resolv.conf"

    public init() {}
}

/// Why a resolver could not be built.
public enum DNSConfigurationError: Error, Sendable, Hashable {
    /// A `servers` entry that is not `ip`, `ip:port` or `[ipv6]:port`.
    case invalidServer(String)
}

/// The records of one successful lookup.
public struct DNSAnswer: Sendable, Hashable {
    public var records: [DNSResourceRecord]
    /// The AD bit of the response (validated by the recursive server).
    public var isAuthenticated: Bool
}

/// The real `DNSResolving`: NIO UDP/TCP to the configured servers, with a cache.
public struct DNSResolver: DNSResolving {
    public let configuration: DNSResolverConfiguration
    public let servers: [SocketAddress]
    let group: any EventLoopGroup
    let cache: DNSCache

    public init(
        configuration: DNSResolverConfiguration = DNSResolverConfiguration(),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(DNSConfigurationError) {
        var servers: [SocketAddress] = []
        for entry in configuration.servers {
            guard let address = ServerAddress.parse(entry) else { throw .invalidServer(entry) }
            servers.append(address)
        }
        if servers.isEmpty {
            servers = ResolvConf.nameservers(atPath: configuration.resolvConfPath).compactMap { ServerAddress.parse($0) }
        }
        if servers.isEmpty, let loopback = ServerAddress.parse("127.0.0.1:53") { servers = [loopback] }
        self.configuration = configuration
        self.servers = servers
        self.group = group
        self.cache = DNSCache(capacity: configuration.cacheCapacity)
    }

    // MARK: DNSResolving

    public func mx(_ domain: DomainName) async throws(DNSError) -> [MXRecord] {
        try await lookup(domain.name, .mx).records.compactMap(\.data.mx)
    }

    public func txt(_ name: DomainName) async throws(DNSError) -> [String] {
        try await lookup(name.name, .txt).records.compactMap(\.data.txt)
    }

    public func a(_ name: DomainName) async throws(DNSError) -> [IPv4Address] {
        try await lookup(name.name, .a).records.compactMap(\.data.a)
    }

    public func aaaa(_ name: DomainName) async throws(DNSError) -> [IPv6Address] {
        try await lookup(name.name, .aaaa).records.compactMap(\.data.aaaa)
    }

    public func ptr(_ address: IPAddress) async throws(DNSError) -> [String] {
        try await lookup(address.reverseLookupName, .ptr).records.compactMap(\.data.ptr)
    }

    public func tlsa(_ name: DomainName) async throws(DNSError) -> TLSAAnswer {
        let answer = try await lookup(name.name, .tlsa)
        return TLSAAnswer(records: answer.records.compactMap(\.data.tlsa), isAuthenticated: answer.isAuthenticated)
    }

    // MARK: Lookup

    /// Records of `type` for `name` (following a CNAME chain inside the answer), from the cache or the servers.
    public func lookup(_ name: String, _ type: DNSRecordType) async throws(DNSError) -> DNSAnswer {
        let key = DNSCache.Key(name: name.lowercased(), type: type.rawValue)
        if let cached = await cache.value(for: key, now: .now) { return try cached.get() }
        _ = try DNSMessage.encodeName(name)  // an unencodable name is a permanent error, before any I/O
        var lastError = DNSError.timeout
        for _ in 0..<max(1, configuration.attempts) {
            for server in servers {
                let outcome: DNSOutcome
                do throws(DNSError) {
                    outcome = DNSOutcome(try await exchange(name: name, type: type, server: server), name: name, type: type)
                } catch {
                    lastError = error
                    continue
                }
                switch outcome {
                case .answer(let answer, let ttl):
                    await cache.store(.success(answer), for: key, ttl: min(ttl, configuration.maximumCacheTTL), now: .now)
                    return answer
                case .negative(let error, let ttl):
                    await cache.store(.failure(error), for: key, ttl: min(ttl, configuration.maximumNegativeCacheTTL), now: .now)
                    throw error
                case .temporary(let error):
                    lastError = error
                }
            }
        }
        throw lastError
    }

    /// One query to one server: UDP, then TCP if the UDP answer is truncated.
    func exchange(name: String, type: DNSRecordType, server: SocketAddress) async throws(DNSError) -> DNSMessage {
        var generator = SystemRandomNumberGenerator()
        let id = UInt16.random(in: .min ... .max, using: &generator)
        let query = try DNSMessage.query(id: id, name: name, type: type, udpPayloadSize: configuration.udpPayloadSize)
        let question = DNSQuestion(name: name.lowercased().trimmingTrailingDot, type: type)
        let transport = DNSTransport(group: group, timeout: configuration.timeout)
        let datagram = try await transport.udp(query, id: id, server: server)
        let response = try Self.validated(datagram, id: id, question: question)
        guard response.isTruncated else { return response }
        let stream = try await transport.tcp(query, server: server)
        return try Self.validated(stream, id: id, question: question)
    }

    /// A response answers our query only if it is a response, has our ID and repeats our question (RFC 5452 §9.1).
    static func validated(_ bytes: [UInt8], id: UInt16, question: DNSQuestion) throws(DNSError) -> DNSMessage {
        let message = try DNSMessage.parse(bytes)
        guard message.isResponse, message.id == id, message.opcode == 0 else {
            throw .malformedResponse("not a response to our query")
        }
        // A FORMERR/NOTIMP answer may omit the question; those are reported by RCODE.
        if message.rcode == DNSMessage.noError || message.rcode == DNSMessage.nameError {
            guard message.questions.count == 1, message.questions[0].name == question.name,
                  message.questions[0].type == question.type, message.questions[0].questionClass == DNSMessage.classIN else {
                throw .malformedResponse("response does not repeat the question")
            }
        }
        return message
    }
}

/// What a response means for a lookup.
enum DNSOutcome: Sendable {
    case answer(DNSAnswer, ttl: Duration)
    case negative(DNSError, ttl: Duration)
    case temporary(DNSError)

    init(_ message: DNSMessage, name: String, type: DNSRecordType) {
        switch message.rcode {
        case DNSMessage.noError:
            let records = Self.records(message.answers, name: name.lowercased().trimmingTrailingDot, type: type)
            if records.isEmpty {
                self = .negative(.noData, ttl: Self.negativeTTL(message))
            } else {
                let ttl = records.map(\.ttl).min() ?? 0
                self = .answer(DNSAnswer(records: records, isAuthenticated: message.isAuthenticData), ttl: .seconds(Int64(ttl)))
            }
        case DNSMessage.nameError:
            self = .negative(.nameNotFound, ttl: Self.negativeTTL(message))
        case DNSMessage.serverFailure:
            self = .temporary(.serverFailure("SERVFAIL"))
        case DNSMessage.refused:
            self = .temporary(.serverFailure("REFUSED"))
        default:
            self = .temporary(.serverFailure("RCODE \(message.rcode)"))
        }
    }

    /// Records of `type` owned by `name` or by a name it is a CNAME for, following at most 8 links.
    static func records(_ answers: [DNSResourceRecord], name: String, type: DNSRecordType) -> [DNSResourceRecord] {
        var owners: Set<String> = [name]
        var current = name
        for _ in 0..<8 {
            guard type != .cname, let link = answers.first(where: { $0.type == .cname && $0.name == current }),
                  case .cname(let target) = link.data, !owners.contains(target) else { break }
            owners.insert(target)
            current = target
        }
        return answers.filter { $0.type == type && $0.recordClass == DNSMessage.classIN && owners.contains($0.name) }
    }

    /// RFC 2308 §5: the smaller of the SOA record's TTL and its MINIMUM; no SOA, no caching.
    static func negativeTTL(_ message: DNSMessage) -> Duration {
        for record in message.authorities {
            if case .soa(let minimum) = record.data { return .seconds(Int64(min(record.ttl, minimum))) }
        }
        return .zero
    }
}

extension String {
    var trimmingTrailingDot: String { hasSuffix(".") ? String(dropLast()) : self }
}
