import MailCore
import NIOCore
import Testing

@testable import SMTPProtocol

/// Runs a server transcript against `SMTPServerSession` driven exactly as the module documentation tells servers to:
/// framer → session → actions, collaborator questions answered at once, flush when no complete input is left.
///
/// Transcript lines:
/// - `C: text` — the client sends `text` + CRLF. Consecutive `C:`/`R:` lines are sent in one write (pipelining).
/// - `R: text` — the client sends `text` raw; `\r` and `\n` are escapes for CR and LF.
/// - `S: 250 2.0.0 Ok` — an expected reply line, in order.
/// - `S: * event` — an expected non-reply action: `* deliver <from> to=a,b`, `* body <escaped>`, `* discard`,
///   `* starttls`, `* close`, `* auth PLAIN`.
struct ServerWorld {
    var localDomains: Set<String> = ["local.example", "mx.local.example"]
    var users: Set<String> = ["alice", "bob", "postmaster"]
    var credentials: [String: String] = ["alice": "secret"]

    func senderVerdict(_ sender: EmailAddress?, _ envelope: SMTPEnvelope, role: SMTPServerSession.Role) -> SMTPSenderVerdict {
        if sender?.localPart == "tempfail" { return .temporaryFailure }
        guard role == .submission else { return .accepted }
        guard let sender, let user = envelope.authenticatedUser else { return .notOwned }
        return sender.localPart == user && localDomains.contains(sender.domain.name) ? .accepted : .notOwned
    }

    func recipientVerdict(_ recipient: SMTPRecipient, role: SMTPServerSession.Role) -> SMTPRecipientVerdict {
        let address = recipient.address
        guard localDomains.contains(address.domain.name) else { return role == .submission ? .accepted : .relayDenied }
        if address.localPart == "temp" { return .temporaryFailure }
        return users.contains(address.localPart.lowercased()) ? .accepted : .unknownUser
    }

    func authenticate(_ response: [UInt8]) -> String? {
        let parts = response.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard parts.count == 3, credentials[parts[1]] == parts[2] else { return nil }
        return parts[1]
    }
}

struct ServerHarness {
    var session: SMTPServerSession
    var framer = SMTPInputFramer()
    var world = ServerWorld()
    var input = ByteBuffer()
    var output: [String] = []
    var body: [UInt8] = []
    var bodyOpen = false

    init(_ configuration: SMTPServerSession.Configuration) {
        session = SMTPServerSession(configuration: configuration)
        perform(session.start())
    }

    mutating func send(_ bytes: [UInt8]) {
        input.writeBytes(bytes)
        while let event = framer.next(from: &input, mode: session.inputMode) {
            perform(session.receive(event))
        }
    }

    mutating func perform(_ actions: [SMTPServerAction]) {
        for action in actions {
            switch action {
            case .reply(let reply):
                output += String(decoding: reply.encodedBytes(), as: UTF8.self).split(separator: "\r\n").map(String.init)
            case .startTLS(let reply):
                output += String(decoding: reply.encodedBytes(), as: UTF8.self).split(separator: "\r\n").map(String.init)
                output.append("* starttls")
                input.clear()  // RFC 3207 §4.2: never execute plaintext pipelined behind STARTTLS
                perform(session.tlsEstablished())
            case .authenticate(let mechanism, let initial):
                output.append("* auth \(mechanism)")
                if let initial { answerAuthentication(initial) } else { perform(session.authenticationChallenge([])) }
            case .authenticationResponse(let response):
                answerAuthentication(response)
            case .cancelAuthentication:
                output.append("* auth cancelled")
            case .checkSender(let sender, let envelope):
                perform(session.senderChecked(world.senderVerdict(sender, envelope, role: session.configuration.role)))
            case .checkRecipient(let recipient, _):
                perform(session.recipientChecked(world.recipientVerdict(recipient, role: session.configuration.role)))
            case .beginData:
                #expect(!bodyOpen, "beginData while a body is open")
                bodyOpen = true
                body = []
            case .appendData(let content):
                #expect(bodyOpen, "appendData without beginData")
                body += Array(content.readableBytesView)
            case .discardData:
                #expect(bodyOpen, "discardData without beginData")
                bodyOpen = false
                output.append("* discard")
            case .deliver(let envelope):
                #expect(bodyOpen, "deliver without beginData")
                bodyOpen = false
                let to = envelope.recipients.map(\.address.description).joined(separator: ",")
                output.append("* deliver <\(envelope.mailFrom?.description ?? "")> to=\(to)")
                output.append("* body " + escape(body))
                perform(session.deliveryFinished(.accepted(queueID: "Q1")))
            case .close:
                output.append("* close")
            }
        }
    }

    private mutating func answerAuthentication(_ response: [UInt8]) {
        if let user = world.authenticate(response) {
            perform(session.authenticationSucceeded(user: user))
        } else {
            perform(session.authenticationFailed(.invalidCredentials))
        }
    }
}

func escape(_ bytes: [UInt8]) -> String {
    String(decoding: bytes.flatMap { byte -> [UInt8] in
        switch byte {
        case 13: Array("\\r".utf8)
        case 10: Array("\\n".utf8)
        default: [byte]
        }
    }, as: UTF8.self)
}

func unescape(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    var bytes = Array(text.utf8)[...]
    while let byte = bytes.popFirst() {
        if byte == UInt8(ascii: "\\"), let next = bytes.first, next == UInt8(ascii: "r") || next == UInt8(ascii: "n") {
            bytes.removeFirst()
            out.append(next == UInt8(ascii: "r") ? 13 : 10)
        } else {
            out.append(byte)
        }
    }
    return out
}

/// Runs `transcript` (see `ServerWorld`) and records an issue for each line that differs.
func runServerTranscript(
    _ transcript: String, configuration: SMTPServerSession.Configuration, world: ServerWorld = ServerWorld(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    var harness = ServerHarness(configuration)
    harness.world = world
    var expected: [String] = []
    var pending: [UInt8] = []
    func check(_ harness: inout ServerHarness, _ expected: inout [String]) {
        #expect(harness.output == expected, sourceLocation: sourceLocation)
        harness.output = []
        expected = []
    }
    for line in transcript.split(separator: "\n").map({ $0.trimmingLeadingSpaces }) where !line.isEmpty {
        if line == "C:" || line.hasPrefix("C: ") || line.hasPrefix("R: ") {
            if !expected.isEmpty { check(&harness, &expected) }
            pending += line.hasPrefix("R: ") ? unescape(String(line.dropFirst(3))) : Array(line.dropFirst(3).utf8) + [13, 10]
        } else if line.hasPrefix("S: ") {
            if !pending.isEmpty {
                harness.send(pending)
                pending = []
            }
            expected.append(String(line.dropFirst(3)))
        }
    }
    if !pending.isEmpty { harness.send(pending) }
    check(&harness, &expected)
}

extension Substring {
    var trimmingLeadingSpaces: String { String(drop { $0 == " " }) }
}

let localHost = DomainName("mx.local.example")!

func mxConfiguration(tls: Bool = false, tlsAvailable: Bool = true) -> SMTPServerSession.Configuration {
    SMTPServerSession.Configuration(role: .mx, hostname: localHost, tlsActive: tls, tlsAvailable: tlsAvailable)
}

func submissionConfiguration(tls: Bool = true) -> SMTPServerSession.Configuration {
    SMTPServerSession.Configuration(role: .submission, hostname: localHost, tlsActive: tls, tlsAvailable: true)
}
