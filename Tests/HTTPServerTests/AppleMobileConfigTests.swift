import Foundation
import Testing
@testable import HTTPServer

@Suite struct AppleMobileConfigTests {
    private func plist(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try PropertyListSerialization.propertyList(from: Data(bytes), format: nil) as? [String: Any])
    }

    @Test func profileHasOneMailPayloadWithTLS() throws {
        let profile = try plist(try #require(AppleMobileConfig.profile(settings(), emailAddress: "alice@Example.org")))
        #expect(profile["PayloadType"] as? String == "Configuration")
        #expect(profile["PayloadVersion"] as? Int == 1)
        let content = try #require(profile["PayloadContent"] as? [[String: Any]])
        #expect(content.count == 1)
        let mail = content[0]
        #expect(mail["PayloadType"] as? String == "com.apple.mail.managed")
        #expect(mail["EmailAccountType"] as? String == "EmailTypeIMAP")
        #expect(mail["EmailAddress"] as? String == "alice@Example.org")
        #expect(mail["IncomingMailServerHostName"] as? String == "mail.example.org")
        #expect(mail["IncomingMailServerPortNumber"] as? Int == 993)
        #expect(mail["IncomingMailServerUseSSL"] as? Bool == true)
        #expect(mail["IncomingMailServerUsername"] as? String == "alice@Example.org")
        #expect(mail["OutgoingMailServerPortNumber"] as? Int == 465)
        #expect(mail["OutgoingMailServerUseSSL"] as? Bool == true)
        #expect(mail["IncomingMailServerAuthentication"] as? String == "EmailAuthPassword")
        let uuid = try #require(mail["PayloadUUID"] as? String)
        #expect(UUID(uuidString: uuid) != nil)
        #expect(uuid != profile["PayloadUUID"] as? String)
    }

    @Test func theSameAccountGetsTheSameUUIDs() throws {
        let first = try plist(try #require(AppleMobileConfig.profile(settings(), emailAddress: "alice@example.org")))
        let again = try plist(try #require(AppleMobileConfig.profile(settings(), emailAddress: "alice@example.org")))
        let other = try plist(try #require(AppleMobileConfig.profile(settings(), emailAddress: "bob@example.org")))
        #expect(first["PayloadUUID"] as? String == again["PayloadUUID"] as? String)
        #expect(first["PayloadUUID"] as? String != other["PayloadUUID"] as? String)
    }

    @Test func startTLSPortsWhenImplicitTLSIsOff() throws {
        let profile = try plist(try #require(AppleMobileConfig.profile(settings(enabled: [.imap, .submission]), emailAddress: "a@example.org")))
        let mail = try #require((profile["PayloadContent"] as? [[String: Any]])?.first)
        #expect(mail["IncomingMailServerPortNumber"] as? Int == 143)
        #expect(mail["OutgoingMailServerPortNumber"] as? Int == 587)
        #expect(mail["OutgoingMailServerUseSSL"] as? Bool == true)
    }

    static let unusable: [(String, Set<MailClientService.Kind>)] = [
        ("alice@unknown.example", Set(MailClientService.Kind.allCases)),
        ("not-an-address", Set(MailClientService.Kind.allCases)),
        ("alice@example.org", [.imaps, .imap]),
        ("alice@example.org", [.submissions]),
    ]

    @Test(arguments: unusable)
    func noProfile(address: String, enabled: Set<MailClientService.Kind>) {
        #expect(AppleMobileConfig.profile(settings(enabled: enabled), emailAddress: address) == nil)
    }

    @Test func hostileAddressStaysInsideItsString() throws {
        let address = "\"</string><key>x</key>&\"@example.org"
        let profile = try plist(try #require(AppleMobileConfig.profile(settings(), emailAddress: address)))
        let mail = try #require((profile["PayloadContent"] as? [[String: Any]])?.first)
        #expect(mail["EmailAddress"] as? String == address)
        #expect(mail["x"] == nil)
    }
}
