/// Deterministic test messages of mixed sizes (2 KB to 2 MB): the same seed gives the same messages on every server.
/// Sizes: 70 % 2–10 KB text, 25 % 10–100 KB with an attachment, 5 % 100 KB–2 MB with an attachment. Every fourth
/// message contains the word "letterboxbench", which the IMAP workload searches for.
struct MessageGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uniform(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    static let words = ["mail", "server", "queue", "delivery", "message", "folder", "client", "letter", "box", "swift",
                        "report", "invoice", "meeting", "customer", "support", "ticket", "reply", "forward", "archive", "draft"]

    mutating func size() -> Int {
        let roll = uniform(0...99)
        if roll < 70 { return uniform(2_000...10_000) }
        if roll < 95 { return uniform(10_000...100_000) }
        return uniform(100_000...2_000_000)
    }

    /// Message number `n` (CRLF line endings, no line over 78 octets, no line starting with ".").
    mutating func message(number n: Int, from: String, to: String, size target: Int? = nil) -> [UInt8] {
        let size = target ?? self.size()
        var text = "From: <\(from)>\r\nTo: <\(to)>\r\nSubject: load test message \(n)\r\n"
            + "Date: Fri, 27 Nov 2026 06:00:00 +0000\r\nMessage-ID: <load-\(n)-\(state % 1_000_000)@letterbox-load>\r\nMIME-Version: 1.0\r\n"
        let textSize = min(size, 8_000)
        let boundary = "=_load_\(n)"
        if size > textSize {
            text += "Content-Type: multipart/mixed; boundary=\"\(boundary)\"\r\n\r\n--\(boundary)\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        } else {
            text += "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        }
        var body = n % 4 == 0 ? "letterboxbench\r\n" : ""
        var line = ""
        while body.utf8.count < textSize {
            let word = Self.words[uniform(0...(Self.words.count - 1))]
            if line.utf8.count + word.utf8.count + 1 > 72 {
                body += line + "\r\n"
                line = ""
            }
            line += line.isEmpty ? word : " " + word
        }
        body += line + "\r\n"
        var bytes = Array((text + body).utf8)
        if size > textSize {
            bytes += Array("--\(boundary)\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"data-\(n).bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n".utf8)
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
            var remaining = size - bytes.count
            while remaining > 0 {
                var chunk: [UInt8] = []
                chunk.reserveCapacity(78)
                for _ in 0..<76 { chunk.append(alphabet[Int(next() & 63)]) }
                chunk += [13, 10]
                bytes += chunk
                remaining -= 78
            }
            bytes += Array("--\(boundary)--\r\n".utf8)
        }
        return bytes
    }
}
