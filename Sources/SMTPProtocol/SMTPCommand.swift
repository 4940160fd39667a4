import MailCore

/// `rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path ) [SP Rcpt-parameters]`
/// (RFC 5321 §4.1.1.3). `<Postmaster@domain>` parses as an ordinary path.
public enum SMTPForwardPath: Hashable, Sendable, CustomStringConvertible {
    case postmaster
    case path(SMTPPath)

    public var description: String {
        switch self {
        case .postmaster: "<Postmaster>"
        case .path(let path): path.description
        }
    }
}

/// Every command the server understands: a closed set with one exhaustive encoder (`encoded`).
public enum SMTPCommand: Hashable, Sendable {
    case ehlo(SMTPHost)
    case helo(SMTPHost)
    /// `MAIL FROM:` — a nil path is the null reverse-path `<>`.
    case mail(from: SMTPPath?, parameters: SMTPMailParameters)
    case rcpt(to: SMTPForwardPath, parameters: SMTPRecipientParameters)
    case data
    /// `BDAT chunk-size [LAST]` (RFC 3030 §2).
    case bdat(size: UInt64, last: Bool)
    case rset
    case noop
    case quit
    case vrfy(String)
    case expn(String)
    case help(String?)
    case startTLS
    /// `AUTH mechanism [initial-response]` (RFC 4954 §4): mechanism upper-cased, initial response base64-decoded
    /// (`=` is the empty response).
    case auth(mechanism: String, initialResponse: [UInt8]?)

    /// The wire form without CRLF.
    public var encoded: String {
        switch self {
        case .ehlo(let host): "EHLO \(host)"
        case .helo(let host): "HELO \(host)"
        case .mail(let path, let parameters): "MAIL FROM:\(path?.description ?? "<>")\(parameters.encoded)"
        case .rcpt(let path, let parameters): "RCPT TO:\(path)\(parameters.encoded)"
        case .data: "DATA"
        case .bdat(let size, let last): last ? "BDAT \(size) LAST" : "BDAT \(size)"
        case .rset: "RSET"
        case .noop: "NOOP"
        case .quit: "QUIT"
        case .vrfy(let argument): "VRFY \(argument)"
        case .expn(let argument): "EXPN \(argument)"
        case .help(let argument): argument.map { "HELP \($0)" } ?? "HELP"
        case .startTLS: "STARTTLS"
        case .auth(let mechanism, let initial?): "AUTH \(mechanism) \(initial.isEmpty ? "=" : Base64.encode(initial))"
        case .auth(let mechanism, nil): "AUTH \(mechanism)"
        }
    }

    /// The verb, for logs and metrics.
    public var verb: String { String(encoded.prefix { $0 != " " }) }
}

/// A command line that could not be parsed. Mapped to a reply in exactly one place: `reply`.
public enum SMTPCommandError: Error, Hashable, Sendable {
    /// Over the command line limit (RFC 5321 §4.5.3.1.4).
    case lineTooLong
    /// Bare CR or LF, control characters or invalid UTF-8 in the line.
    case malformedLine
    case unrecognizedCommand
    /// Arguments or parameters do not match the grammar.
    case invalidArguments
    case invalidSender(SMTPPathError)
    case invalidRecipient(SMTPPathError)
    /// An esmtp-keyword Letterbox does not implement (RFC 5321 §4.1.1.11).
    case unrecognizedParameter(String)
    case invalidParameterValue(String)
    /// RFC 3461 §4.5: a parameter given twice.
    case duplicateParameter
    /// The AUTH initial response is not strict base64 (RFC 4954 §4).
    case invalidBase64
    /// The AUTH mechanism name is not a SASL mechanism name.
    case invalidMechanism

    /// The one mapping from syntax errors to replies.
    public var reply: SMTPReply {
        switch self {
        case .lineTooLong: .lineTooLong
        case .malformedLine: .syntaxError
        case .unrecognizedCommand: .commandUnrecognized
        case .invalidArguments, .invalidParameterValue, .duplicateParameter: .invalidArguments
        case .invalidSender: .badSenderSyntax
        // `<user@other@local>` is a relay attempt, not a typo.
        case .invalidRecipient(.multipleAtSigns): .relayDenied
        case .invalidRecipient: .badRecipientSyntax
        case .unrecognizedParameter: .parameterNotRecognized
        case .invalidBase64: .invalidBase64
        case .invalidMechanism: .mechanismNotSupported
        }
    }
}

