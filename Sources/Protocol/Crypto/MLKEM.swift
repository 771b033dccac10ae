// ML-KEM-768 (FIPS 203), the post-quantum half of the x25519-mlkem768 group. The only file that imports swift-crypto:
// OpenSSL 3.0 has no ML-KEM, so this one primitive comes from swift-crypto's BoringSSL (its symbols are prefixed and
// live beside libcrypto); every other primitive stays on OpenSSL.
//
// Sizes (FIPS 203 Table 3, ML-KEM-768): encapsulation key 1184 bytes, ciphertext 1088 bytes, shared secret 32 bytes.
// What is checked, and where:
//   encapsulation key  exact length, then FIPS 203 §7.2 "modulus check" (every 12-bit coefficient < q = 3329), done by
//                      BoringSSL's MLKEM768_parse_public_key; a failure is the peer's (`.invalidPeerShare`), as
//                      draft-ietf-tls-ecdhe-mlkem §3.1.2 asks (illegal_parameter).
//   ciphertext         exact length only (`.invalidPeerShare`). Decapsulation never fails otherwise: a ciphertext that
//                      was tampered with yields an unrelated, pseudo-random secret (FIPS 203 implicit rejection), so the
//                      handshake fails later, at the first record sealed under keys derived from it.
// Zeroing: our copies of the shared secrets are SecretBytes (wiped when dropped), copied straight out of swift-crypto's
// SymmetricKey (which wipes its own storage). swift-crypto's BoringSSL backend, however, keeps the decapsulation key
// (seed d ‖ z and expanded key) and a transient copy of each shared secret in ordinary heap memory that it does not
// wipe when freed: a limitation of the library (4.5.2) that Ferry cannot fix from outside.
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
internal import Crypto

enum MLKEM768Sizes {
    static let encapsulationKey = 1184
    static let ciphertext = 1088
    static let sharedSecret = 32
}

/// The initiator's half: a fresh ML-KEM-768 key pair, kept until the responder's ciphertext arrives.
struct MLKEM768DecapsulationKey {
    private let key: MLKEM768.PrivateKey
    /// The encapsulation key to send, exactly 1184 bytes.
    let encapsulationKey: [UInt8]

    /// A fresh key pair (swift-crypto draws d and z from the system RNG).
    static func generate() throws(CryptoError) -> MLKEM768DecapsulationKey {
        let key: MLKEM768.PrivateKey
        do { key = try MLKEM768.PrivateKey() } catch { throw CryptoError(.library, "ML-KEM-768 key generation: \(error)") }
        return try MLKEM768DecapsulationKey(key)
    }

    /// Test hook, for the Wycheproof vectors: the key pair ML-KEM.KeyGen_internal(d, z) makes from `seed` = d ‖ z.
    /// A seed that is not 64 bytes is refused by swift-crypto (`.malformedInput`).
    init(seedForTesting seed: [UInt8]) throws(CryptoError) {
        let key: MLKEM768.PrivateKey
        do { key = try MLKEM768.PrivateKey(seedRepresentation: seed, publicKey: nil) } catch {
            throw CryptoError(.malformedInput, "ML-KEM-768 seed of \(seed.count) bytes: \(error)")
        }
        try self.init(key)
    }

    private init(_ key: MLKEM768.PrivateKey) throws(CryptoError) {
        let encoded = Array(key.publicKey.rawRepresentation)
        guard encoded.count == MLKEM768Sizes.encapsulationKey else {
            throw CryptoError(.library, "ML-KEM-768 encapsulation key of \(encoded.count) bytes")
        }
        self.key = key
        encapsulationKey = encoded
    }

    /// ML-KEM.Decaps. Throws `.invalidPeerShare` only for a ciphertext of the wrong length; any other ciphertext
    /// gives a secret (the right one, or the implicit-rejection one).
    func decapsulate(_ ciphertext: ArraySlice<UInt8>) throws(CryptoError) -> SecretBytes {
        guard ciphertext.count == MLKEM768Sizes.ciphertext else {
            throw CryptoError(.invalidPeerShare, "ML-KEM-768 ciphertext of \(ciphertext.count) bytes, expected \(MLKEM768Sizes.ciphertext)")
        }
        let shared: SymmetricKey
        // Past the length check, BoringSSL's decapsulation cannot fail on any input: a failure is ours
        // (draft-ietf-tls-ecdhe-mlkem §3.1.2: internal_error).
        do { shared = try key.decapsulate(ciphertext) } catch {
            throw CryptoError(.library, "ML-KEM-768 decapsulation: \(error)")
        }
        return try MLKEM768SharedSecret.copy(shared)
    }
}

/// The responder's half: the initiator's encapsulation key, validated, to encapsulate to.
struct MLKEM768EncapsulationKey {
    private let key: MLKEM768.PublicKey

    /// Exact length, then the FIPS 203 §7.2 modulus check (BoringSSL's parser): a failure is the peer's
    /// (`.invalidPeerShare`). Separate from `encapsulate` so that a bad key costs the responder no key generation.
    init(validating encoded: ArraySlice<UInt8>) throws(CryptoError) {
        guard encoded.count == MLKEM768Sizes.encapsulationKey else {
            throw CryptoError(.invalidPeerShare,
                              "ML-KEM-768 encapsulation key of \(encoded.count) bytes, expected \(MLKEM768Sizes.encapsulationKey)")
        }
        do { key = try MLKEM768.PublicKey(rawRepresentation: encoded) } catch {
            // The length is right, so this is the modulus check: a coefficient ≥ q.
            throw CryptoError(.invalidPeerShare, "ML-KEM-768 encapsulation key fails the FIPS 203 modulus check: \(error)")
        }
    }

    /// ML-KEM.Encaps with fresh randomness: the 1088-byte ciphertext to send and the 32-byte shared secret.
    func encapsulate() throws(CryptoError) -> (ciphertext: [UInt8], secret: SecretBytes) {
        let result: KEM.EncapsulationResult
        do { result = try key.encapsulate() } catch {
            throw CryptoError(.library, "ML-KEM-768 encapsulation: \(error)")
        }
        let ciphertext = Array(result.encapsulated)
        guard ciphertext.count == MLKEM768Sizes.ciphertext else {
            throw CryptoError(.library, "ML-KEM-768 ciphertext of \(ciphertext.count) bytes")
        }
        return (ciphertext, try MLKEM768SharedSecret.copy(result.sharedSecret))
    }
}

enum MLKEM768SharedSecret {
    /// Copies a swift-crypto shared secret straight into SecretBytes (no intermediate array).
    fileprivate static func copy(_ key: SymmetricKey) throws(CryptoError) -> SecretBytes {
        let secret = key.withUnsafeBytes { SecretBytes(copying: $0) }
        guard secret.count == MLKEM768Sizes.sharedSecret else {
            throw CryptoError(.library, "ML-KEM-768 shared secret of \(secret.count) bytes")
        }
        return secret
    }
}
