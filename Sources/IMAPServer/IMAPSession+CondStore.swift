import IMAPProtocol
import MailStore

/// CONDSTORE and QRESYNC (RFC 7162) pieces of SELECT and FETCH: quick resynchronisation and the VANISHED (EARLIER)
/// reports. STORE UNCHANGEDSINCE, SEARCH MODSEQ and STATUS HIGHESTMODSEQ live with their commands.
///
/// Invariant: VANISHED (EARLIER) never names a UID that is still numbered in the client's view (a ghost awaiting its
/// announcement): those are reported later by a plain VANISHED, which also renumbers; EARLIER does not.
extension IMAPSession {
    /// SELECT/EXAMINE … (QRESYNC (uidvalidity modseq [known-uids])) with a matching UIDVALIDITY (RFC 7162 §3.2.5.2):
    /// VANISHED (EARLIER) for the known UIDs expunged since the modseq, then FETCH (UID FLAGS MODSEQ) for every message
    /// changed since it.
    func resynchronize(_ qresync: QResyncParameters, states: [MessageState], view: SelectedMailboxView) async throws {
        let selectedID = try requireSelected().id
        let changes = try await store.changes(in: selectedID, since: ModSeq(qresync.modSeq))
        let known = qresync.knownUIDs.map { $0.resolved(largest: UInt32.max - 1) }
        let vanished = changes.expunged.filter { uid in
            view.sequenceNumber(forUID: uid) == nil && (known?.contains { $0.contains(uid) } ?? true)
        }
        if !vanished.isEmpty { try await send(.vanished(earlier: true, SequenceSet(vanished))) }
        for record in states where UInt64(record.modSeq) > qresync.modSeq {
            guard let number = view.sequenceNumber(forUID: record.uid) else { continue }
            let flags = view.flags(uid: record.uid) ?? Conversions.flags(record.flags)
            try await send(.fetch(number, [.uid(record.uid), .flags(Self.ordered(flags)), .modSeq(UInt64(record.modSeq))]))
        }
    }

    /// UID FETCH … (CHANGEDSINCE n VANISHED) (RFC 7162 §3.2.6): the UIDs of `set` expunged since n.
    func reportVanished(in set: SequenceSet, since modSeq: UInt64) async throws {
        let current = try requireSelected()
        let changes = try await store.changes(in: current.id, since: ModSeq(modSeq))
        let ranges = set.resolved(largest: max(current.view.largestUID, changes.uidNext > 0 ? changes.uidNext - 1 : 0))
        let vanished = changes.expunged.filter { uid in
            current.view.sequenceNumber(forUID: uid) == nil && ranges.contains { $0.contains(uid) }
        }
        if !vanished.isEmpty { try await send(.vanished(earlier: true, SequenceSet(vanished))) }
    }

    /// Does the search program use MODSEQ (so results carry the highest modseq, RFC 7162 §3.1.5)?
    static func usesModSeq(_ key: SearchKey) -> Bool {
        switch key {
        case .modSeq: true
        case .not(let inner): usesModSeq(inner)
        case .or(let a, let b): usesModSeq(a) || usesModSeq(b)
        case .and(let keys): keys.contains(where: usesModSeq)
        default: false
        }
    }
}
