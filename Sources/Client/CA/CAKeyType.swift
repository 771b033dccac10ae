// The key types the CA tooling generates, for the CA itself and for the leaves it issues.
//
// Each is one Ferry can sign a CertificateVerify with (Protocol's PublicKey.schemes): Ed25519, ECDSA on P-256 or P-384,
// and RSA. RSA is offered at 3072 bits only: 2048 is the floor OpenSSL's security level 2 and Ferry accept, and 3072
// (128-bit strength, NIST SP 800-57 Part 1 Table 2) matches the other three choices.
internal import COpenSSL

enum CAKeyType: String, CaseIterable, Sendable, CustomStringConvertible {
    case ed25519 = "ed25519"
    case ecdsaP256 = "ecdsa-p256"
    case ecdsaP384 = "ecdsa-p384"
    case rsa3072 = "rsa-3072"

    /// The RSA modulus size generated for `.rsa3072`.
    static let rsaBits: Int32 = 3072

    /// The name used on the command line ("ecdsa-p256").
    var name: String { rawValue }
    var description: String { rawValue }

    /// Parses a command-line name; nil for anything else.
    init?(name: String) { self.init(rawValue: name) }

    /// The digest a key of this type signs certificates with: none for Ed25519 (PureEdDSA hashes internally, so
    /// X509_sign takes md = NULL), SHA-384 for P-384 (the hash that matches the curve's strength, RFC 5480 §4),
    /// SHA-256 otherwise. RSA signs with PKCS#1 v1.5 (sha256WithRSAEncryption), X509_sign's default: see
    /// CertificateBuilder for why not PSS.
    var signatureDigest: OpaquePointer? {
        switch self {
        case .ed25519: nil
        case .ecdsaP256, .rsa3072: EVP_sha256()
        case .ecdsaP384: EVP_sha384()
        }
    }

    /// The type of an existing key (a CA key read from disk); nil for a key the tooling does not sign with
    /// (another curve, RSA of another size below 2048 bits, Ed448, DSA …).
    init?(of key: OpaquePointer) {
        if EVP_PKEY_is_a(key, "ED25519") == 1 {
            self = .ed25519
        } else if EVP_PKEY_is_a(key, "EC") == 1 {
            var name = [CChar](repeating: 0, count: 80)
            var length = 0
            guard EVP_PKEY_get_group_name(key, &name, name.count, &length) == 1 else {
                ERR_clear_error()
                return nil
            }
            switch String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) {
            case "prime256v1", "P-256": self = .ecdsaP256
            case "secp384r1", "P-384": self = .ecdsaP384
            default: return nil
            }
        } else if EVP_PKEY_is_a(key, "RSA") == 1, EVP_PKEY_get_bits(key) >= 2048 {
            // An operator's own RSA CA key of 2048 or 4096 bits signs the same way; only generation is fixed at 3072.
            self = .rsa3072
        } else {
            return nil
        }
    }
}
