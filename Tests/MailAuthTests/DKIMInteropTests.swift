import MailCore
import MailTestSupport
import Foundation
import Testing
@testable import MailAuth

/// Verifies with dkimpy (the key record handed in through a file, so no DNS) what Letterbox signs, and the reverse.
/// Needs `pip install dkimpy pynacl`.
@Suite("DKIM interop with dkimpy", .enabled(if: Interop.hasDkimpy, "dkimpy/pynacl not installed (pip install dkimpy pynacl)"))
struct DKIMDkimpyTests {
    static let verifyScript = """
        import dkim, json, sys
        records = json.load(open(sys.argv[1]))
        def dnsfunc(name, timeout=5):
            name = name.decode() if isinstance(name, bytes) else name
            return records.get(name.rstrip('.').lower(), '').encode()
        message = open(sys.argv[2], 'rb').read()
        print('PASS' if dkim.verify(message, dnsfunc=dnsfunc) else 'FAIL')
        """

    static let signScript = """
        import dkim, sys
        message = open(sys.argv[1], 'rb').read()
        key = open(sys.argv[2], 'rb').read()
        algorithm = sys.argv[3].encode()
        field = dkim.sign(message, b'sel', b'example.org', key, signature_algorithm=algorithm,
                          canonicalize=(sys.argv[4].encode(), sys.argv[5].encode()),
                          include_headers=[b'from', b'to', b'subject', b'date', b'message-id'])
        sys.stdout.buffer.write(field)
        """

    @Test("a message Letterbox signs verifies in dkimpy", arguments: ["rsa", "ed"])
    func letterboxToDkimpy(selector: String) throws {
        let key = selector == "rsa" ? TestKeys.rsa : TestKeys.ed25519
        let field = try DKIMSigner(key: key, domain: "example.org", selector: selector).sign(message: sampleMessage.bytes, now: UnixTime(Date().timeIntervalSince1970))
        let directory = try Interop.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let records = directory.appendingPathComponent("records.json")
        try JSONEncoder().encode(["\(selector)._domainkey.example.org": key.publicKeyRecord.text]).write(to: records)
        let message = directory.appendingPathComponent("message.eml")
        try Data((field + sampleMessage).bytes).write(to: message)
        let result = try Interop.python(Self.verifyScript, arguments: [records.path, message.path])
        #expect(result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "PASS", "dkimpy: \(result.output)")

        // The same check must be able to fail: dkimpy rejects a changed body.
        let tampered = (field + sampleMessage).replacing("noon", with: "one")
        try Data(tampered.bytes).write(to: message)
        let failed = try Interop.python(Self.verifyScript, arguments: [records.path, message.path])
        #expect(failed.output.trimmingCharacters(in: .whitespacesAndNewlines) == "FAIL")
    }

    /// (algorithm, header canonicalization, body canonicalization)
    static let dkimpySigned: [(String, String, String)] = [
        ("rsa-sha256", "relaxed", "relaxed"), ("rsa-sha256", "simple", "simple"), ("rsa-sha256", "relaxed", "simple"),
        ("ed25519-sha256", "relaxed", "relaxed"), ("ed25519-sha256", "simple", "simple"),
    ]

    @Test("a message dkimpy signs verifies in Letterbox", arguments: dkimpySigned.indices)
    func dkimpyToLetterbox(_ index: Int) async throws {
        let (algorithm, header, body) = Self.dkimpySigned[index]
        let key = algorithm == "rsa-sha256" ? TestKeys.rsa : TestKeys.ed25519
        let directory = try Interop.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyFile = directory.appendingPathComponent("key")
        switch key {
        case .rsa: try key.pemRepresentation.write(to: keyFile, atomically: true, encoding: .utf8)
        case .ed25519(let ed): try Base64.encode(ed.rawRepresentation).write(to: keyFile, atomically: true, encoding: .utf8)
        }
        let message = directory.appendingPathComponent("message.eml")
        try Data(sampleMessage.bytes).write(to: message)
        let signed = try Interop.python(Self.signScript, arguments: [message.path, keyFile.path, algorithm, header, body])
        try #require(signed.status == 0 && signed.output.hasPrefix("DKIM-Signature:"), "dkimpy sign: \(signed.output)")
        let dns = FakeDNS(txt: ["sel._domainkey.example.org": [key.publicKeyRecord.text]])
        let results = await DKIMVerifier(resolver: dns).verify(message: (signed.output + sampleMessage).bytes, now: UnixTime(Date().timeIntervalSince1970))
        #expect(results.map(\.status) == [.pass], "\(results)")
        #expect(results.first?.algorithm == algorithm)
        let tampered = (signed.output + sampleMessage).replacing("Lunch", with: "Brunch")
        #expect(await DKIMVerifier(resolver: dns).verify(message: tampered.bytes, now: UnixTime(Date().timeIntervalSince1970)).map(\.status) == [.fail])
    }
}

