// HKDF (RFC 5869) through OpenSSL's EVP_KDF "HKDF", in extract-only and expand-only modes.
internal import COpenSSL

enum HKDF {
    /// HKDF-Extract(salt, IKM) → PRK of `function.outputLength` bytes. An empty salt means HashLen zero bytes (RFC 5869 §2.2).
    static func extract(_ function: HashFunction, salt: SecretBytes, inputKeyMaterial: SecretBytes) -> SecretBytes {
        fatalError("TODO(crypto)")
    }

    /// HKDF-Expand(PRK, info, L). Throws when L > 255 · HashLen (RFC 5869 §2.3) or L == 0.
    static func expand(_ function: HashFunction, pseudorandomKey: SecretBytes, info: [UInt8], length: Int) throws(CryptoError) -> SecretBytes {
        fatalError("TODO(crypto)")
    }
}
