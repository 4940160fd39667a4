import Foundation
@testable import LetterboxServer
import ServerCore
import Testing

@Suite struct DoctorTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func summary(from: TimeInterval, to: TimeInterval, names: [String] = ["mail.example.org"]) -> CertificateSummary {
        var summary = try! CertificateSummary(certificatePEM: try! SelfSignedCertificate.generate(hostnames: ["x.invalid"], ipAddresses: []).certificatePEM)
        summary.notValidBefore = now.addingTimeInterval(from * 86_400)
        summary.notValidAfter = now.addingTimeInterval(to * 86_400)
        summary.dnsNames = names
        return summary
    }

    static func doctor() -> Doctor {
        var configuration = LetterboxConfiguration()
        configuration.hostname = "Mail.Example.org"
        configuration.dataDirectory = "/nonexistent-letterbox-doctor"
        return Doctor(configuration: configuration)
    }

    @Test(arguments: [
        // (valid from, valid to in days relative to now, passes, detail contains)
        (-30.0, 90.0, true, "valid for 90"),
        (-100.0, -1.0, false, "expired"),
        (-80.0, 10.0, false, "expires in 10 days"),
        (2.0, 90.0, false, "not valid before"),
    ])
    func certificateDates(from: Double, to: Double, passes: Bool, detail: String) {
        let check = Self.doctor().certificateDates(Self.summary(from: from, to: to), now: Self.now)
        #expect(check.passed == passes)
        #expect(check.detail.contains(detail), "\(check.detail)")
        #expect((check.fix != nil) == !passes)
        if !passes { #expect(check.fix?.contains("tls.cert") == true) }
    }

    @Test(arguments: [
        (["mail.example.org"], true), (["*.example.org"], true), (["example.org", "*.mail.example.org"], false), (["other.example"], false),
    ])
    func certificateNames(names: [String], passes: Bool) {
        let check = Self.doctor().certificateNames(Self.summary(from: -1, to: 90, names: names))
        #expect(check.passed == passes)
    }

    @Test func checklistMarksFailuresWithTheirFixAndAdvice() {
        let checks = [
            DoctorCheck.pass("a", "fine"),
            DoctorCheck.fail("b", "broken", fix: "set auth.allow_cleartext = false"),
            DoctorCheck(name: "c", passed: false, detail: "missing (recommended)", fix: "publish it", required: false),
        ]
        let text = Doctor.checklist(checks, colour: false)
        #expect(text == "✓ a: fine\n✗ b: broken\n    fix: set auth.allow_cleartext = false\n! c: missing (recommended)\n    fix: publish it\n1 of 3 checks failed\n")
        #expect(!Doctor.passed(checks))
        #expect(Doctor.passed([checks[0], checks[2]]), "advice does not fail the doctor")
        #expect(Doctor.checklist(checks, colour: true).contains("\u{1B}[31m✗"))
        let decoded = try? JSONDecoder().decode([DoctorCheck].self, from: Data(Doctor.json(checks).utf8))
        #expect(decoded == checks)
    }

    @Test func passingChecksCarryNoFix() {
        #expect(DoctorCheck(name: "x", passed: true, detail: "ok", fix: "unused").fix == nil)
    }

    @Test func configuredAddressesStandInForWildcards() {
        var configuration = LetterboxConfiguration()
        configuration.dataDirectory = "/nonexistent-letterbox-doctor"
        let addresses = Doctor.runningAddresses(configuration)
        #expect(addresses[.smtp] == ListenAddress(host: "127.0.0.1", port: 25))
        #expect(addresses[.http] == ListenAddress(host: "127.0.0.1", port: 8080))
    }
}
