// The parsed fuzz PKI (FuzzPEM.swift) and the fixed clock every harness runs at: the same input must take the same
// path on every run (libFuzzer keeps an input for the coverage it showed once).
@_spi(Fuzzing) import Protocol

public enum FuzzPKI {
    /// Wall-clock time the certificates are verified at: 2027-01-15, inside every certificate's validity.
    public static let unixTime: Int64 = 1_800_000_000

    /// The time every harness starts at; sessions advance it by whole seconds only when an input says so.
    public static let start = Now(monotonicNanoseconds: 1_000_000_000, unixSeconds: unixTime)

    public static let caPEM = Array(FuzzPEM.caCertificate.utf8)
    /// CN=ferry-fuzz-server, Ed25519, serverAuth, SAN DNS:localhost, IP:127.0.0.1.
    public static let server = identity(FuzzPEM.serverCertificate, FuzzPEM.serverKey)
    /// CN=fuzz-client, P-256, clientAuth.
    public static let client = identity(FuzzPEM.clientCertificate, FuzzPEM.clientKey)
    /// The name the client checks the server's certificate against.
    public static let serverName = "localhost"

    /// A new trust store (CA only) for each input that sends it certificates: a store caches the certificates it
    /// parsed, and an input must not find the cache the previous one left.
    public static func trust() -> TrustStore {
        do { return try TrustStore(pemBundle: caPEM) } catch { fatalError("FuzzPKI: the embedded CA does not load: \(error)") }
    }

    /// One store for the sessions: they only ever show it the genuine certificates (parsing the CA for every input
    /// would cost more than the rest of a raw input).
    public static let sharedTrust = trust()

    /// The transcript hash the message fuzzers verify CertificateVerify signatures over (the seeds are signed over it).
    public static func transcriptHash(_ hash: HashFunction) -> [UInt8] { [UInt8](repeating: 0x5A, count: hash.outputLength) }

    private static func identity(_ certificate: String, _ key: String) -> Identity {
        do {
            return try Identity(chainPEM: Array(certificate.utf8), keyPEM: Array(key.utf8))
        } catch {
            fatalError("FuzzPKI: an embedded identity does not load: \(error)")
        }
    }
}
