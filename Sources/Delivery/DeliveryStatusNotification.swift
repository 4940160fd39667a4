import Foundation
import MailCore

/// Delivery status notifications (RFC 3464 multipart/report, RFC 3461 DSN, RFC 6522 report type): the bounce, the
/// delay warning and the "relayed" notice Letterbox sends to a message's sender.
///
/// Loops are impossible by construction: a DSN is sent with the null reverse-path `<>` (RFC 5321 §4.5.5), and nothing
/// sent from `<>` ever gets a DSN.
public struct DeliveryStatusNotification: Sendable {
    public enum Action: String, Sendable { case failed, delayed, relayed, delivered }

    public struct Recipient: Sendable, Hashable {
        public var address: String
        /// ORCPT as stored ("rfc822;bob@example.org").
        public var originalRecipient: String?
        public var action: Action
        /// RFC 3463 status, e.g. "5.1.1".
        public var status: String
        /// The remote host that answered, if any.
        public var remoteMTA: String?
        /// The remote reply ("550 5.1.1 No such user") or our own reason.
        public var diagnostic: String

        public init(address: String, originalRecipient: String?, action: Action, status: String, remoteMTA: String?, diagnostic: String) {
            self.address = address
            self.originalRecipient = originalRecipient
            self.action = action
            self.status = status
            self.remoteMTA = remoteMTA
            self.diagnostic = diagnostic
        }
    }

    public var reportingMTA: String
    public var sender: String
    public var envelopeID: String?
    public var arrivalDate: Int64
    public var recipients: [Recipient]
    /// The original message; only its header is attached unless `returnFullMessage` (RET=FULL).
    public var original: [UInt8]
    public var returnFullMessage: Bool

    public init(reportingMTA: String, sender: String, envelopeID: String?, arrivalDate: Int64, recipients: [Recipient],
                original: [UInt8], returnFullMessage: Bool) {
        self.reportingMTA = reportingMTA
        self.sender = sender
        self.envelopeID = envelopeID
        self.arrivalDate = arrivalDate
        self.recipients = recipients
        self.original = original
        self.returnFullMessage = returnFullMessage
    }

    /// The complete RFC 5322 message with CRLF line endings.
    public func render(now: Int64, uniqueID: String) -> [UInt8] {
        let boundary = "=_letterbox_dsn_\(uniqueID)"
        let kind = recipients.map(\.action).contains(.failed) ? Action.failed : recipients.first?.action ?? .failed
        let subject: String
        switch kind {
        case .failed: subject = "Undelivered Mail Returned to Sender"
        case .delayed: subject = "Delayed Mail (still being retried)"
        case .relayed, .delivered: subject = "Successful Mail Delivery Report"
        }
        var text = """
            From: Mail Delivery System <MAILER-DAEMON@\(reportingMTA)>\r
            To: <\(sender)>\r
            Subject: \(subject)\r
            Date: \(MessageDate(secondsSinceEpoch: now).rfc5322)\r
            Message-ID: <\(uniqueID).dsn@\(reportingMTA)>\r
            Auto-Submitted: auto-replied\r
            MIME-Version: 1.0\r
            Content-Type: multipart/report; report-type=delivery-status;\r
            \tboundary="\(boundary)"\r
            \r
            This is a MIME-encapsulated delivery status notification.\r
            \r
            --\(boundary)\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Transfer-Encoding: 8bit\r
            \r
            \(humanReadable(kind))\r
            --\(boundary)\r
            Content-Type: message/delivery-status\r
            \r
            Reporting-MTA: dns; \(reportingMTA)\r

            """
        if let envelopeID { text += "Original-Envelope-Id: \(envelopeID)\r\n" }
        text += "Arrival-Date: \(MessageDate(secondsSinceEpoch: arrivalDate).rfc5322)\r\n"
        for recipient in recipients {
            text += "\r\nFinal-Recipient: rfc822; \(recipient.address)\r\n"
            if let original = recipient.originalRecipient, let semicolon = original.firstIndex(of: ";") {
                text += "Original-Recipient: \(original[..<semicolon]); \(original[original.index(after: semicolon)...])\r\n"
            }
            text += "Action: \(recipient.action.rawValue)\r\nStatus: \(recipient.status)\r\n"
            if let remote = recipient.remoteMTA { text += "Remote-MTA: dns; \(remote)\r\n" }
            let diagnostic = recipient.diagnostic.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
            if recipient.remoteMTA != nil, let first = diagnostic.first, first.isNumber {
                text += "Diagnostic-Code: smtp; \(diagnostic)\r\n"
            } else {
                text += "Diagnostic-Code: X-Letterbox; \(diagnostic)\r\n"
            }
            if recipient.action == .failed || recipient.action == .delayed {
                text += "Last-Attempt-Date: \(MessageDate(secondsSinceEpoch: now).rfc5322)\r\n"
            }
        }
        text += "\r\n--\(boundary)\r\n"
        var bytes = Array(text.utf8)
        if returnFullMessage {
            bytes += Array("Content-Type: message/rfc822\r\n\r\n".utf8) + original
            if !original.ends(with: [13, 10]) { bytes += [13, 10] }
        } else {
            bytes += Array("Content-Type: text/rfc822-headers\r\n\r\n".utf8) + Self.header(of: original)
        }
        bytes += Array("--\(boundary)--\r\n".utf8)
        return bytes
    }

    private func humanReadable(_ kind: Action) -> String {
        var lines: [String]
        switch kind {
        case .failed:
            lines = ["This is the mail system at \(reportingMTA).", "",
                     "Your message could not be delivered to one or more recipients. It has been returned below.", ""]
        case .delayed:
            lines = ["This is the mail system at \(reportingMTA).", "",
                     "Your message has not been delivered yet to the recipients below. It is still being retried;",
                     "you do not need to send it again. You will be told if it finally fails.", ""]
        case .relayed, .delivered:
            lines = ["This is the mail system at \(reportingMTA).", "", "Your message was delivered to the recipients below.", ""]
        }
        for recipient in recipients {
            let host = recipient.remoteMTA.map { " (\($0) said: \(recipient.diagnostic))" } ?? ": \(recipient.diagnostic)"
            lines.append("<\(recipient.address)>\(host)")
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// The header section of a message, through the blank line (or all of it when there is no body).
    static func header(of message: [UInt8]) -> [UInt8] {
        var index = 0
        while index + 3 < message.count {
            if message[index] == 13, message[index + 1] == 10, message[index + 2] == 13, message[index + 3] == 10 {
                return Array(message[..<(index + 4)])
            }
            index += 1
        }
        return message.ends(with: [13, 10]) ? message : message + [13, 10]
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
