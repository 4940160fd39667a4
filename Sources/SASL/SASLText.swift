/// Text handling shared by the mechanisms: strict UTF-8 and SASLprep'd identities and passwords.
enum SASLText {
    /// Decodes UTF-8 strictly (no replacement characters) or throws `.invalidUTF8`.
    static func utf8(_ bytes: some Collection<UInt8>) throws(SASLError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .invalidUTF8 }
        return text
    }

    /// SASLprep as a query string (RFC 4616 §2, RFC 5802 §5.1), refusing an empty result.
    static func prepared(_ text: String) throws(SASLError) -> String {
        let prepared: String
        do throws(SASLprepError) { prepared = try SASLprep.prepare(text, usage: .query) } catch { throw .preparationFailed(error) }
        guard !prepared.isEmpty else { throw .preparationFailed(.empty) }
        return prepared
    }

    /// The authorization identity the client asked for, checked against the proxy policy. Returns nil when the client
    /// did not ask to act as anyone else.
    static func authorization(
        _ requested: String?, authenticationID: String, configuration: SASLServerConfiguration
    ) throws(SASLError) -> String? {
        guard let requested, !requested.isEmpty, requested != authenticationID else { return nil }
        guard configuration.allowsProxyAuthorization else { throw .authorizationDenied(authorizationID: requested) }
        return requested
    }
}

/// A client-side mechanism's next move.
public enum SASLClientStep: Sendable, Hashable {
    /// Send this (the protocol base64-encodes it; an empty initial response is `=`).
    case response([UInt8])
    /// Give up: the server's message was malformed or failed verification. Send `*` to cancel.
    case failure(SASLError)
}

/// A client-side mechanism: `start()` gives the initial response (nil when the mechanism has none, e.g. LOGIN), each
/// server challenge goes to `respond(to:)`, and when the server reports success `finish(finalData:)` says whether the
/// client accepts it (SCRAM insists on having verified the server's signature).
public protocol SASLClientMechanism: Sendable {
    static var name: SASLMechanismName { get }
    mutating func start() -> [UInt8]?
    mutating func respond(to challenge: [UInt8]) -> SASLClientStep
    mutating func finish(finalData: [UInt8]?) -> Result<Void, SASLError>
}
