import Testing
@testable import IMAPProtocol

/// Connection states, legality of commands, TLS policy, capabilities and ENABLE.
struct SessionStateTests {
    static let base = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ENABLE IDLE UIDPLUS MOVE NAMESPACE ID UNSELECT CHILDREN SPECIAL-USE "
        + "CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES STATUS=SIZE MULTIAPPEND BINARY APPENDLIMIT=50000000 "
        + "CONDSTORE QRESYNC UTF8=ACCEPT QUOTA QUOTA=RES-STORAGE SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES WITHIN UNAUTHENTICATE PREVIEW"

    @Test func capabilitiesBeforeTLS() {
        let session = IMAPSessionState(isTLS: false)
        #expect(session.capabilities.joined(separator: " ") == Self.base + " STARTTLS LOGINDISABLED")
        #expect(!session.capabilities.contains { $0.hasPrefix("AUTH=") })
    }

    @Test func capabilitiesAfterTLS() {
        var session = IMAPSessionState(isTLS: false)
        session.tlsStarted()
        #expect(session.capabilities.joined(separator: " ") == Self.base + " AUTH=PLAIN AUTH=SCRAM-SHA-256")
        #expect(IMAPSessionState(isTLS: true).capabilities == session.capabilities)
    }

    @Test func capabilitiesWithCleartextAllowedAndCustomLimit() {
        let config = IMAPSessionState.Configuration(appendLimit: 1000, allowCleartextAuthentication: true, startTLSAvailable: false)
        let session = IMAPSessionState(configuration: config, isTLS: false)
        #expect(session.capabilities.contains("APPENDLIMIT=1000"))
        #expect(!session.capabilities.contains("STARTTLS"))
        #expect(!session.capabilities.contains("LOGINDISABLED"))
        #expect(session.capabilities.suffix(2) == ["AUTH=PLAIN", "AUTH=SCRAM-SHA-256"])
    }

    @Test func capabilitiesAfterLoginOmitAuthentication() {
        var session = IMAPSessionState(isTLS: true)
        session.authenticated()
        #expect(session.capabilities.joined(separator: " ") == Self.base)
    }

    @Test func greetingCarriesCapabilities() {
        let session = IMAPSessionState(isTLS: false)
        #expect(session.greeting == .untagged(.status(.ok, code: .capability(session.capabilities), text: "Letterbox ready")))
    }

