// AES-256-CBC + HMAC-SHA-256, encrypt-then-MAC. The MAC is checked in constant time before anything is decrypted, and
// every failure (bad MAC, bad length, bad padding) is the same `.authenticationFailure`, so there is no padding oracle.
//
// Layout of a sealed record (the construction of RFC 7366 / RFC 7518 §5.2.2, with the full 32-byte tag):
//     IV (16) ‖ AES-CBC(encKey, IV, plaintext ‖ PKCS#7 padding) ‖ HMAC-SHA-256(macKey, prefix ‖ IV ‖ ciphertext)
// The caller's authenticated prefix (sequence number ‖ record header) is MACed but not sent inside the sealed bytes.
internal import COpenSSL

final class CBCHMACCipher {
    /// MAC key (32) ‖ encryption key (32), the split of RFC 7518 §5.2.2.1.
    static let keyLength = 64
    static let ivLength = 16
    static let blockLength = 16
    static let tagLength = 32

    /// IV ‖ PKCS#7-padded ciphertext ‖ tag. Padding always adds 1…16 bytes (a full block when already aligned).
    static func sealedLength(plaintextLength n: Int) -> Int { ivLength + (n / blockLength + 1) * blockLength + tagLength }

    /// The shortest sealed record: IV, one block of padding, tag.
    static let minimumSealedLength = ivLength + blockLength + tagLength

    let encrypting: Bool
    private let cipher: OpaquePointer  // EVP_CIPHER_CTX with the AES key schedule, owned; only the IV changes per call
    private let mac: HMACContext       // HMAC-SHA-256 with the MAC key

    init(key: SecretBytes, encrypting: Bool) throws(CryptoError) {
        guard key.count == Self.keyLength else {
            throw CryptoError(.malformedInput, "AES-256-CBC-HMAC-SHA-256 key of \(key.count) bytes")
        }
        let half = Self.keyLength / 2
        let parts = try key.withUnsafeBytes { (key) throws(CryptoError) in
            try Self.makeContexts(macKey: UnsafeRawBufferPointer(rebasing: key[..<half]),
                                  encryptionKey: UnsafeRawBufferPointer(rebasing: key[half...]), encrypting: encrypting)
        }
        self.encrypting = encrypting
        cipher = parts.cipher
        mac = parts.mac
    }

    /// Test hook, for Wycheproof's AES-CBC-PKCS5 vectors only: the same construction with a 16-, 24- or 32-byte AES key,
    /// so the vectors for AES-128 and AES-192 exercise this code too. Ferry itself only builds AES-256 (`init(key:)`).
    init(testingMACKey macKey: [UInt8], testingAESKey aesKey: [UInt8], encrypting: Bool) throws(CryptoError) {
        let parts = try macKey.withCryptoBytes { (macKey) throws(CryptoError) in
            try aesKey.withCryptoBytes { (aesKey) throws(CryptoError) in
                try Self.makeContexts(macKey: macKey, encryptionKey: aesKey, encrypting: encrypting)
            }
        }
        self.encrypting = encrypting
        cipher = parts.cipher
        mac = parts.mac
    }

    private static func makeContexts(macKey: UnsafeRawBufferPointer, encryptionKey: UnsafeRawBufferPointer,
                                     encrypting: Bool) throws(CryptoError) -> (cipher: OpaquePointer, mac: HMACContext) {
        let algorithm: OpaquePointer? = switch encryptionKey.count {
        case 32: EVP_aes_256_cbc()
        case 24: EVP_aes_192_cbc()
        case 16: EVP_aes_128_cbc()
        default: throw CryptoError(.malformedInput, "AES key of \(encryptionKey.count) bytes")
        }
        let mac = try HMACContext(.sha256, key: macKey)
        let context = try check(EVP_CIPHER_CTX_new(), "EVP_CIPHER_CTX_new")
        do throws(CryptoError) {
            // PKCS#7 padding is EVP's default for CBC (EVP_CIPHER_CTX_set_padding left at 1).
            try check(EVP_CipherInit_ex(context, try check(algorithm, "EVP_aes_*_cbc"), nil, nonNullBase(encryptionKey), nil,
                                        encrypting ? 1 : 0), "EVP_CipherInit_ex")
        } catch {
            EVP_CIPHER_CTX_free(context)
            throw error
        }
        return (context, mac)
    }

