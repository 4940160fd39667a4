import Testing
@testable import IMAPProtocol

@Test func moduleLinks() { #expect(Bool(true)) }
