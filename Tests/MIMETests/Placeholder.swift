import Testing
@testable import MIME

@Test func moduleLinks() { #expect(Bool(true)) }
