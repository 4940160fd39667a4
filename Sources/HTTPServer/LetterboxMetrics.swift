import Metrics
import Prometheus

/// The metric names Letterbox exports (Prometheus text at `/metrics`), and the one-time bootstrap of swift-metrics with
/// swift-prometheus. Modules that count things use swift-metrics with these labels; only the wiring bootstraps.
///
/// From ServerCore's `ListenerMetrics` (dimension `listener` = smtp, submission, submissions, imap, imaps):
/// `letterbox_connections_accepted_total`, `letterbox_connections_refused_total{reason}`, `letterbox_connections_active`,
/// `letterbox_tls_handshakes_total{version}`, `letterbox_tls_handshake_failures_total`.
public enum LetterboxMetrics {
    /// Connections accepted, by `listener` (the protocol: smtp, submission, submissions, imap, imaps). Owned by ServerCore.
    public static let connectionsAccepted = "letterbox_connections_accepted_total"
    /// TLS handshakes by `listener` and `version` (tls1.2, tls1.3). Owned by ServerCore.
    public static let tlsHandshakes = "letterbox_tls_handshakes_total"
    /// Commands by `protocol` (smtp, imap), `command` (upper case verb) and `result` (ok, no, bad / 2xx, 4xx, 5xx).
    public static let commands = "letterbox_commands_total"
    /// Messages accepted by SMTP (`listener`) for delivery.
    public static let messagesAccepted = "letterbox_messages_accepted_total"
    /// Messages or recipients refused by SMTP, by `listener` and `reason` (policy, relay, unknown_user, size, ...).
    public static let messagesRejected = "letterbox_messages_rejected_total"
    /// Messages put in the outbound queue (remote recipients of accepted mail, bounces).
    public static let messagesQueued = "letterbox_messages_queued_total"
    /// Recipients delivered, by `destination` (local, remote).
    public static let messagesDelivered = "letterbox_messages_delivered_total"
    /// Remote recipients deferred (a temporary failure; retried later).
    public static let messagesDeferred = "letterbox_messages_deferred_total"
    /// Remote recipients bounced (permanent failure or expiry).
    public static let messagesBounced = "letterbox_messages_bounced_total"
    /// Messages in the outbound queue (gauge, updated on each scrape).
    public static let queueSize = "letterbox_queue_messages"
    /// Age in seconds of the oldest queued message (gauge, 0 when empty, updated on each scrape).
    public static let queueOldestAge = "letterbox_queue_oldest_age_seconds"
    /// Failed authentications, by `protocol` (smtp, imap) and `mechanism`.
    public static let authFailures = "letterbox_auth_failures_total"
    /// Successful authentications, by `protocol`.
    public static let authSuccesses = "letterbox_auth_successes_total"
    /// Store operation latency (timer, seconds), by `operation`.
    public static let storeLatency = "letterbox_store_operation_duration_seconds"
    /// HTTP requests served, by `route` and `status`.
    public static let httpRequests = "letterbox_http_requests_total"

    /// The registry `/metrics` reads. The first use bootstraps swift-metrics with it, once per process (swift-metrics
    /// allows one bootstrap); instruments created before that are no-ops, so the wiring touches this first.
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// The Prometheus text exposition of every instrument.
    public static func exposition() -> String {
        registry.emitToString()
    }
}
