import Testing
@testable import SMTPProtocol

@Test func moduleLinks() { #expect(Bool(true)) }