/// Parses one command line (without its CRLF) into an `SMTPCommand`.
public enum SMTPCommandParser {
    private typealias ArgumentParser = @Sendable (inout SMTPScanner) throws(SMTPCommandError) -> SMTPCommand

    /// Command dispatch: verb → parser of what follows the verb.
    private static let commands: [String: ArgumentParser] = [
        "EHLO": { (s: inout SMTPScanner) throws(SMTPCommandError) in .ehlo(try parseHelloArgument(&s)) },
        "HELO": { (s: inout SMTPScanner) throws(SMTPCommandError) in .helo(try parseHelloArgument(&s)) },
        "MAIL": parseMail,
        "RCPT": parseRcpt,
        "DATA": { (s: inout SMTPScanner) throws(SMTPCommandError) in try parseNoArguments(&s, .data) },
        "BDAT": parseBdat,
        "RSET": { (s: inout SMTPScanner) throws(SMTPCommandError) in try parseNoArguments(&s, .rset) },
        // RFC 5321 §4.1.1.9: "If a parameter string is specified, servers SHOULD ignore it."
        "NOOP": { (s: inout SMTPScanner) throws(SMTPCommandError) in .noop },
        "QUIT": { (s: inout SMTPScanner) throws(SMTPCommandError) in try parseNoArguments(&s, .quit) },
        "VRFY": { (s: inout SMTPScanner) throws(SMTPCommandError) in .vrfy(try parseStringArgument(&s)) },
        "EXPN": { (s: inout SMTPScanner) throws(SMTPCommandError) in .expn(try parseStringArgument(&s)) },
        "HELP": { (s: inout SMTPScanner) throws(SMTPCommandError) in .help(s.isAtEnd ? nil : try parseStringArgument(&s)) },
        "STARTTLS": { (s: inout SMTPScanner) throws(SMTPCommandError) in try parseNoArguments(&s, .startTLS) },
        "AUTH": parseAuth,
    ]

    /// Parses `line` (the octets before CRLF). Rejects control characters and invalid UTF-8 first.
    public static func parse(line: some Collection<UInt8>) throws(SMTPCommandError) -> SMTPCommand {
        let bytes = Array(line)
        guard !bytes.contains(where: { $0 < 32 || $0 == 127 }), String(validating: bytes, as: UTF8.self) != nil else {
            throw .malformedLine
        }
        var scanner = SMTPScanner(bytes)
        let verb = String(ascii: scanner.takeWhile(isAlpha)).uppercased()
        guard let parser = commands[verb], scanner.isAtEnd || scanner.peek == UInt8(ascii: " ") else {
            throw .unrecognizedCommand
        }
        return try parser(&scanner)
    }

    private static func parseNoArguments(_ scanner: inout SMTPScanner, _ command: SMTPCommand) throws(SMTPCommandError) -> SMTPCommand {
        _ = scanner.takeWhile { $0 == UInt8(ascii: " ") }  // tolerate trailing spaces
        guard scanner.isAtEnd else { throw .invalidArguments }
        return command
    }

    // ehlo = "EHLO" SP ( Domain / address-literal ) CRLF      (RFC 5321 §4.1.1.1)
    // helo = "HELO" SP Domain CRLF                            (address literals tolerated, as every MTA does)
    // Text after the argument is tolerated: "servers [should] be prepared for this string to occur".
    static func parseHelloArgument(_ scanner: inout SMTPScanner) throws(SMTPCommandError) -> SMTPHost {
        guard scanner.take(" ") else { throw .invalidArguments }
        let host: SMTPHost
        if let literal = scanner.attempt(SMTPPathGrammar.parseAddressLiteral) {
            host = .addressLiteral(literal)
        } else if let domain = SMTPPathGrammar.parseDomain(&scanner) {
            host = .domain(domain)
        } else {
            throw .invalidArguments
        }
        guard scanner.isAtEnd || scanner.peek == UInt8(ascii: " ") else { throw .invalidArguments }
        return host
    }

    // mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF      (RFC 5321 §4.1.1.2)
    // One space after the colon is tolerated (common in the field).
    static func parseMail(_ scanner: inout SMTPScanner) throws(SMTPCommandError) -> SMTPCommand {
        guard scanner.takeCaseInsensitive(" FROM:") else { throw .invalidArguments }
        _ = scanner.take(" ")
        let path: SMTPPath?
        do { path = try SMTPPathGrammar.parseReversePath(&scanner) } catch { throw .invalidSender(error) }
        let raw = try SMTPParameterGrammar.parseParameters(&scanner)
        return .mail(from: path, parameters: try SMTPParameterGrammar.mailParameters(raw))
    }

    // rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path ) [SP Rcpt-parameters] CRLF
    static func parseRcpt(_ scanner: inout SMTPScanner) throws(SMTPCommandError) -> SMTPCommand {
        guard scanner.takeCaseInsensitive(" TO:") else { throw .invalidArguments }
        _ = scanner.take(" ")
        let forward: SMTPForwardPath
        if scanner.attempt({ s in s.takeCaseInsensitive("<Postmaster>") ? true : nil }) != nil {
            forward = .postmaster
        } else {
            do { forward = .path(try SMTPPathGrammar.parsePath(&scanner)) } catch { throw .invalidRecipient(error) }
        }
        let raw = try SMTPParameterGrammar.parseParameters(&scanner)
        return .rcpt(to: forward, parameters: try SMTPParameterGrammar.recipientParameters(raw))
    }

    // bdat-cmd   ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF
    // chunk-size ::= 1*DIGIT ; end-marker ::= "LAST"                  (RFC 3030 §2)
    static func parseBdat(_ scanner: inout SMTPScanner) throws(SMTPCommandError) -> SMTPCommand {
        guard scanner.take(" ") else { throw .invalidArguments }
        let digits = scanner.takeWhile(isDigit)
        guard !digits.isEmpty, digits.count <= 19, let size = UInt64(String(ascii: digits)) else { throw .invalidArguments }
        var last = false
        if scanner.take(" ") {
            guard scanner.takeCaseInsensitive("LAST") else { throw .invalidArguments }
            last = true
        }
        guard scanner.isAtEnd else { throw .invalidArguments }
        return .bdat(size: size, last: last)
    }

    // vrfy = "VRFY" SP String CRLF ; expn = "EXPN" SP String CRLF ; help = "HELP" [ SP String ] CRLF
    // String = Atom / Quoted-string — taken as the rest of the line: nothing is looked up with it.
    static func parseStringArgument(_ scanner: inout SMTPScanner) throws(SMTPCommandError) -> String {
        guard scanner.take(" ") else { throw .invalidArguments }
        let rest = String(decoding: scanner.remaining, as: UTF8.self)
        scanner.position = scanner.bytes.count
        guard !rest.isEmpty else { throw .invalidArguments }
        return rest
    }

    // "AUTH" SP sasl-mech [SP initial-response] CRLF          (RFC 4954 §4)
    // sasl-mech = 1*20mech-char ; mech-char = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE   (RFC 4422 §3.1)
    // initial-response = base64 / "="
    static func parseAuth(_ scanner: inout SMTPScanner) throws(SMTPCommandError) -> SMTPCommand {
        guard scanner.take(" ") else { throw .invalidArguments }
        let mechanism = scanner.takeWhile { isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
        guard (1...20).contains(mechanism.count), scanner.isAtEnd || scanner.peek == UInt8(ascii: " ") else {
            throw .invalidMechanism
        }
        var initial: [UInt8]?
        if scanner.take(" ") {
            let text = String(decoding: scanner.remaining, as: UTF8.self)
            scanner.position = scanner.bytes.count
            if text == "=" {
                initial = []
            } else {
                guard !text.isEmpty, let decoded = Base64.decode(text) else { throw .invalidBase64 }
                initial = decoded
            }
        }
        return .auth(mechanism: String(ascii: mechanism).uppercased(), initialResponse: initial)
    }
}
