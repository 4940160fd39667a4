import MailStore
import MIME

/// The views of a message the store caches at delivery (DESIGN.md: "IMAP never re-parses a message to answer FETCH
/// ENVELOPE/BODYSTRUCTURE"): ENVELOPE, BODYSTRUCTURE and BODY as IMAP wire bytes, and the decoded text SEARCH looks in.
enum MessageSummaries {
    /// Search text kept per message; longer bodies are searched from the blob.
    static let maximumSearchText = 256 * 1024

    static func summarize(_ bytes: [UInt8]) -> MessageSummary {
        let message = Message.parse(bytes)
        let structure = message.bodyStructure()
        let text = message.searchText
        var search = ""
        for (name, value) in text.headers { search += "\(name): \(value)\n" }
        search += "\n"
        search += text.body.prefix(max(0, maximumSearchText - search.utf8.count))
        return MessageSummary(
            envelope: message.envelope.wireBytes,
            bodyStructure: structure.wireBytes(extensible: true),
            body: structure.wireBytes(extensible: false),
            searchText: search)
    }
}
