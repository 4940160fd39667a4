/// Mailbox name rules every backend applies the same way.
public enum MailboxNames {
    /// `INBOX` is case-insensitive (RFC 9051 §5.1): every spelling is stored as `INBOX`, including as the first level of a path.
    public static func canonical(_ name: String) -> String {
        if name.uppercased() == "INBOX" { return "INBOX" }
        if name.uppercased().hasPrefix("INBOX/") { return "INBOX" + name.dropFirst(5) }
        return name
    }

    /// A storable name: non-empty, at most 1,024 octets, no empty hierarchy level, no control characters.
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 1024 && !name.hasPrefix("/") && !name.hasSuffix("/") && !name.contains("//")
            && !name.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }
}
