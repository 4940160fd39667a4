/// libFuzzer target: SPF — record parsing, macro strings and their expansion, and evaluation (include, redirect, exp,
/// a/mx/ptr/exists, the lookup and void-lookup limits) against DNS described as data.
///
/// Input: one option byte, then parts separated by 0xFF: [record of example.com, record of a.example.com, record of
/// b.example.com, sender, HELO name, IP address]. Option & 1: 0 parse, 1 evaluate (which expands the macros). Checks: evaluation ends
/// (libFuzzer's timeout catches loops) and never crashes; the result names the identity checked.
import FuzzSupport
import MailAuth
import MailCore

func resolver(_ parts: [String]) -> TableResolver {
    var dns = TableResolver()
    for (index, name) in ["example.com", "a.example.com", "b.example.com"].enumerated() where index < parts.count {
        dns.txt[name] = [parts[index]]
    }
    dns.txt["c.example.com"] = ["v=spf1 include:example.com -all"]  // a loop back to the first record
    dns.a = ["example.com": [IPv4Address(192, 0, 2, 1)], "mx.example.com": [IPv4Address(192, 0, 2, 2)],
             "a.example.com": [IPv4Address(198, 51, 100, 7)]]
    dns.aaaa = ["example.com": [IPv6Address("2001:db8::1")!]]
    dns.mx = ["example.com": [MXRecord(preference: 10, exchange: "mx.example.com")]]
    dns.ptr = ["192.0.2.1": ["mx.example.com"], "2001:db8::1": ["example.com"]]
    dns.failing = ["fail.example.com"]
    return dns
}


@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSPF(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let parts = textParts(bytes.dropFirst())
    if bytes[0] & 1 == 0 {
        for text in parts.prefix(3) {
            _ = try? SPFRecord(parsing: text)
            for spaces in [false, true] { _ = try? SPFMacroString(parsing: text, allowSpaces: spaces) }
        }
        return 0
    }
    // Evaluation expands the macros of the records with the sender, HELO name and address given here.
    let evaluator = SPFEvaluator(resolver: resolver(parts), receivingHost: "mx.letterbox.test")
    let sender = parts.count > 3 ? parts[3] : "user@example.com"
    let helo = parts.count > 4 ? parts[4] : "mail.example.com"
    let ip = (parts.count > 5 ? IPAddress(parts[5]) : nil) ?? .v4(IPv4Address(192, 0, 2, 1))
    let result = runBlocking { await evaluator.check(ip: ip, mailFrom: sender, helo: helo, now: 1_700_000_000) }
    _ = runBlocking { await evaluator.checkHELO(ip: ip, helo: helo, now: 1_700_000_000) }
    guard result.identity == .mailFrom else { fatalError("MAIL FROM check reported identity \(result.identity)") }
    return 0
}
