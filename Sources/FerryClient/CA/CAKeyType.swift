// The key types the CA tooling generates, for the CA itself and for the leaves it issues, by their command-line names.
//
// Each is one Ferry can sign a CertificateVerify with (Protocol's KeyAlgorithm): Ed25519, ECDSA on P-256 or P-384, and
// RSA. RSA is offered at 3072 bits only: 2048 is the floor OpenSSL's security level 2 and Ferry accept, and 3072
// (128-bit strength, NIST SP 800-57 Part 1 Table 2) matches the other three choices.
import Protocol

enum CAKeyType: String, CaseIterable, Sendable, CustomStringConvertible {
    case ed25519 = "ed25519"
    case ecdsaP256 = "ecdsa-p256"
    case ecdsaP384 = "ecdsa-p384"
    case rsa3072 = "rsa-3072"

    /// The RSA modulus size generated for `.rsa3072`.
    static let rsaBits = 3072

    /// The name used on the command line ("ecdsa-p256").
    var name: String { rawValue }
    var description: String { rawValue }

    /// Parses a command-line name; nil for anything else.
    init?(name: String) { self.init(rawValue: name) }

    /// What Protocol generates for this type.
    var algorithm: KeyAlgorithm {
        switch self {
        case .ed25519: .ed25519
        case .ecdsaP256: .ecdsaP256
        case .ecdsaP384: .ecdsaP384
        case .rsa3072: .rsa(bits: Self.rsaBits)
        }
    }

    /// The type of an existing key (a CA key read from disk). Any RSA key Ferry signs with (2048 bits or more) counts
    /// as `.rsa3072`: an operator's own RSA CA key of 2048 or 4096 bits signs the same way; only generation is fixed at
    /// 3072.
    init(signingWith algorithm: KeyAlgorithm) {
        switch algorithm {
        case .ed25519: self = .ed25519
        case .ecdsaP256: self = .ecdsaP256
        case .ecdsaP384: self = .ecdsaP384
        case .rsa: self = .rsa3072
        }
    }
}
