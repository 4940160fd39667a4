/// Builds the IMAP listeners (`listen.imap` with STARTTLS, `listen.imaps` with implicit TLS).
/// The IMAP server module plugs in here (issue 5).
enum IMAPWiring {
    static func endpoints(_ context: ServerContext) throws(ConfigurationError) -> [ServiceEndpoint] {
        []
    }
}