    deinit { EVP_CIPHER_CTX_free(cipher) }

    /// Writes IV ‖ ciphertext ‖ tag (exactly sealedLength(plaintext.count) bytes) to `output`, with a fresh random IV and
    /// tag = HMAC-SHA-256(macKey, authenticatedPrefix ‖ IV ‖ ciphertext). In place: `plaintext` may start at
    /// output + 16, where the ciphertext goes; otherwise the two must not overlap.
    func seal(authenticatedPrefix: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer,
              output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        precondition(output.count == Self.sealedLength(plaintextLength: plaintext.count),
                     "CBC seal output of \(output.count) bytes for \(plaintext.count) bytes of plaintext")
        // RFC 5246 §6.2.3.2: the CBC IV "MUST be unpredictable", hence fresh randomness for every record.
        fillRandom(UnsafeMutableRawBufferPointer(rebasing: output[..<Self.ivLength]))
        try sealAfterIV(authenticatedPrefix: authenticatedPrefix, plaintext: plaintext, output: output)
    }

    /// Test hook for known-answer tests: `seal` with a caller-given IV instead of a random one. Never use it for traffic.
    func seal(authenticatedPrefix: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer,
              output: UnsafeMutableRawBufferPointer, fixedIVForTesting iv: [UInt8]) throws(CryptoError) {
        precondition(iv.count == Self.ivLength && output.count == Self.sealedLength(plaintextLength: plaintext.count),
                     "CBC test seal with a \(iv.count)-byte IV into \(output.count) bytes")
        UnsafeMutableRawBufferPointer(rebasing: output[..<Self.ivLength]).copyBytes(from: iv)
        try sealAfterIV(authenticatedPrefix: authenticatedPrefix, plaintext: plaintext, output: output)
    }

    /// Encrypts with the IV already in output[0..<16], then MACs prefix ‖ IV ‖ ciphertext into the last 32 bytes.
    private func sealAfterIV(authenticatedPrefix: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer,
                             output: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        precondition(encrypting, "seal on a CBCHMACCipher made for opening")
        precondition(plaintext.count <= Int(Int32.max) - 2 * Self.blockLength, "CBC plaintext of \(plaintext.count) bytes")
        guard let base = output.baseAddress?.assumingMemoryBound(to: UInt8.self) else { preconditionFailure("empty output") }
        // CBC encryption exactly in place (ciphertext over plaintext) is fine; any other overlap is not.
        if plaintext.baseAddress != UnsafeRawPointer(base + Self.ivLength) {
            Self.preconditionDisjoint(plaintext, UnsafeRawBufferPointer(output))
        }
        let ciphertextLength = output.count - Self.ivLength - Self.tagLength
        try check(EVP_CipherInit_ex(cipher, nil, nil, nil, base, -1), "EVP_CipherInit_ex(iv)")
        var written: Int32 = 0
        if plaintext.count > 0 {
            try check(EVP_CipherUpdate(cipher, base + Self.ivLength, &written, nonNullBase(plaintext), Int32(plaintext.count)),
                      "EVP_CipherUpdate")
        }
        var finalLength: Int32 = 0
        try check(EVP_CipherFinal_ex(cipher, base + Self.ivLength + Int(written), &finalLength), "EVP_CipherFinal_ex")
        precondition(Int(written) + Int(finalLength) == ciphertextLength, "CBC wrote \(Int(written) + Int(finalLength)) bytes")
        try mac.authenticate(authenticatedPrefix, UnsafeRawBufferPointer(rebasing: output[..<(Self.ivLength + ciphertextLength)]),
                             into: UnsafeMutableRawBufferPointer(rebasing: output[(Self.ivLength + ciphertextLength)...]))
    }

