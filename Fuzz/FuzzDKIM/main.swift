/// libFuzzer target: DKIM — tag lists, DKIM-Signature values, key records, and whole-message verification (header
/// and body canonicalization, signed-data assembly, key lookup) against DNS described as data.
///
/// Input: one option byte, then parts separated by 0xFF. Option & 3: 0 the text parsers on every part; 1 verify the
/// first part as a message, with the second part published as the key record of `fuzz._domainkey.example.com`; 2 sign
/// the first part and verify it. Checks: a tag list re-serialized parses to the same list; a key record's `text`
/// parses back to the record (but for its notes, which `text` leaves out); a message we sign (CRLF lines, a header that starts with a field) verifies as pass.
import FuzzSupport
import MailAuth
import MailCore

let key = DKIMPrivateKey.generateEd25519()
let signer = DKIMSigner(key: key, domain: "example.com", selector: "sel")
let now: UnixTime = 1_700_000_000

func resolver(fuzzKey: String?) -> TableResolver {
    var dns = TableResolver()
    dns.txt["sel._domainkey.example.com"] = [key.publicKeyRecord.text]
    if let fuzzKey { dns.txt["fuzz._domainkey.example.com"] = [fuzzKey] }
    dns.failing = ["fail._domainkey.example.com"]
    return dns
}

func textParsers(_ parts: [String]) {
    for text in parts {
        if let list = try? TagList(parsing: text) {
            let again = try? TagList(parsing: list.tags.map { "\($0.name)=\($0.value)" }.joined(separator: ";"))
            guard again == list else { fatalError("tag list \(text.debugDescription) re-serialized parses as \(again as Any)") }
        }
        _ = try? DKIMSignature(parsing: text)
        if let record = try? DKIMPublicKeyRecord(parsing: text) {
            // `text` (what `letterbox dns` publishes) leaves out the notes (n=).
            var withoutNotes = record
            withoutNotes.notes = nil
            let again = try? DKIMPublicKeyRecord(parsing: record.text)
            guard again == withoutNotes else { fatalError("key record \(text.debugDescription) as \(record.text.debugDescription) parses as \(again as Any)") }
            _ = DNSTXTValue.characterStrings(record.text)
        }
    }
}

/// A message whose signature must verify: CRLF line ends only, and a first line that is a header field.
func isPlainMessage(_ bytes: [UInt8]) -> Bool {
    guard let first = bytes.first, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
          let colon = bytes.firstIndex(of: UInt8(ascii: ":")),
          bytes[..<colon].allSatisfy({ (33...126).contains($0) }) else { return false }
    for (index, byte) in bytes.enumerated() {
        if byte == 13, index + 1 >= bytes.count || bytes[index + 1] != 10 { return false }
        if byte == 10, index == 0 || bytes[index - 1] != 13 { return false }
    }
    return true
}

/// Makes the globals before the first input, so that libFuzzer's leak check does not count them against an input.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    _ = signer.domain
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDKIM(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let rest = bytes.dropFirst()
    switch bytes[0] & 3 {
    case 1:
        let parts = rest.split(separator: 0xFF, maxSplits: 1, omittingEmptySubsequences: false)
        let message = Array(parts[0])
        let fuzzKey = parts.count > 1 ? String(decoding: parts[1], as: UTF8.self) : nil
        let verifier = DKIMVerifier(resolver: resolver(fuzzKey: fuzzKey))
        _ = runBlocking { await verifier.verify(message: message, now: now) }
    case 2:
        let message = Array(rest)
        guard let field = try? signer.sign(message: message, now: now) else { return 0 }
        let signed = Array(field.utf8) + message
        let verifier = DKIMVerifier(resolver: resolver(fuzzKey: nil))
        let results = runBlocking { await verifier.verify(message: signed, now: now) }
        if isPlainMessage(message), results.first?.status != .pass {
            fatalError("our signature does not verify: \(results.first as Any)\n\(String(decoding: signed, as: UTF8.self).debugDescription)")
        }
    default:
        textParsers(textParts(rest))
    }
    return 0
}
