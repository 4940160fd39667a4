import MailCore
import Testing

@testable import SMTPProtocol
import struct SMTPProtocol.SMTPPath

private func parse(_ line: String) -> Result<SMTPCommand, SMTPCommandError> {
    do { return .success(try SMTPCommandParser.parse(line: Array(line.utf8))) } catch { return .failure(error) }
}

private func mailbox(_ text: String) -> SMTPPath {
    var scanner = SMTPScanner(Array("<\(text)>".utf8))
    return try! SMTPPathGrammar.parsePath(&scanner)
}

@Suite struct CommandParserTests {
    static let valid: [(String, String)] = [
        // (line, expected encoded form after parsing)
        ("EHLO client.example", "EHLO client.example"),
        ("ehlo Client.Example", "EHLO client.example"),
        ("EHLO [192.0.2.1]", "EHLO [192.0.2.1]"),
        ("EHLO [IPv6:2001:db8::1]", "EHLO [IPv6:2001:db8::1]"),
        ("EHLO client.example extra text", "EHLO client.example"),
        ("HELO client.example", "HELO client.example"),
        ("MAIL FROM:<a@b.example>", "MAIL FROM:<a@b.example>"),
        ("mail from:<>", "MAIL FROM:<>"),
        ("MAIL FROM: <a@b.example>", "MAIL FROM:<a@b.example>"),
        ("MAIL FROM:<a@b.example> SIZE=10", "MAIL FROM:<a@b.example> SIZE=10"),
        ("MAIL FROM:<a@b.example> body=8bitmime SMTPUTF8", "MAIL FROM:<a@b.example> BODY=8BITMIME SMTPUTF8"),
        ("MAIL FROM:<a@b.example> BODY=BINARYMIME", "MAIL FROM:<a@b.example> BODY=BINARYMIME"),
        ("MAIL FROM:<a@b.example> BODY=7BIT", "MAIL FROM:<a@b.example> BODY=7BIT"),
        ("MAIL FROM:<a@b.example> RET=hdrs ENVID=QQ+2B1", "MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ+2B1"),
        ("MAIL FROM:<e=mc2@example.com> AUTH=e+3Dmc2@example.com", "MAIL FROM:<e=mc2@example.com> AUTH=e+3Dmc2@example.com"),
        ("MAIL FROM:<john+@example.org> AUTH=<>", "MAIL FROM:<john+@example.org> AUTH=<>"),
        ("MAIL FROM:<a@b.example> REQUIRETLS", "MAIL FROM:<a@b.example> REQUIRETLS"),
        ("MAIL FROM:<@relay.example:a@b.example>", "MAIL FROM:<a@b.example>"),
        ("RCPT TO:<c@d.example>", "RCPT TO:<c@d.example>"),
        ("RCPT TO:<Postmaster>", "RCPT TO:<Postmaster>"),
        ("rcpt to:<postmaster>", "RCPT TO:<Postmaster>"),
        ("RCPT TO:<Postmaster@d.example>", "RCPT TO:<Postmaster@d.example>"),
        ("RCPT TO:<c@d.example> NOTIFY=success,failure ORCPT=rfc822;c+40d.example",
         "RCPT TO:<c@d.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d.example"),
        ("RCPT TO:<c@d.example> NOTIFY=NEVER", "RCPT TO:<c@d.example> NOTIFY=NEVER"),
        ("RCPT TO:<@a.example,@b.example:c@d.example>", "RCPT TO:<c@d.example>"),
        ("RCPT TO:<\"john doe\"@d.example>", "RCPT TO:<\"john doe\"@d.example>"),
        ("RCPT TO:<\"john\"@d.example>", "RCPT TO:<john@d.example>"),
        ("RCPT TO:<\"a\\\"b\"@d.example>", "RCPT TO:<\"a\\\"b\"@d.example>"),
        ("RCPT TO:<用户@例子.example>", "RCPT TO:<用户@例子.example>"),
        ("RCPT TO:<c@[192.0.2.1]>", "RCPT TO:<c@[192.0.2.1]>"),
        ("RCPT TO:<c@[IPv6:::1]>", "RCPT TO:<c@[IPv6:::1]>"),
        ("DATA", "DATA"),
        ("data", "DATA"),
        ("BDAT 100", "BDAT 100"),
        ("BDAT 0 LAST", "BDAT 0 LAST"),
        ("bdat 5 last", "BDAT 5 LAST"),
        ("RSET", "RSET"),
        ("NOOP", "NOOP"),
        ("NOOP ignored argument", "NOOP"),
        ("QUIT", "QUIT"),
        ("VRFY someone", "VRFY someone"),
        ("EXPN list", "EXPN list"),
        ("HELP", "HELP"),
        ("HELP MAIL", "HELP MAIL"),
        ("STARTTLS", "STARTTLS"),
        ("AUTH PLAIN", "AUTH PLAIN"),
        ("auth plain dGVzdAB0ZXN0ADEyMzQ=", "AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ="),
        ("AUTH EXTERNAL =", "AUTH EXTERNAL ="),
        ("AUTH SCRAM-SHA-256", "AUTH SCRAM-SHA-256"),
    ]