/// OpenDKIM (Debian `opendkim-tools`). `opendkim-testmsg` looks keys up in DNS through /etc/resolv.conf, so the
/// verification runs in private mount and network namespaces (`unshare -m -n`, needs root) where resolv.conf names a
/// dnsmasq on 127.0.0.1:53 holding the key record.
@Suite("DKIM interop with OpenDKIM", .serialized,
       .enabled(if: Interop.opendkimTestmsg != nil, "opendkim-testmsg not installed (apt-get install opendkim-tools)"))
struct DKIMOpenDKIMTests {
    static let canIsolate = getuid() == 0 && Dnsmasq.binary != nil
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
        && ["/usr/sbin/ip", "/usr/bin/ip", "/sbin/ip", "/bin/ip"].contains { FileManager.default.isExecutableFile(atPath: $0) }

    /// Exit status of `opendkim-testmsg` verifying `message` with `record` published at `selector._domainkey.example.org`.
    static func opendkimVerify(_ message: String, selector: String, record: String) throws -> (status: Int32, output: String) {
        let directory = try Interop.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("dnsmasq.conf"), resolv = directory.appendingPathComponent("resolv.conf")
        let messageFile = directory.appendingPathComponent("message.eml"), pidFile = directory.appendingPathComponent("dnsmasq.pid")
        try """
            port=53
            listen-address=127.0.0.1
            bind-interfaces
            no-resolv
            no-hosts
            local=/example.org/
            txt-record=\(selector)._domainkey.example.org,"\(record)"

            """.write(to: config, atomically: true, encoding: .utf8)
        try "nameserver 127.0.0.1\n".write(to: resolv, atomically: true, encoding: .utf8)
        try Data(message.bytes).write(to: messageFile)
        let script = """
            ip link set lo up && mount --bind "$1" /etc/resolv.conf && dnsmasq --conf-file="$2" --pid-file="$3" || exit 99
            for i in 1 2 3 4 5 6 7 8 9 10; do [ -s "$3" ] && break; sleep 0.1; done
            sleep 0.2
            "$5" < "$4"; status=$?
            kill "$(cat "$3")"
            exit $status
            """
        return try Interop.run("/usr/bin/unshare", ["-m", "-n", "/bin/sh", "-c", script, "sh", resolv.path, config.path, pidFile.path,
                                                    messageFile.path, Interop.opendkimTestmsg!])
    }

    @Test("a message Letterbox signs verifies in opendkim-testmsg", .enabled(if: canIsolate, "needs root, unshare, ip and dnsmasq"),
          arguments: ["rsa", "ed"])
    func letterboxToOpenDKIM(selector: String) throws {
        let key = selector == "rsa" ? TestKeys.rsa : TestKeys.ed25519
        let signer = DKIMSigner(key: key, domain: "example.org", selector: selector)
        let field = try signer.sign(message: sampleMessage.bytes, now: UnixTime(Date().timeIntervalSince1970))
        let good = try Self.opendkimVerify(field + sampleMessage, selector: selector, record: key.publicKeyRecord.text)
        #expect(good.status == 0, "opendkim-testmsg: \(good.output)")
        let bad = try Self.opendkimVerify((field + sampleMessage).replacing("Lunch", with: "Brunch"), selector: selector,
                                          record: key.publicKeyRecord.text)
        #expect(bad.status != 0 && bad.status != 99, "opendkim-testmsg accepted a changed Subject: \(bad.output)")
    }

    /// opendkim-testmsg can only sign with rsa-sha1, which RFC 8301 §3.1 forbids verifiers to accept: Letterbox must say
    /// permerror for exactly that reason (and not, say, fail on the canonicalization).
    @Test("a message opendkim-testmsg signs (rsa-sha1) is refused by Letterbox for its algorithm")
    func opendkimToLetterbox() async throws {
        let directory = try Interop.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyFile = directory.appendingPathComponent("sel.private")
        try TestKeys.rsa.pemRepresentation.write(to: keyFile, atomically: true, encoding: .utf8)
        let result = try Interop.run(Interop.opendkimTestmsg!, ["-d", "example.org", "-s", "sel", "-k", keyFile.path, "-C",
                                                                 "-t", directory.path], stdin: sampleMessage.bytes)
        try #require(result.status == 0 && result.output.hasPrefix("DKIM-Signature:"), "opendkim-testmsg: \(result.output)")
        let dns = FakeDNS(txt: ["sel._domainkey.example.org": [TestKeys.rsa.publicKeyRecord.text]])
        let results = await DKIMVerifier(resolver: dns).verify(message: RawMessage.normalizingLineEnds(result.output.bytes),
                                                                now: UnixTime(Date().timeIntervalSince1970))
        #expect(results.map(\.status) == [.permerror] && results.first?.reason == "algorithm rsa-sha1 not accepted (RFC 8301)")
    }
}
