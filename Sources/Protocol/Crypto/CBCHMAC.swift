// AES-256-CBC + HMAC-SHA-256, encrypt-then-MAC. The MAC is checked in constant time before anything is decrypted, and
// every failure (bad MAC, bad length, bad padding) is the same `.authenticationFailure`, so there is no padding oracle.
internal import COpenSSL

final class CBCHMACCipher {
    /// MAC key (32) ‖ encryption key (32), the split of RFC 7518 §5.2.2.1.
    static let keyLength = 64
    static let ivLength = 16
    static let blockLength = 16
    static let tagLength = 32

    /// IV ‖ PKCS#7-padded ciphertext ‖ tag.
    static func sealedLength(plaintextLength n: Int) -> Int { ivLength + (n / blockLength + 1) * blockLength + tagLength }

    init(key: SecretBytes, encrypting: Bool) throws(CryptoError) {
        fatalError("TODO(crypto)")
    }

    /// Writes IV ‖ ciphertext ‖ tag (exactly sealedLength(plaintext.count) bytes) to `output`, with a fresh random IV and
    /// tag = HMAC-SHA-256(macKey, authenticatedPrefix ‖ IV ‖ ciphertext).
    func seal(authenticatedPrefix: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer,
              output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        fatalError("TODO(crypto)")
    }

    /// Checks the tag, then decrypts into `output` (at least sealed.count bytes) and returns the plaintext length.
    func open(authenticatedPrefix: UnsafeRawBufferPointer, sealed: UnsafeRawBufferPointer,
              output: UnsafeMutableRawBufferPointer) throws(CryptoError) -> Int {
        fatalError("TODO(crypto)")
    }
}