    @Test(arguments: valid)
    func parsesAndEncodes(line: String, encoded: String) throws {
        let command = try SMTPCommandParser.parse(line: Array(line.utf8))
        #expect(command.encoded == encoded)
        // Round trip: the encoded form parses to the same command.
        let reparsed = try SMTPCommandParser.parse(line: Array(command.encoded.utf8))
        #expect(reparsed.encoded == encoded)
        if !line.contains("<@") { #expect(reparsed == command) }  // source routes are dropped on encoding
    }

    static let invalid: [(String, SMTPCommandError, Int, String?)] = [
        // (line, error, reply code, enhanced code)
        ("FOO bar", .unrecognizedCommand, 500, "5.5.1"),
        ("MAILFROM:<a@b>", .unrecognizedCommand, 500, "5.5.1"),
        ("", .unrecognizedCommand, 500, "5.5.1"),
        ("EHLO", .invalidArguments, 501, "5.5.4"),
        ("EHLO -bad-.example", .invalidArguments, 501, "5.5.4"),
        ("EHLO [300.1.1.1]", .invalidArguments, 501, "5.5.4"),
        ("MAIL TO:<a@b>", .invalidArguments, 501, "5.5.4"),
        ("MAIL FROM:a@b.example", .invalidSender(.syntax), 501, "5.1.7"),
        ("MAIL FROM:<a@b.example", .invalidSender(.syntax), 501, "5.1.7"),
        ("MAIL FROM:<a..b@b.example>", .invalidSender(.syntax), 501, "5.1.7"),
        ("MAIL FROM:<a@b.example> SIZE=abc", .invalidParameterValue("SIZE"), 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> SIZE", .invalidParameterValue("SIZE"), 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> BODY=9BIT", .invalidParameterValue("BODY"), 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> SMTPUTF8=yes", .invalidParameterValue("SMTPUTF8"), 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> RET=ALL", .invalidParameterValue("RET"), 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> RET=FULL RET=HDRS", .duplicateParameter, 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> ENVID=bad+zz", .invalidParameterValue("ENVID"), 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> ENVID=" + String(repeating: "x", count: 101), .invalidParameterValue("ENVID"), 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> FOO=bar", .unrecognizedParameter("FOO"), 555, "5.5.4"),
        ("MAIL FROM:<a@b.example> =x", .invalidArguments, 501, "5.5.4"),
        ("RCPT TO:<user@other.example@local.example>", .invalidRecipient(.multipleAtSigns), 554, "5.7.1"),
        ("RCPT TO:<c@d.example> NOTIFY=NEVER,SUCCESS", .invalidParameterValue("NOTIFY"), 501, "5.5.4"),
        ("RCPT TO:<c@d.example> NOTIFY=SOMETIMES", .invalidParameterValue("NOTIFY"), 501, "5.5.4"),
        ("RCPT TO:<c@d.example> ORCPT=c@d.example", .invalidParameterValue("ORCPT"), 501, "5.5.4"),
        ("RCPT TO:<c@d.example> SIZE=1", .unrecognizedParameter("SIZE"), 555, "5.5.4"),
        ("RCPT TO:<c@d.example> NOTIFY=NEVER NOTIFY=NEVER", .duplicateParameter, 501, "5.5.4"),
        ("RCPT TO:<>", .invalidRecipient(.syntax), 501, "5.1.3"),
        ("RCPT TO:<c>", .invalidRecipient(.syntax), 501, "5.1.3"),
        ("RCPT TO:<c@>", .invalidRecipient(.syntax), 501, "5.1.3"),
        ("RCPT TO:<\"unterminated@d.example>", .invalidRecipient(.syntax), 501, "5.1.3"),
        ("RCPT TO:<" + String(repeating: "a", count: 65) + "@d.example>", .invalidRecipient(.tooLong), 501, "5.1.3"),
        ("RCPT TO:<c@[1.2.3]>", .invalidRecipient(.syntax), 501, "5.1.3"),
        ("RCPT TO:<c@[IPv6:1::2::3]>", .invalidRecipient(.syntax), 501, "5.1.3"),
        ("DATA now", .invalidArguments, 501, "5.5.4"),
        ("RSET x", .invalidArguments, 501, "5.5.4"),
        ("QUIT now", .invalidArguments, 501, "5.5.4"),
        ("STARTTLS now", .invalidArguments, 501, "5.5.4"),
        ("BDAT", .invalidArguments, 501, "5.5.4"),
        ("BDAT x", .invalidArguments, 501, "5.5.4"),
        ("BDAT -1", .invalidArguments, 501, "5.5.4"),
        ("BDAT 10 FIRST", .invalidArguments, 501, "5.5.4"),
        ("BDAT 99999999999999999999", .invalidArguments, 501, "5.5.4"),
        ("VRFY", .invalidArguments, 501, "5.5.4"),
        ("AUTH", .invalidArguments, 501, "5.5.4"),
        ("AUTH PLAIN not*base64", .invalidBase64, 501, "5.5.2"),
        ("AUTH PLAIN =AAA", .invalidBase64, 501, "5.5.2"),
        ("AUTH PLAIN AAA=BBBB", .invalidBase64, 501, "5.5.2"),
        ("AUTH THIS-MECHANISM-NAME-IS-TOO-LONG", .invalidMechanism, 504, "5.5.4"),
        ("NOOP\u{0}", .malformedLine, 500, "5.5.2"),
        ("MAIL FROM:<a@b.example>\rRCPT TO:<c@d>", .malformedLine, 500, "5.5.2"),
    ]

    @Test(arguments: invalid)
    func rejects(line: String, error: SMTPCommandError, code: Int, enhanced: String?) {
        #expect(parse(line) == .failure(error))
        #expect(error.reply.code == code)
        #expect(error.reply.enhancedCode?.description == enhanced)
    }

    @Test func invalidUTF8IsMalformed() {
        #expect(throws: SMTPCommandError.malformedLine) { try SMTPCommandParser.parse(line: Array("RCPT TO:<".utf8) + [0xC3, 0x28] + Array("@d>".utf8)) }
    }

    @Test func mailParametersAreTyped() throws {
        let command = try SMTPCommandParser.parse(line: Array("MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME RET=FULL ENVID=id+2Bx AUTH=<>".utf8))
        guard case .mail(let path, let parameters) = command else { Issue.record("not MAIL"); return }
        #expect(path?.mailbox.emailAddress == EmailAddress("a@b.example"))
        #expect(parameters.size == 1000)
        #expect(parameters.body == .eightBitMIME)
        #expect(parameters.dsnReturn == .full)
        #expect(parameters.envelopeID == "id+x")
        #expect(parameters.authIdentity == .unknown)
    }

    @Test func recipientPathDetails() {
        let routed = mailbox("@a.example,@b.example:c@d.example")
        #expect(routed.sourceRoute.map(\.name) == ["a.example", "b.example"])
        #expect(routed.mailbox.description == "c@d.example")
        let quoted = mailbox("\"user@other\"@local.example")
        #expect(quoted.mailbox.isQuoted)
        #expect(quoted.mailbox.unquotedLocalPart == "user@other")
        #expect(!mailbox("用户@例子.example").mailbox.isASCII)
        #expect(mailbox("c@[192.0.2.1]").mailbox.emailAddress == nil)
    }

    @Test func xtextRoundTrip() {
        for text in ["plain", "a+b=c", "with space", "e=mc2@example.com", "ü"] {
            #expect(SMTPXText.decode(SMTPXText.encode(text)) == Array(text.utf8))
        }
        #expect(SMTPXText.decode("+2b") == nil)  // hexchar digits must be upper case
        #expect(SMTPXText.decode("a=b") == nil)
    }

    @Test func base64Strictness() {
        #expect(Base64.decode("dGVzdA==") == Array("test".utf8))
        #expect(Base64.decode("") == [])
        #expect(Base64.decode("dGVzdA") == nil)
        #expect(Base64.decode("dG=zdA==") == nil)
        #expect(Base64.encode(Array("test".utf8)) == "dGVzdA==")
        for length in 0..<8 {
            let bytes = (0..<length).map { UInt8($0 * 37 & 0xFF) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
    }
}
