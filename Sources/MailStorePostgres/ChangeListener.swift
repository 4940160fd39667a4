import Logging
import MailStore
import PostgresNIO

extension PostgresMailStore {
    /// Carries other nodes' changes to this node's sessions until the task is cancelled: `LISTEN letterbox_changes` on a
    /// connection of its own, each notification republished into `changes`. When the connection drops it reconnects
    /// after a second, and every time listening (re)starts it wakes every local subscriber, so a session resynchronises
    /// from its modseq whatever was missed in between.
    public func listenForChanges() async {
        while !Task.isCancelled {
            do {
                try await database.ready()
                try await database.client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        logger.debug("listening for other nodes' changes")
                        changes.wakeAll()
                        for try await notification in notifications { receive(notification.payload) }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("lost the PostgreSQL change listener; reconnecting", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// `NODE c MAILBOX MODSEQ` or `NODE l ACCOUNT`; this node's own notifications were already published locally.
    func receive(_ payload: String) {
        let fields = payload.split(separator: " ")
        guard fields.count >= 3, fields[0] != Substring(nodeID), let id = Int64(fields[2]) else { return }
        switch fields[1] {
        case "c": changes.publish(.changed(MailboxID(id), highestModSeq: fields.count > 3 ? ModSeq(fields[3]) ?? 0 : 0))
        case "l": changes.publish(.mailboxListChanged(AccountID(id)))
        default: break
        }
    }
}
