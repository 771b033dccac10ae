// Signing keys (loaded from PEM bytes) and public keys (from certificates) for CertificateVerify.
internal import COpenSSL

/// A private key: Ed25519, ECDSA P-256 / P-384, or RSA ≥ 2048 bits. Freed (and zeroed by OpenSSL) in deinit.
public final class SigningKey: @unchecked Sendable {
    // @unchecked: the EVP_PKEY is immutable after init; OpenSSL allows concurrent signing with one key.

    /// Parses a PEM private key (PKCS#8 "PRIVATE KEY", or the traditional "RSA/EC PRIVATE KEY" forms), unencrypted.
    public init(pem: [UInt8]) throws(CryptoError) {
        fatalError("TODO(crypto)")
    }

    /// The schemes this key can sign with, best first (an RSA key: PSS-SHA256, -SHA384, -SHA512).
    public var schemes: [SignatureScheme] { fatalError("TODO(crypto)") }

    /// Throws `.unsupportedKey` when `scheme` is not in `schemes`.
    func sign(_ message: [UInt8], scheme: SignatureScheme) throws(CryptoError) -> [UInt8] {
        fatalError("TODO(crypto)")
    }
}

/// A public key, from a certificate or a DER SubjectPublicKeyInfo.
final class PublicKey {
    /// Takes ownership of an EVP_PKEY reference (e.g. from X509_get_pubkey).
    init(owning pkey: OpaquePointer) {
        fatalError("TODO(crypto)")
    }

    init(subjectPublicKeyInfo der: [UInt8]) throws(CryptoError) {
        fatalError("TODO(crypto)")
    }

    /// The schemes this key verifies; empty for unsupported keys (RSA < 2048 bits, other curves, DSA…).
    var schemes: [SignatureScheme] { fatalError("TODO(crypto)") }

    /// True only for a valid signature under `scheme`; false for every failure (wrong scheme for the key included).
    func verify(_ signature: [UInt8], message: [UInt8], scheme: SignatureScheme) -> Bool {
        fatalError("TODO(crypto)")
    }
}
