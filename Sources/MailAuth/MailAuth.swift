/// MailAuth: mail authentication as pure functions of a message, a DNS answer source and the current time.
///
/// - DKIM signing and verification (RFC 6376, RFC 8301 for the rsa-sha1 ban and key sizes, RFC 8463 for ed25519-sha256):
///   `DKIMSigner`, `DKIMVerifier`, `DKIMPrivateKey`, `DKIMPublicKeyRecord`, `DKIMCanonicalization`.
/// - SPF (RFC 7208): `SPFEvaluator`, with macros (§7), the 10-lookup and 2-void-lookup limits (§4.6.4).
/// - DMARC (RFC 7489): `DMARCEvaluator`, `DMARCRecord`, `PublicSuffixList` (organizational domains, §3.2).
/// - Authentication-Results (RFC 8601): `AuthenticationResults` builds the field and finds forged ones.
///
/// The module does no I/O: DNS comes in as `any DNSResolving` (MailCore), the time as Unix seconds (`now:`), and
/// randomness (DMARC `pct`) as a parameter. Results are values in RFC 8601 vocabulary, never thrown errors.
public enum MailAuth {}

/// Seconds since 1970-01-01T00:00:00Z, the unit of DKIM's `t=` and `x=` tags.
public typealias UnixTime = Int64
