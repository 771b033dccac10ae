// AES-GCM and ChaCha20-Poly1305 (RFC 8439) through EVP_CIPHER_CTX. One context per direction and epoch, reused for
// every record: the key schedule is set once in init, each record only sets the nonce.
internal import COpenSSL

final class AEADCipher {
    enum Algorithm: Sendable {
        case aes128GCM, aes256GCM, chacha20Poly1305

        var keyLength: Int { self == .aes128GCM ? 16 : 32 }
    }

    static let nonceLength = 12
    static let tagLength = 16

    let algorithm: Algorithm
    let encrypting: Bool

    /// Throws `.malformedInput` when `key.count` is not the algorithm's key length.
    init(_ algorithm: Algorithm, key: SecretBytes, encrypting: Bool) throws(CryptoError) {
        self.algorithm = algorithm
        self.encrypting = encrypting
        fatalError("TODO(crypto)")
    }

    /// Encrypts `plaintext` and writes ciphertext ‖ tag to `output` (exactly plaintext.count + 16 bytes).
    /// `output` may start at the same address as `plaintext` (in place). Nonce must be 12 bytes.
    func seal(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer,
              output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        fatalError("TODO(crypto)")
    }

    /// Verifies and decrypts ciphertext ‖ tag into `output` (exactly ciphertextAndTag.count − 16 bytes; in place allowed).
    /// Any failure, including a short input, throws `.authenticationFailure`; `output` is then zeroed.
    func open(nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer, ciphertextAndTag: UnsafeRawBufferPointer,
              output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        fatalError("TODO(crypto)")
    }
}
