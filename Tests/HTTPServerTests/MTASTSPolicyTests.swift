import Testing
@testable import HTTPServer

@Suite struct MTASTSPolicyTests {
    @Test func policyText() {
        let policy = MTASTSPolicy(mode: .enforce, mx: ["mail.example.org", "*.backup.example.org"], maxAge: 86_400)
        #expect(policy.text == "version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmx: *.backup.example.org\r\nmax_age: 86400\r\n")
    }

    @Test func maxAgeIsClampedToTheRFCLimit() {
        #expect(MTASTSPolicy(mx: ["a.example"], maxAge: 99_999_999).maxAge == 31_557_600)
        #expect(MTASTSPolicy(mx: ["a.example"]).text.hasSuffix("max_age: 604800\r\n"))
    }

    @Test func idIsShortAlphanumericAndFollowsThePolicy() {
        let base = MTASTSPolicy(mode: .testing, mx: ["mail.example.org"])
        #expect(base.id.count == 32)
        #expect(base.id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        #expect(base.id == MTASTSPolicy(mode: .testing, mx: ["mail.example.org"]).id)
        #expect(base.txtRecord == "v=STSv1; id=\(base.id)")
        let changes = [
            MTASTSPolicy(mode: .enforce, mx: ["mail.example.org"]),
            MTASTSPolicy(mode: .testing, mx: ["mail2.example.org"]),
            MTASTSPolicy(mode: .testing, mx: ["mail.example.org"], maxAge: 3600),
        ]
        for changed in changes { #expect(changed.id != base.id, "\(changed.text)") }
    }
}