    @Test func cleartextLoginIsRefused() {
        var session = IMAPSessionState(isTLS: false)
        #expect(session.receive(tag: "a1", .login(username: "bob", password: "pw"))
            == [.send(.tagged(tag: "a1", .no, code: .privacyRequired, text: "authentication requires TLS: use STARTTLS first"))])
        #expect(session.receive(tag: "a2", .authenticate(mechanism: "PLAIN", initialResponse: nil)).count == 1)
        #expect(session.receive(tag: "a3", .startTLS) == [.send(.tagged(tag: "a3", .ok, text: "Begin TLS negotiation now")), .startTLS])
        session.tlsStarted()
        #expect(session.receive(tag: "a4", .login(username: "bob", password: "pw")) == [.execute(tag: "a4", .login(username: "bob", password: "pw"))])
        #expect(session.receive(tag: "a5", .startTLS) == [.send(.tagged(tag: "a5", .bad, text: "TLS is not available"))])
    }

    @Test func unknownMechanismIsRefused() {
        var session = IMAPSessionState(isTLS: true)
        #expect(session.receive(tag: "a1", .authenticate(mechanism: "CRAM-MD5", initialResponse: nil))
            == [.send(.tagged(tag: "a1", .no, code: .cannot, text: "unsupported authentication mechanism"))])
        #expect(session.receive(tag: "a2", .authenticate(mechanism: "scram-sha-256", initialResponse: .empty))
            == [.execute(tag: "a2", .authenticate(mechanism: "scram-sha-256", initialResponse: .empty))])
    }

    @Test func cleartextLoginAllowedByConfiguration() {
        var session = IMAPSessionState(configuration: .init(allowCleartextAuthentication: true), isTLS: false)
        #expect(session.receive(tag: "a1", .login(username: "u", password: "p")) == [.execute(tag: "a1", .login(username: "u", password: "p"))])
    }

    static let inbox = MailboxName.inbox
    static let all: SequenceSet = .all

    /// (command, allowed when not authenticated, authenticated, selected read-write, selected read-only)
    static let legality: [(IMAPCommand, [Bool])] = [
        (.capability, [true, true, true, true]),
        (.noop, [true, true, true, true]),
        (.id(nil), [true, true, true, true]),
        (.login(username: "u", password: "p"), [true, false, false, false]),
        (.authenticate(mechanism: "PLAIN", initialResponse: nil), [true, false, false, false]),
        (.enable(["IMAP4REV2"]), [false, true, false, false]),
        (.select(inbox, parameters: []), [false, true, true, true]),
        (.examine(inbox, parameters: []), [false, true, true, true]),
        (.create(inbox, specialUse: []), [false, true, true, true]),
        (.delete(inbox), [false, true, true, true]),
        (.rename(from: inbox, to: inbox), [false, true, true, true]),
        (.subscribe(inbox), [false, true, true, true]),
        (.unsubscribe(inbox), [false, true, true, true]),
        (.list(ListCommand(reference: "", patterns: ["*"])), [false, true, true, true]),
        (.lsub(reference: "", pattern: "*"), [false, true, true, true]),
        (.namespace, [false, true, true, true]),
        (.status(inbox, [.messages]), [false, true, true, true]),
        (.append(inbox, []), [false, true, true, true]),
        (.idle, [false, true, true, true]),
        (.check, [false, false, true, true]),
        (.close, [false, false, true, true]),
        (.unselect, [false, false, true, true]),
        (.search(SearchCommand(key: .all), uid: false), [false, false, true, true]),
        (.fetch(all, [.flags], uid: true), [false, false, true, true]),
        (.copy(all, inbox, uid: false), [false, false, true, true]),
        (.expunge, [false, false, true, false]),
        (.uidExpunge(all), [false, false, true, false]),
        (.store(all, StoreFlags(.add, flags: [.seen]), uid: false), [false, false, true, false]),
        (.move(all, inbox, uid: true), [false, false, true, false]),
    ]

    @Test(arguments: legality)
    func commandLegalityByState(_ command: IMAPCommand, _ allowed: [Bool]) {
        var sessions = [IMAPSessionState(isTLS: true), IMAPSessionState(isTLS: true), IMAPSessionState(isTLS: true), IMAPSessionState(isTLS: true)]
        for index in 1...3 { sessions[index].authenticated() }
        sessions[2].selected(Self.inbox, readOnly: false)
        sessions[3].selected(Self.inbox, readOnly: true)
        for (session, expected) in zip(sessions, allowed) {
            #expect((session.refusal(for: command) == nil) == expected, "\(session.state)")
        }
    }

    @Test func selectionLifecycle() {
        var session = IMAPSessionState(isTLS: true)
        session.authenticated()
        session.selected(MailboxName("Work"), readOnly: false)
        #expect(session.state == .selected(MailboxName("Work"), readOnly: false))
        session.unselected()
        #expect(session.state == .authenticated)
        #expect(session.receive(tag: "t", .noop) == [.send(.tagged(tag: "t", .ok, text: "NOOP completed"))])
        session.selected(.inbox, readOnly: true)
        // In a selected mailbox NOOP reports changes, so the server runs it.
        #expect(session.receive(tag: "t", .noop) == [.execute(tag: "t", .noop)])
    }

    @Test func logoutSaysByeAndCloses() {
        var session = IMAPSessionState(isTLS: true)
        #expect(session.receive(tag: "z", .logout) == [
            .send(.untagged(.status(.bye, text: "Letterbox logging out"))), .send(.tagged(tag: "z", .ok, text: "LOGOUT completed")), .close,
        ])
        #expect(session.state == .logout)
        #expect(session.receive(tag: "y", .noop).first == .send(.tagged(tag: "y", .bad, text: "command not valid in this state")))
    }

    @Test func enableSwitchesOnUTF8AndRev2Once() {
        var session = IMAPSessionState(isTLS: true)
        session.authenticated()
        #expect(!session.utf8Enabled)
        #expect(session.receive(tag: "e1", .enable(["UTF8=ACCEPT", "X-UNKNOWN"]))
            == [.send(.untagged(.enabled(["UTF8=ACCEPT"]))), .send(.tagged(tag: "e1", .ok, text: "ENABLE completed"))])
        #expect(session.utf8Enabled && !session.imap4rev2Enabled)
        #expect(session.receive(tag: "e2", .enable(["IMAP4REV2", "UTF8=ACCEPT"]))
            == [.send(.untagged(.enabled(["IMAP4rev2"]))), .send(.tagged(tag: "e2", .ok, text: "ENABLE completed"))])
        #expect(session.imap4rev2Enabled)
    }

    @Test func capabilityAndIDAnsweredDirectly() {
        var session = IMAPSessionState(isTLS: true)
        let capability = session.receive(tag: "c", .capability)
        #expect(capability == [.send(.untagged(.capability(session.capabilities))), .send(.tagged(tag: "c", .ok, text: "CAPABILITY completed"))])
        #expect(session.receive(tag: "i", .id(nil)).first == .send(.untagged(.id([IDParameter(key: "name", value: "Letterbox")]))))
    }
}
