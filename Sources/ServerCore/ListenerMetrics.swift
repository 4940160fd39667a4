import Metrics
import NIOSSL

/// The swift-metrics instruments of one listener (dimension `listener` = `ListenerConfiguration.name`).
///
/// - `letterbox_connections_accepted_total` (counter)
/// - `letterbox_connections_refused_total` (counter, `reason` = `RefusalReason.description`)
/// - `letterbox_connections_active` (gauge)
/// - `letterbox_tls_handshakes_total` (counter, `version` = "tls1.2" / "tls1.3" / …)
/// - `letterbox_tls_handshake_failures_total` (counter)
struct ListenerMetrics: Sendable {
    let listener: String
    private let accepted: Counter
    private let active: Gauge
    private let handshakeFailures: Counter

    init(listener: String) {
        self.listener = listener
        accepted = Counter(label: "letterbox_connections_accepted_total", dimensions: [("listener", listener)])
        active = Gauge(label: "letterbox_connections_active", dimensions: [("listener", listener)])
        handshakeFailures = Counter(label: "letterbox_tls_handshake_failures_total", dimensions: [("listener", listener)])
    }

    func connectionAccepted(activeNow: Int) {
        accepted.increment()
        active.record(activeNow)
    }

    func connectionClosed(activeNow: Int) { active.record(activeNow) }

    func connectionRefused(_ reason: RefusalReason) {
        Counter(
            label: "letterbox_connections_refused_total",
            dimensions: [("listener", listener), ("reason", reason.description)]
        ).increment()
    }

    func tlsHandshakeCompleted(version: TLSVersion?) {
        Counter(
            label: "letterbox_tls_handshakes_total",
            dimensions: [("listener", listener), ("version", Self.name(of: version))]
        ).increment()
    }

    func tlsHandshakeFailed() { handshakeFailures.increment() }

    static func name(of version: TLSVersion?) -> String {
        switch version {
        case .tlsv1: "tls1.0"
        case .tlsv11: "tls1.1"
        case .tlsv12: "tls1.2"
        case .tlsv13: "tls1.3"
        case nil: "unknown"
        }
    }
}
