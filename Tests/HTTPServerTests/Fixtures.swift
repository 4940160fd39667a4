@testable import HTTPServer

/// Client settings as the wiring makes them for a typical server.
func settings(
    hostname: String = "mail.example.org", domains: [String] = ["example.org", "example.net"],
    enabled: Set<MailClientService.Kind> = Set(MailClientService.Kind.allCases), mechanisms: [String] = ["PLAIN", "SCRAM-SHA-256"]
) -> MailClientSettings {
    let table: [(MailClientService.Kind, Int, MailClientService.Security)] = [
        (.imaps, 993, .implicitTLS), (.imap, 143, .startTLS), (.submissions, 465, .implicitTLS), (.submission, 587, .startTLS),
    ]
    var services: [MailClientService.Kind: MailClientService] = [:]
    for (kind, port, security) in table where enabled.contains(kind) {
        services[kind] = MailClientService(kind: kind, port: port, security: security, authMechanisms: mechanisms)
    }
    return MailClientSettings(hostname: hostname, domains: domains, services: services)
}
