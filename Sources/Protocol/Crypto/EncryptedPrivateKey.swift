// Private keys at rest under a passphrase: reading any PEM key OpenSSL can decrypt, writing PKCS#8 PBES2.
//
// Reading (`SigningKey(pem:passphrase:)`): PEM_read_bio_PrivateKey with a password callback that hands OpenSSL the
// passphrase and records that it was asked. That tells the three outcomes apart without parsing anything ourselves:
//   callback never called, key read      the key was not encrypted (a passphrase, if given, is not needed)
//   called, no passphrase to give        .passphraseRequired ("the key is encrypted")
//   called, passphrase given, no key     .wrongPassphrase (AES-CBC padding or the DER inside did not check out: a
//                                        wrong passphrase, or a damaged file; PBES2 has no MAC to tell them apart)
// Any PEM form OpenSSL decrypts is read: "ENCRYPTED PRIVATE KEY" (PKCS#8, PBES1 or PBES2 with PBKDF2 or scrypt: what
// `openssl genpkey -aes-256-cbc`, `openssl pkcs8 -topk8` and `ferry ca` write) and the traditional "Proc-Type:
// 4,ENCRYPTED" RSA/EC form.
//
// Writing (`pkcs8PEM(passphrase:work:)`): PKCS#8 EncryptedPrivateKeyInfo, PEM "ENCRYPTED PRIVATE KEY", encrypted with
// PBES2 (RFC 8018 §6.2): key derivation PBKDF2 with HMAC-SHA256 (§5.2, the prf hmacWithSHA256), a 16-byte random salt
// (NIST SP 800-132 §5.1: at least 128 bits), AES-256-CBC with a random IV. Iterations (`KeyEncryptionWork`):
//   .chosenPassphrase     600 000  a passphrase a person chose or supplied, of unknown strength: the OWASP Password
//                                  Storage Cheat Sheet's figure for PBKDF2-HMAC-SHA256 (2023); ~0.3 s here, paid once
//                                  per key load (daemon start or reload, one `ferry upload`, one `ferry ca issue`)
//   .generatedPassphrase   10 000  a passphrase `Passphrase.generate()` made: 256 random bits cannot be guessed, so
//                                  stretching adds nothing; ten times the minimum of RFC 8018 §4.2 and SP 800-132 §5.2
//                                  (1000), and keeps scripts that issue many certificates fast
// OpenSSL's own PEM_write_bio_PKCS8PrivateKey would use 2048 iterations and an 8-byte salt (OpenSSL 3.0 defaults), so
// the EncryptedPrivateKeyInfo is built here from its parts. Why PBKDF2 and not scrypt: every PKCS#8 reader has PBKDF2
// (Java, BoringSSL, LibreSSL, older OpenSSL), and OpenSSL reads scrypt only within a 32 MiB memory cap, which rules
// out the OWASP-strength scrypt parameters for a file `openssl pkey -passin` must open.
internal import COpenSSL

/// How much work the key derivation of an encrypted key costs: see the table at the top of EncryptedPrivateKey.swift.
public enum KeyEncryptionWork: Sendable, Equatable {
    /// A passphrase a person chose (typed, or from a file or the environment): PBKDF2 600 000 iterations.
    case chosenPassphrase
    /// A passphrase from `Passphrase.generate()` (256 random bits): PBKDF2 10 000 iterations.
    case generatedPassphrase

    /// PBKDF2-HMAC-SHA256 iterations.
    public var iterations: Int32 {
        switch self {
        case .chosenPassphrase: 600_000
        case .generatedPassphrase: 10_000
        }
    }

    /// Salt length in bytes (NIST SP 800-132 §5.1: at least 128 bits).
    public static let saltLength: Int32 = 16
}

extension SigningKey {
    /// Parses a PEM private key: PKCS#8 "PRIVATE KEY", the traditional "RSA/EC PRIVATE KEY" forms, or any of them
    /// encrypted ("ENCRYPTED PRIVATE KEY", or "Proc-Type: 4,ENCRYPTED"), decrypted with `passphrase`.
    /// Throws `.passphraseRequired` for an encrypted key without a passphrase, `.wrongPassphrase` when the passphrase
    /// does not decrypt it, `.malformedInput` for anything else unreadable. A passphrase given for an unencrypted key
    /// is not used. Only the first key in `pem` is read.
    public convenience init(pem: [UInt8], passphrase: SecretBytes?) throws(CryptoError) {
        try self.init(pem: pem.withCryptoBytes { SecretBytes(copying: $0) }, passphrase: passphrase)
    }

