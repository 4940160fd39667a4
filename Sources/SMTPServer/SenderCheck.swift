import Directory
import MailCore
import MailStore
import MIME
import SMTPProtocol

/// Sender integrity at submission (RFC 6409 §8 lets a submission server check and fix what it is given): every address
/// in the message's `From:` and `Sender:` must belong to the authenticated account — its own address, a plus-address of
/// it, an alias that delivers to it, or a send-as grant (`AccountDirectory.may(_:sendAs:)`). Submission signs with the
/// From domain's DKIM key, so without this check any user could send mail other servers believe came from anyone in
/// the domain. Trusted relays (`letterbox user update --trusted-relay`) are exempt; `submission.check_from = false`
/// turns the header check off (the envelope check stays).
enum SenderCheck {
    enum Verdict: Equatable {
        case allowed
        /// `From:` is missing: the submission server adds one with the account's address.
        case addFrom
        case refused(SMTPReply)
    }

    static func check(_ message: [UInt8], account: AccountRecord, directory: AccountDirectory) async throws(DirectoryError) -> Verdict {
        let header = Header.parse(message: message)
        let from = header.fields(named: "From"), sender = header.fields(named: "Sender")
        guard !account.trustedRelay else { return from.isEmpty ? .addFrom : .allowed }
        for (name, fields) in [("From", from), ("Sender", sender)] {
            for field in fields {
                let mailboxes = AddressParser.parseList(bytes: field.unfoldedBytes).mailboxes
                if mailboxes.isEmpty { return .refused(refusal("the \(name) field holds no address")) }
                for mailbox in mailboxes {
                    guard mailbox.isValid, let address = mailbox.emailAddress else {
                        return .refused(refusal("\(name) address \(printable(mailbox.addressText)) is not valid"))
                    }
                    guard try await directory.may(account, sendAs: address) else {
                        return .refused(refusal("\(name) address <\(printable(address.description))> does not belong to \(account.address)"))
                    }
                }
            }
        }
        return from.isEmpty ? .addFrom : .allowed
    }

    private static func refusal(_ text: String) -> SMTPReply {
        SMTPReply(550, SMTPEnhancedStatusCode(5, 7, 1), text)
    }

    /// Reply text is ASCII without line breaks.
    private static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(200).map { $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
    }
}
