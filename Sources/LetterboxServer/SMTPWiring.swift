/// Builds the SMTP listeners (MX on `listen.smtp`, submission on `listen.submission` and `listen.submissions`).
/// The SMTP server module plugs in here (issue 4).
enum SMTPWiring {
    static func endpoints(_ context: ServerContext) throws(ConfigurationError) -> [ServiceEndpoint] {
        []
    }
}