    /// `init(pem:passphrase:)` for PEM text that is itself secret (an unencrypted key, as read from its file).
    public convenience init(pem: SecretBytes, passphrase: SecretBytes?) throws(CryptoError) {
        // A secure-memory BIO: its copy of the key text is cleared when freed. BIO_write copies, so the BIO never
        // points into the caller's buffer (BIO_new_mem_buf would).
        let bio = try check(BIO_new(BIO_s_secmem()), "BIO_new")
        defer { BIO_free(bio) }
        let written = pem.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32(clamping: $0.count)) }
        guard pem.count > 0, pem.count <= Int(Int32.max), written == Int32(pem.count) else {
            throw CryptoError(.malformedInput, "PEM private key of \(pem.count) bytes")
        }
        var request = PassphraseRequest()
        let read: OpaquePointer? = if let passphrase {
            passphrase.withUnsafeBytes { bytes in
                request.given = bytes
                return withUnsafeMutablePointer(to: &request) { PEM_read_bio_PrivateKey(bio, nil, answerPassphrase, $0) }
            }
        } else {
            // Without a callback OpenSSL would prompt on the terminal itself; this one refuses and records the request.
            withUnsafeMutablePointer(to: &request) { PEM_read_bio_PrivateKey(bio, nil, answerPassphrase, $0) }
        }
        guard let key = read else {
            let detail = openSSLErrorText("PEM_read_bio_PrivateKey")  // drains the queue whichever way it went
            guard request.asked else { throw CryptoError(.malformedInput, detail) }
            if request.tooLong {
                throw CryptoError(.wrongPassphrase, "the passphrase is longer than OpenSSL takes (\(request.room) bytes)")
            }
            if passphrase == nil { throw CryptoError(.passphraseRequired, "the key is encrypted: it needs its passphrase") }
            throw CryptoError(.wrongPassphrase, "wrong passphrase (or a damaged key file)")
        }
        self.init(owning: key)
    }

    /// The key as encrypted PKCS#8 PEM ("-----BEGIN ENCRYPTED PRIVATE KEY-----"): PBES2, PBKDF2-HMAC-SHA256 with
    /// `work.iterations` and a random 16-byte salt, AES-256-CBC with a random IV (the table at the top of this file).
    /// `openssl pkey -passin` reads it. The unencrypted PKCS#8 passes only through OpenSSL structures that clear it
    /// when freed; the PEM comes back in a SecretBytes.
    public func pkcs8PEM(passphrase: SecretBytes, work: KeyEncryptionWork) throws(CryptoError) -> SecretBytes {
        guard passphrase.count > 0, passphrase.count <= Int(Int32.max) else {
            throw CryptoError(.unsupportedKey, "an empty passphrase encrypts nothing")
        }
        // PKCS5_pbe2_set_iv: with salt NULL, a random salt of the given length; with aiv NULL, a random IV.
        let algorithm = try check(PKCS5_pbe2_set_iv(EVP_aes_256_cbc(), work.iterations, nil, KeyEncryptionWork.saltLength,
                                                    nil, NID_hmacWithSHA256), "PKCS5_pbe2_set_iv")
        let info: OpaquePointer
        do { info = try check(EVP_PKEY2PKCS8(pkey), "EVP_PKEY2PKCS8") } catch {
            X509_ALGOR_free(algorithm)
            throw error
        }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }  // its free callback cleanses the key octets
        let sealed = passphrase.withUnsafeBytes { bytes in
            PKCS8_set0_pbe(bytes.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(bytes.count), info, algorithm)
        }
        guard let sealed else {
            X509_ALGOR_free(algorithm)  // set0 takes the algorithm only when it succeeds
            throw CryptoError(.library, openSSLErrorText("PKCS8_set0_pbe"))
        }
        defer { X509_SIG_free(sealed) }
        let bio = try check(BIO_new(BIO_s_secmem()), "BIO_new")
        defer { BIO_free(bio) }
        try check(PEM_write_bio_PKCS8(bio, sealed), "PEM_write_bio_PKCS8")
        return try withMemoryBIOContents(bio) { SecretBytes(copying: $0) }
    }
}

/// What the password callback was given and what it saw. Lives on the caller's stack for one PEM_read_bio_PrivateKey.
private struct PassphraseRequest {
    /// The passphrase to hand over; nil = refuse.
    var given: UnsafeRawBufferPointer?
    /// OpenSSL asked: the key is encrypted.
    var asked = false
    /// The passphrase did not fit OpenSSL's buffer (`room` bytes).
    var tooLong = false
    var room = 0
}

/// pem_password_cb: copies the passphrase into OpenSSL's buffer and returns its length, or -1 to refuse. OpenSSL may
/// ask more than once (one decoder after another); each answer is the same.
private func answerPassphrase(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int32, _ writing: Int32,
                              _ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let request = context?.assumingMemoryBound(to: PassphraseRequest.self) else { return -1 }
    request.pointee.asked = true
    request.pointee.room = Int(size)
    guard let given = request.pointee.given, let buffer, size > 0 else { return -1 }
    guard given.count <= Int(size) else {
        request.pointee.tooLong = true
        return -1
    }
    if let base = given.baseAddress { UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: given.count) }
    return Int32(given.count)
}
