/// Parse-throughput measurement for MIME (built and run by Fuzz/bench-mime.sh; not a test).
/// Builds synthetic messages (a typical 60 KB multipart, and a 50 MB message with 10 000 parts) and reports MB/s for
/// `Message.parse`, and for parse + ENVELOPE + BODYSTRUCTURE (what delivery computes).
import MailCore
import MIME
import Foundation

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func typical() -> [UInt8] {
    var b = MessageBuilder(body: .multipart(subtype: "mixed", parts: [
        .multipart(subtype: "alternative", parts: [
            .text(String(repeating: "Hello wörld, this is a line of text.\n", count: 400)),
            .text(String(repeating: "<p>Hello wörld</p>\n", count: 400), subtype: "html"),
        ]),
        .attachment([UInt8](repeating: 0x42, count: 30_000), contentType: "application/pdf", fileName: "a.pdf"),
    ]))
    b.add("From", "Alice <alice@example.com>")
    b.add("To", "bob@example.org")
    b.add("Subject", "Grüße aus Köln")
    return b.build()
}

func huge(parts: Int, totalBytes: Int) -> [UInt8] {
    var out = Array("From: a@b.c\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=BIG\r\n\r\n".utf8)
    let line = Array("abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789\r\n".utf8)
    let perPart = totalBytes / parts
    for i in 0..<parts {
        out += "--BIG\r\nContent-Type: text/plain; name=p\(i)\r\n\r\n".utf8
        var n = 0
        while n < perPart { out += line; n += line.count }
    }
    out += "--BIG--\r\n".utf8
    return out
}

func measure(_ name: String, _ bytes: [UInt8], iterations: Int) {
    var checksum = 0
    let t0 = now()
    for _ in 0..<iterations { checksum &+= Message.parse(bytes).root.children.count }
    let t1 = now()
    for _ in 0..<iterations {
        let m = Message.parse(bytes)
        checksum &+= m.envelope.wireBytes.count + m.bodyStructure().wireBytes(extensible: true).count
    }
    let t2 = now()
    let mb = Double(bytes.count * iterations) / 1_048_576
    print("\(name): \(bytes.count) bytes × \(iterations): parse \(String(format: "%.1f", mb / (t1 - t0))) MB/s, "
        + "parse+envelope+bodystructure \(String(format: "%.1f", mb / (t2 - t1))) MB/s (checksum \(checksum))")
}

measure("typical 60 KB multipart", typical(), iterations: 300)
measure("5 MB, 1 000 parts", huge(parts: 1_000, totalBytes: 5_000_000), iterations: 3)
measure("50 MB, 10 000 parts", huge(parts: 10_000, totalBytes: 50_000_000), iterations: 1)
