import Foundation
import Logging
import MailAuth
import MailCore
import SMTPServer

/// DKIM keys, the Public Suffix List and the DMARC policy switches, for the SMTP services.
enum MailAuthWiring {
    static func authentication(_ configuration: LetterboxConfiguration, resolver: any DNSResolving, logger: Logger) -> MessageAuthentication {
        let cache = DKIMSignerCache(store: DKIMKeyStore(dataDirectory: configuration.dataDirectory))
        var authentication = MessageAuthentication(
            signers: { cache.signers(for: $0) }, resolver: resolver,
            publicSuffixes: publicSuffixes(configuration.mailAuth.publicSuffixList, logger: logger))
        authentication.checkInbound = configuration.mailAuth.checkInbound
        authentication.rejectDMARCFailures = configuration.mailAuth.dmarcReject
        authentication.quarantineDMARCFailures = configuration.mailAuth.dmarcQuarantine
        return authentication
    }

    /// The list from `mailauth.public_suffix_list` (Debian's `publicsuffix` package by default). Without it, the
    /// organizational domain is the registered domain under the last label (the PSL's default `*` rule) — logged, since
    /// DMARC is then less exact for multi-label suffixes such as co.uk.
    static func publicSuffixes(_ path: String, logger: Logger) -> PublicSuffixList {
        if let text = try? String(contentsOfFile: path, encoding: .utf8) { return PublicSuffixList(parsing: text) }
        logger.warning("public suffix list not readable; DMARC uses the default rule only", metadata: ["path": "\(path)"])
        return PublicSuffixList(parsing: "")
    }
}
