/// libFuzzer target: DMARC — record parsing, the public suffix list and organizational domains, and evaluation
/// (record discovery at the From domain then the organizational domain, alignment, pct) against DNS described as data.
///
/// Input: one option byte, then parts separated by 0xFF: [record at _dmarc.mail.example.com, record at
/// _dmarc.example.com, From domain, DKIM d=, SPF domain, public suffix list]. Checks: an organizational domain is a
/// suffix of the domain (by labels) that contains its public suffix; a pass needs an aligned DKIM or SPF pass; a
/// disposition other than none needs a fail.
import FuzzSupport
import MailAuth
import MailCore

let defaultSuffixes = PublicSuffixList(parsing: "com\nco.uk\n*.ck\n!www.ck\n// comment\n")

/// Makes the globals before the first input, so that libFuzzer's leak check does not count them against an input.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    _ = defaultSuffixes.isEmpty
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDMARC(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let option = bytes[0]
    let parts = textParts(bytes.dropFirst())
    func part(_ index: Int, _ fallback: String) -> String { index < parts.count ? parts[index] : fallback }

    for text in parts.prefix(2) { _ = try? DMARCRecord(parsing: text) }
    let suffixes = parts.count > 5 ? PublicSuffixList(parsing: parts[5]) : defaultSuffixes
    for domain in [part(2, "mail.example.com"), part(3, "example.com"), part(4, "example.com")] {
        let suffix = suffixes.publicSuffix(of: domain)
        let organizational = suffixes.organizationalDomain(of: domain)
        let labels = organizational.split(separator: ".")
        let suffixLabels = suffix.split(separator: ".")
        guard labels.count >= suffixLabels.count, Array(labels.suffix(suffixLabels.count)) == suffixLabels else {
            fatalError("organizational domain \(organizational) of \(domain) does not end in its public suffix \(suffix)")
        }
    }

    var dns = TableResolver()
    dns.txt["_dmarc.mail.example.com"] = parts.isEmpty ? nil : [parts[0]]
    dns.txt["_dmarc.example.com"] = parts.count > 1 ? [parts[1], "v=DMARC1; p=none"].prefix(Int(option >> 7) + 1).map { $0 } : nil
    dns.failing = ["_dmarc.fail.example.com"]
    let evaluator = DMARCEvaluator(resolver: dns, publicSuffixes: suffixes)
    let dkimStatus: DKIMResult.Status = option & 1 == 0 ? .pass : .fail
    let spfStatus: SPFResult.Status = option & 2 == 0 ? .pass : .softfail
    let dkim = [DKIMResult(status: dkimStatus, domain: part(3, "example.com"))]
    let from = part(2, "mail.example.com")
    let spfDomain = part(4, "example.com")
    let sample = Int(option >> 2 & 0x1F) * 3
    let result = runBlocking { await evaluator.evaluate(fromDomain: from, spf: (spfStatus, spfDomain), dkim: dkim, sample: sample) }
    if result.status == .pass, !(result.dkimAligned || result.spfAligned) { fatalError("pass without alignment: \(result)") }
    if result.disposition != DMARCRecord.Policy.none, result.status != .fail { fatalError("disposition \(result.disposition) for \(result.status)") }
    return 0
}