    /// Checks the tag, then decrypts into `output` (at least sealed.count bytes) and returns the plaintext length.
    /// In place: `output` may start at `sealed`'s address (the plaintext then replaces IV ‖ ciphertext from the start);
    /// otherwise the two must not overlap, and the ciphertext's length (sealed.count − 48) is enough room.
    /// When decryption fails after a valid MAC (bad padding), the bytes written are wiped before the throw.
    func open(authenticatedPrefix: UnsafeRawBufferPointer, sealed: UnsafeRawBufferPointer,
              output: UnsafeMutableRawBufferPointer) throws(CryptoError) -> Int {
        precondition(!encrypting, "open on a CBCHMACCipher made for sealing")
        // One error for every way a record can be bad; `detail` is the same too, so not even logs tell them apart.
        let rejected = CryptoError(.authenticationFailure, "CBC-HMAC record rejected")
        guard sealed.count >= Self.minimumSealedLength,
              (sealed.count - Self.ivLength - Self.tagLength) % Self.blockLength == 0,
              sealed.count - Self.tagLength <= Int(Int32.max) else { throw rejected }
        let ciphertextLength = sealed.count - Self.ivLength - Self.tagLength
        let inPlace = output.baseAddress != nil && UnsafeRawPointer(output.baseAddress) == sealed.baseAddress
        if inPlace {
            precondition(output.count >= Self.ivLength + ciphertextLength, "CBC open in place into \(output.count) bytes")
        } else {
            precondition(output.count >= ciphertextLength, "CBC open output of \(output.count) bytes for \(sealed.count) sealed")
            Self.preconditionDisjoint(sealed, UnsafeRawBufferPointer(output))
        }
        let macInput = UnsafeRawBufferPointer(rebasing: sealed[..<(sealed.count - Self.tagLength)])
        let receivedTag = UnsafeRawBufferPointer(rebasing: sealed[(sealed.count - Self.tagLength)...])

        // 1. MAC first (encrypt-then-MAC): nothing unauthenticated reaches the decryption, so padding cannot be an oracle.
        let macMatches = try withUnsafeTemporaryAllocation(byteCount: Self.tagLength, alignment: 16) {
            (expected) throws(CryptoError) -> Bool in
            defer { OPENSSL_cleanse(expected.baseAddress, expected.count) }
            try mac.authenticate(authenticatedPrefix, macInput, into: expected)
            return constantTimeEqual(UnsafeRawBufferPointer(expected), receivedTag)  // CRYPTO_memcmp
        }
        guard macMatches else { throw rejected }

        // 2. Decrypt. A padding error here means the authenticated peer sent garbage; it is still the same error.
        guard let out = output.baseAddress?.assumingMemoryBound(to: UInt8.self),
              let iv = sealed.baseAddress?.assumingMemoryBound(to: UInt8.self) else { throw rejected }
        // In place, decrypt exactly over the ciphertext and move the plaintext down over the IV afterwards: decrypting
        // to an address one block before the input would rely on how the assembly orders its loads and stores.
        let target = inPlace ? out + Self.ivLength : out
        var written: Int32 = 0
        var finalLength: Int32 = 0
        do throws(CryptoError) {
            try check(EVP_CipherInit_ex(cipher, nil, nil, nil, iv, -1), "EVP_CipherInit_ex(iv)")
            try check(EVP_CipherUpdate(cipher, target, &written, iv + Self.ivLength, Int32(ciphertextLength)), "EVP_CipherUpdate")
            try check(EVP_CipherFinal_ex(cipher, target + Int(written), &finalLength), "EVP_CipherFinal_ex")  // padding
        } catch {
            // `check` drained "bad decrypt" from the queue; the caller sees only `rejected`.
            OPENSSL_cleanse(target, ciphertextLength)
            throw rejected
        }
        let plaintextLength = Int(written) + Int(finalLength)
        if inPlace { out.update(from: target, count: plaintextLength) }  // overlapping copy, like memmove
        return plaintextLength
    }

    /// Apart from the exact in-place layouts that seal and open handle, input and output must not share bytes: with a
    /// partial overlap, output written early would overwrite input (or the previous ciphertext block CBC still needs)
    /// before it is read.
    private static func preconditionDisjoint(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) {
        guard a.count > 0, b.count > 0, let aStart = a.baseAddress, let bStart = b.baseAddress else { return }
        precondition(aStart + a.count <= bStart || bStart + b.count <= aStart, "CBC input and output overlap")
    }
}
