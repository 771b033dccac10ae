// Ephemeral key exchange, written as initiator/responder (KEM-shaped) so that a hybrid post-quantum group, where the
// two shares differ, fits the same interface: the initiator sends a share, the responder answers with its share and
// knows the secret at once, the initiator completes with the responder's share.
//
// Shares on the wire (KeyExchangeGroup.initiatorShareLength / responderShareLength), and what a peer's share must pass
// before it is used:
//   x25519     32-byte u-coordinate (RFC 7748 §5); a low-order point gives an all-zero secret, refused (RFC 7748 §6.1).
//              (Only here: a P-256 secret may legitimately be zero, since the x-coordinate 0 is on the curve.)
//   secp256r1  65-byte uncompressed SEC1 point 0x04 ‖ X ‖ Y only (RFC 8446 §4.2.8.2); on the curve, not infinity.
//   ffdheN     big-endian y left-padded to the length of p (RFC 8446 §4.2.8.1); 1 < y < p − 1 (RFC 7919 §5.1) and,
//              through EVP_PKEY_public_check, y^q = 1 mod p (the prime-order subgroup).
//   x25519-mlkem768  (draft-ietf-tls-ecdhe-mlkem §3.1, TLS's X25519MLKEM768; ML-KEM part FIRST everywhere)
//              initiator: ML-KEM-768 encapsulation key (1184) ‖ X25519 public key (32) = 1216 bytes;
//              responder: ML-KEM-768 ciphertext (1088) ‖ X25519 public key (32) = 1120 bytes;
//              secret:    ML-KEM shared secret (32) ‖ X25519 shared secret (32) = 64 bytes.
//              Exact lengths; the encapsulation key passes the FIPS 203 §7.2 modulus check (MLKEM.swift); the X25519
//              part is checked as x25519 above. A tampered ciphertext is NOT detected here (implicit rejection): it
//              gives a wrong secret and the handshake or rotation fails at its first sealed record.
// Any bad share throws `.invalidPeerShare`. Secrets come back as SecretBytes: 32 bytes, 64 for the hybrid, or the length
// of p for FFDHE (left-padded, RFC 8446 §7.4.1: "leading bytes of Z that contain all zero bits are *not* stripped").
internal import COpenSSL

/// The initiator's ephemeral key pair, kept until `complete` (then dropped; OpenSSL zeroes the private key on free).
final class KeyExchangeInitiator {
    let group: KeyExchangeGroup
    /// The public share to send, exactly `group.initiatorShareLength` bytes.
    let share: [UInt8]
    /// EVP_PKEY, owned: the group's key, or the X25519 half of the hybrid. nil once `complete` has succeeded.
    private var privateKey: OpaquePointer?
    /// The ML-KEM-768 half of the hybrid; nil for the classical groups and once `complete` has succeeded.
    private var kemKey: MLKEM768DecapsulationKey?

    init(group: KeyExchangeGroup) throws(CryptoError) {
        self.group = group
        let key = try Ephemeral.generate(group.classicalPart)
        do throws(CryptoError) {
            let classicalShare = try Ephemeral.share(of: key, group.classicalPart)
            if group == .x25519MLKEM768 {
                let kem = try MLKEM768DecapsulationKey.generate()
                share = kem.encapsulationKey + classicalShare
                kemKey = kem
            } else {
                share = classicalShare
            }
        } catch {
            EVP_PKEY_free(key)
            throw error
        }
        privateKey = key
    }

    /// Test hook, for Wycheproof and RFC 7748 vectors only: an initiator with a given private key (X25519: the 32-byte
    /// scalar; P-256: the big-endian scalar). FFDHE has no such vectors and traps; the hybrid has its own hook below.
    init(group: KeyExchangeGroup, privateKeyForTesting scalar: [UInt8]) throws(CryptoError) {
        precondition(group != .x25519MLKEM768, "use init(mlkemSeedForTesting:x25519PrivateKeyForTesting:)")
        self.group = group
        let key = try Ephemeral.importPrivate(group, scalar)
        do throws(CryptoError) {
            share = try Ephemeral.share(of: key, group)
        } catch {
            EVP_PKEY_free(key)
            throw error
        }
        privateKey = key
    }

    /// Test hook, for the ML-KEM-768 vectors: an x25519-mlkem768 initiator whose ML-KEM key pair is
    /// KeyGen_internal(d, z) of `seed` = d ‖ z (64 bytes, else `.malformedInput` from swift-crypto) and whose X25519
    /// private key is `scalar`.
    init(mlkemSeedForTesting seed: [UInt8], x25519PrivateKeyForTesting scalar: [UInt8]) throws(CryptoError) {
        group = .x25519MLKEM768
        let kem = try MLKEM768DecapsulationKey(seedForTesting: seed)
        let key = try Ephemeral.importPrivate(.x25519, scalar)
        do throws(CryptoError) {
            share = kem.encapsulationKey + (try Ephemeral.share(of: key, .x25519))
        } catch {
            EVP_PKEY_free(key)
            throw error
        }
        kemKey = kem
        privateKey = key
    }

    deinit { EVP_PKEY_free(privateKey) }

    /// Validates the responder's share (exact length, point on curve / 1 < y < p − 1, non-zero result) and derives the
    /// shared secret. Throws `.invalidPeerShare` for any bad share. A failure keeps the key (STYLE 10); a second
    /// successful call is our bug and traps.
    func complete(responderShare: [UInt8]) throws(CryptoError) -> SecretBytes {
        guard let key = privateKey else { preconditionFailure("KeyExchangeInitiator.complete called after it succeeded") }
        let secret: SecretBytes
        if let kemKey {
            // ciphertext (1088) ‖ X25519 share (32). Both parts are checked before either secret is used; the X25519
            // part first, since a bad point is the one failure decapsulation cannot report.
            let expected = group.responderShareLength
            guard responderShare.count == expected else {
                throw CryptoError(.invalidPeerShare, "\(group.name) share of \(responderShare.count) bytes, expected \(expected)")
            }
            let split = MLKEM768Sizes.ciphertext
            let ecdhSecret = try Ephemeral.agree(.x25519, ours: key, peerShare: Array(responderShare[split...]))
            let kemSecret = try kemKey.decapsulate(responderShare[..<split])
            secret = SecretBytes(concatenating: kemSecret, ecdhSecret)  // ML-KEM first (draft-ietf-tls-ecdhe-mlkem §3.1.3)
        } else {
            secret = try Ephemeral.agree(group, ours: key, peerShare: responderShare)
        }
        EVP_PKEY_free(key)
        privateKey = nil
        kemKey = nil
        return secret
    }

    /// Test hook for the RFC 7919 check: p and g of this initiator's FFDHE group, big-endian, as OpenSSL holds them.
    var ffdheParametersForTesting: (p: [UInt8], g: [UInt8])? {
        guard let key = privateKey, group == .ffdhe2048 || group == .ffdhe3072 else { return nil }
        guard let p = Ephemeral.bigNumberParameter(key, "p"), let g = Ephemeral.bigNumberParameter(key, "g") else { return nil }
        return (p, g)
    }
}

enum KeyExchangeResponder {
    /// Validates the initiator's share, makes the responder's ephemeral key, and returns its share and the secret.
    static func respond(group: KeyExchangeGroup, initiatorShare: [UInt8]) throws(CryptoError) -> (share: [UInt8], secret: SecretBytes) {
        guard group == .x25519MLKEM768 else {
            // Validate first: a bad share costs no key generation.
            let peer = try Ephemeral.peerKey(group, initiatorShare)
            defer { EVP_PKEY_free(peer) }
            let ours = try Ephemeral.generate(group)
            defer { EVP_PKEY_free(ours) }
            let share = try Ephemeral.share(of: ours, group)
            let secret = try Ephemeral.derive(group, ours: ours, peer: peer)
            return (share, secret)
        }
        // encapsulation key (1184) ‖ X25519 share (32). The length and the encapsulation key are checked before any key
        // generation; a low-order X25519 point shows in the derivation, as for x25519.
        let expected = group.initiatorShareLength
        guard initiatorShare.count == expected else {
            throw CryptoError(.invalidPeerShare, "\(group.name) share of \(initiatorShare.count) bytes, expected \(expected)")
        }
        let split = MLKEM768Sizes.encapsulationKey
        let encapsulationKey = try MLKEM768EncapsulationKey(validating: initiatorShare[..<split])
        let peer = try Ephemeral.peerKey(.x25519, Array(initiatorShare[split...]))
        defer { EVP_PKEY_free(peer) }
        let ours = try Ephemeral.generate(.x25519)
        defer { EVP_PKEY_free(ours) }
        let ecdhShare = try Ephemeral.share(of: ours, .x25519)
        let ecdhSecret = try Ephemeral.derive(.x25519, ours: ours, peer: peer)
        let (ciphertext, kemSecret) = try encapsulationKey.encapsulate()
        return (ciphertext + ecdhShare, SecretBytes(concatenating: kemSecret, ecdhSecret))
    }
}

extension KeyExchangeGroup {
    /// The group OpenSSL computes: the group itself, or the X25519 half of the hybrid.
    fileprivate var classicalPart: KeyExchangeGroup { self == .x25519MLKEM768 ? .x25519 : self }

    /// OpenSSL's key type and group name for EVP_PKEY_CTX_new_from_name and the "group" parameter.
    fileprivate var openSSLType: StaticString {
        switch self {
        case .x25519: "X25519"
        case .secp256r1: "EC"
        case .ffdhe2048, .ffdhe3072: "DH"
        case .x25519MLKEM768: preconditionFailure("OpenSSL computes only the X25519 half of \(name)")
        }
    }

    fileprivate var openSSLGroupName: StaticString {
        switch self {
        case .x25519: "X25519"
        case .secp256r1: "P-256"
        case .ffdhe2048: "ffdhe2048"
        case .ffdhe3072: "ffdhe3072"
        case .x25519MLKEM768: preconditionFailure("OpenSSL computes only the X25519 half of \(name)")
        }
    }

    /// Length of the shared secret: the x-coordinate for the curves, the length of p for FFDHE (padded), and
    /// ML-KEM's 32 bytes ‖ X25519's 32 for the hybrid.
    var secretLength: Int {
        switch self {
        case .x25519, .secp256r1: 32
        case .ffdhe2048, .ffdhe3072: initiatorShareLength
        case .x25519MLKEM768: MLKEM768Sizes.sharedSecret + 32
        }
    }
}

/// The EVP_PKEY plumbing shared by both roles, for the classical groups (the hybrid's X25519 half goes through here as
/// `.x25519`). Every EVP_PKEY returned is owned by the caller.
private enum Ephemeral {
    static func generate(_ group: KeyExchangeGroup) throws(CryptoError) -> OpaquePointer {
        let context = try check(EVP_PKEY_CTX_new_from_name(nil, cString(group.openSSLType), nil), "EVP_PKEY_CTX_new_from_name")
        defer { EVP_PKEY_CTX_free(context) }
        try check(EVP_PKEY_keygen_init(context), "EVP_PKEY_keygen_init")
        if group != .x25519 {
            // P-256, or an RFC 7919 named group: OpenSSL knows the primes and picks the private exponent length.
            try check(EVP_PKEY_CTX_set_group_name(context, cString(group.openSSLGroupName)), "EVP_PKEY_CTX_set_group_name")
        }
        var key: OpaquePointer?
        try check(EVP_PKEY_keygen(context, &key), "EVP_PKEY_keygen")
        return try check(key, "EVP_PKEY_keygen")
    }

    /// Validates the peer's share and derives the secret with our key (which stays owned by the caller).
    static func agree(_ group: KeyExchangeGroup, ours: OpaquePointer, peerShare: [UInt8]) throws(CryptoError) -> SecretBytes {
        let peer = try peerKey(group, peerShare)
        defer { EVP_PKEY_free(peer) }
        return try derive(group, ours: ours, peer: peer)
    }

    /// Our public value in wire form.
    static func share(of key: OpaquePointer, _ group: KeyExchangeGroup) throws(CryptoError) -> [UInt8] {
        var share = [UInt8](repeating: 0, count: group.initiatorShareLength)
        var length = 0
        switch group {
        case .x25519:
            length = share.count
            try check(EVP_PKEY_get_raw_public_key(key, &share, &length), "EVP_PKEY_get_raw_public_key")
        case .secp256r1:
            // The default point format is uncompressed; the length and prefix checks below make sure of it.
            try check(EVP_PKEY_get_octet_string_param(key, cString("encoded-pub-key"), &share, share.count, &length),
                      "EVP_PKEY_get_octet_string_param")
            guard share.first == 0x04 else { throw CryptoError(.library, "P-256 public key is not uncompressed") }
        case .ffdhe2048, .ffdhe3072:
            var y: OpaquePointer?
            try check(EVP_PKEY_get_bn_param(key, cString("pub"), &y), "EVP_PKEY_get_bn_param")
            defer { BN_free(y) }
            length = Int(BN_bn2binpad(y, &share, Int32(share.count)))  // left-padded to the length of p
        case .x25519MLKEM768:
            preconditionFailure("OpenSSL computes only the X25519 half of \(group.name)")
        }
        guard length == group.initiatorShareLength else { throw CryptoError(.library, "\(group) share of \(length) bytes") }
        return share
    }

    /// The peer's share as an EVP_PKEY, fully validated. Everything wrong with it is `.invalidPeerShare`.
    static func peerKey(_ group: KeyExchangeGroup, _ share: [UInt8]) throws(CryptoError) -> OpaquePointer {
        guard share.count == group.initiatorShareLength else {  // a classical group's two shares have one length
            throw CryptoError(.invalidPeerShare, "\(group) share of \(share.count) bytes, expected \(group.initiatorShareLength)")
        }
        switch group {
        case .x25519:
            // Every 32-byte string is a u-coordinate (RFC 7748 §5); the bad ones show up as an all-zero secret in derive.
            return try check(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, share, share.count),
                             "EVP_PKEY_new_raw_public_key", .invalidPeerShare)
        case .secp256r1:
            // Only the uncompressed form: compressed (0x02/0x03) and hybrid (0x06/0x07) points are refused, as in TLS 1.3.
            guard share[0] == 0x04 else { throw CryptoError(.invalidPeerShare, "P-256 share is not an uncompressed point") }
            let key = try fromData(group, selection: copenssl_selection_public_key()) { (builder) throws(CryptoError) in
                try check(OSSL_PARAM_BLD_push_octet_string(builder, cString("pub"), share, share.count),
                          "OSSL_PARAM_BLD_push_octet_string")
            }
            return try validated(key)
        case .ffdhe2048, .ffdhe3072:
            let y = try check(BN_bin2bn(share, Int32(share.count), nil), "BN_bin2bn")
            defer { BN_free(y) }
            let key = try fromData(group, selection: copenssl_selection_public_key()) { (builder) throws(CryptoError) in
                try check(OSSL_PARAM_BLD_push_BN(builder, cString("pub"), y), "OSSL_PARAM_BLD_push_BN")
            }
            do throws(CryptoError) {
                try checkRange(y, of: key)
            } catch {
                EVP_PKEY_free(key)
                throw error
            }
            return try validated(key)
        case .x25519MLKEM768:
            preconditionFailure("OpenSSL computes only the X25519 half of \(group.name)")
        }
    }

    /// RFC 7919 §5.1: "the peer MUST verify that 1 < Y < p-1". Done here explicitly rather than left to the provider's
    /// check, so the rule the RFC states is visible in the code.
    private static func checkRange(_ y: OpaquePointer, of key: OpaquePointer) throws(CryptoError) {
        var pMinusOne: OpaquePointer?
        try check(EVP_PKEY_get_bn_param(key, cString("p"), &pMinusOne), "EVP_PKEY_get_bn_param(p)")
        defer { BN_free(pMinusOne) }
        try check(BN_sub_word(pMinusOne, 1), "BN_sub_word")
        guard BN_is_zero(y) == 0, BN_is_one(y) == 0, BN_cmp(y, pMinusOne) < 0 else {
            throw CryptoError(.invalidPeerShare, "FFDHE share outside 1 < y < p - 1")
        }
    }

    /// EVP_PKEY_public_check: for P-256 the point is on the curve and of the right order; for FFDHE, y is in range
    /// and in the q-order subgroup (DH_check_pub_key). Frees `key` when it fails.
    private static func validated(_ key: OpaquePointer) throws(CryptoError) -> OpaquePointer {
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, key, nil) else {
            EVP_PKEY_free(key)
            throw CryptoError(.library, openSSLErrorText("EVP_PKEY_CTX_new_from_pkey"))
        }
        defer { EVP_PKEY_CTX_free(context) }
        do throws(CryptoError) {
            try check(EVP_PKEY_public_check(context), "EVP_PKEY_public_check", .invalidPeerShare)
        } catch {
            EVP_PKEY_free(key)
            throw error
        }
        return key
    }

    static func derive(_ group: KeyExchangeGroup, ours: OpaquePointer, peer: OpaquePointer) throws(CryptoError) -> SecretBytes {
        let context = try check(EVP_PKEY_CTX_new_from_pkey(nil, ours, nil), "EVP_PKEY_CTX_new_from_pkey")
        defer { EVP_PKEY_CTX_free(context) }
        try check(EVP_PKEY_derive_init(context), "EVP_PKEY_derive_init")
        if group == .ffdhe2048 || group == .ffdhe3072 {
            // Keep leading zero bytes: the secret is always the length of p (RFC 8446 §7.4.1).
            try check(EVP_PKEY_CTX_set_dh_pad(context, 1), "EVP_PKEY_CTX_set_dh_pad")
        }
        // The peer key was validated when it was built (peerKey), so the check is not repeated here (validate 0);
        // OpenSSL still refuses a peer whose group differs from ours.
        try check(EVP_PKEY_derive_set_peer_ex(context, peer, 0), "EVP_PKEY_derive_set_peer_ex", .invalidPeerShare)
        let secret = SecretBytes(zeroedCount: group.secretLength)
        try secret.withUnsafeMutableBytes { (out) throws(CryptoError) in
            var length = out.count
            // X25519 fails here when the result is all zero (a low-order peer point): that is the peer's fault.
            try check(EVP_PKEY_derive(context, out.baseAddress?.assumingMemoryBound(to: UInt8.self), &length),
                      "EVP_PKEY_derive", .invalidPeerShare)
            guard length == out.count else { throw CryptoError(.library, "\(group) secret of \(length) bytes") }
            // RFC 7748 §6.1: check for the all-zero value and abort. OpenSSL already fails the derive then; this keeps
            // the rule visible and independent of the library version. Not for P-256, where x = 0 is a valid result
            // (Wycheproof ecdh_secp256r1 tcId 3), nor FFDHE, where 1 < y < p − 1 rules it out.
            guard group != .x25519 || !isAllZero(UnsafeRawBufferPointer(out)) else {
                throw CryptoError(.invalidPeerShare, "X25519 shared secret is all zero")
            }
        }
        return secret
    }

    /// EVP_PKEY_fromdata for `group` with the "group" parameter plus whatever `push` adds.
    private static func fromData(_ group: KeyExchangeGroup, selection: Int32,
                                 _ push: (OpaquePointer) throws(CryptoError) -> Void) throws(CryptoError) -> OpaquePointer {
        let builder = try check(OSSL_PARAM_BLD_new(), "OSSL_PARAM_BLD_new")
        defer { OSSL_PARAM_BLD_free(builder) }
        try check(OSSL_PARAM_BLD_push_utf8_string(builder, cString("group"), cString(group.openSSLGroupName), 0),
                  "OSSL_PARAM_BLD_push_utf8_string")
        try push(builder)
        let params = try check(OSSL_PARAM_BLD_to_param(builder), "OSSL_PARAM_BLD_to_param")
        defer { OSSL_PARAM_free(params) }  // a secure BIGNUM (the test hook's scalar) sits in cleared secure memory
        let context = try check(EVP_PKEY_CTX_new_from_name(nil, cString(group.openSSLType), nil), "EVP_PKEY_CTX_new_from_name")
        defer { EVP_PKEY_CTX_free(context) }
        try check(EVP_PKEY_fromdata_init(context), "EVP_PKEY_fromdata_init")
        var key: OpaquePointer?
        // Decoding the point checks that it lies on the curve (EC_POINT_oct2point); a failure is the peer's share.
        try check(EVP_PKEY_fromdata(context, &key, selection, params), "EVP_PKEY_fromdata", .invalidPeerShare)
        return try check(key, "EVP_PKEY_fromdata", .invalidPeerShare)
    }

    /// A BIGNUM parameter of `key` ("p", "g", "pub"), big-endian, minimal length.
    static func bigNumberParameter(_ key: OpaquePointer, _ name: StaticString) -> [UInt8]? {
        var value: OpaquePointer?
        guard (try? check(EVP_PKEY_get_bn_param(key, cString(name), &value), "EVP_PKEY_get_bn_param")) != nil,
              let value else { return nil }
        defer { BN_free(value) }
        var bytes = [UInt8](repeating: 0, count: Int((BN_num_bits(value) + 7) / 8))
        guard BN_bn2binpad(value, &bytes, Int32(bytes.count)) == Int32(bytes.count) else { return nil }
        return bytes
    }

    /// Constant-time: no early exit, so the time does not depend on where the first non-zero byte is.
    private static func isAllZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var accumulator: UInt8 = 0
        for byte in bytes { accumulator |= byte }
        return accumulator == 0
    }

    // MARK: - Test hooks

    /// A key pair from a fixed private scalar (X25519, P-256), for the vector tests.
    static func importPrivate(_ group: KeyExchangeGroup, _ scalar: [UInt8]) throws(CryptoError) -> OpaquePointer {
        switch group {
        case .x25519:
            return try check(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, scalar, scalar.count),
                             "EVP_PKEY_new_raw_private_key", .malformedInput)
        case .secp256r1:
            // The provider does not derive the public point from the scalar on import, so compute Q = d·G first.
            let point = try publicPoint(p256Scalar: scalar)
            let d = try check(BN_bin2bn(scalar, Int32(scalar.count), BN_secure_new()), "BN_bin2bn")
            defer { BN_clear_free(d) }
            return try fromData(group, selection: copenssl_selection_keypair()) { (builder) throws(CryptoError) in
                try check(OSSL_PARAM_BLD_push_octet_string(builder, cString("pub"), point, point.count),
                          "OSSL_PARAM_BLD_push_octet_string")
                try check(OSSL_PARAM_BLD_push_BN(builder, cString("priv"), d), "OSSL_PARAM_BLD_push_BN")
            }
        case .ffdhe2048, .ffdhe3072, .x25519MLKEM768:
            preconditionFailure("no fixed-key test hook for \(group)")
        }
    }

    private static func publicPoint(p256Scalar scalar: [UInt8]) throws(CryptoError) -> [UInt8] {
        let curve = try check(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1), "EC_GROUP_new_by_curve_name")
        defer { EC_GROUP_free(curve) }
        let point = try check(EC_POINT_new(curve), "EC_POINT_new")
        defer { EC_POINT_free(point) }
        let d = try check(BN_bin2bn(scalar, Int32(scalar.count), BN_secure_new()), "BN_bin2bn")
        defer { BN_clear_free(d) }
        try check(EC_POINT_mul(curve, point, d, nil, nil, nil), "EC_POINT_mul", .malformedInput)
        var encoded = [UInt8](repeating: 0, count: 65)
        guard EC_POINT_point2oct(curve, point, POINT_CONVERSION_UNCOMPRESSED, &encoded, encoded.count, nil) == 65 else {
            throw CryptoError(.malformedInput, openSSLErrorText("EC_POINT_point2oct"))
        }
        return encoded
    }

    /// For the ECDH vectors, whose public keys are DER SubjectPublicKeyInfo: the key's curve name and its point in
    /// uncompressed form. nil when the DER does not decode as an EC key on a named curve (explicit parameters are
    /// refused, RFC 5480 §2.1.1) or has trailing bytes.
    static func uncompressedPoint(subjectPublicKeyInfo der: [UInt8]) -> (curve: String, point: [UInt8])? {
        guard let key = decodePublicKey(der) else { return nil }
        defer { EVP_PKEY_free(key) }
        guard EVP_PKEY_is_a(key, cString("EC")) == 1, let curve = namedCurve(of: key) else { return nil }
        guard (try? check(EVP_PKEY_set_utf8_string_param(key, cString("point-format"), cString("uncompressed")),
                          "EVP_PKEY_set_utf8_string_param")) != nil else { return nil }
        var point = [UInt8](repeating: 0, count: 1 + 2 * 66)  // room for P-521
        var length = 0
        guard (try? check(EVP_PKEY_get_octet_string_param(key, cString("encoded-pub-key"), &point, point.count, &length),
                          "EVP_PKEY_get_octet_string_param")) != nil else { return nil }
        return (curve, Array(point.prefix(length)))
    }
}

/// A DER SubjectPublicKeyInfo as an EVP_PKEY (owned by the caller), or nil when it does not decode or has trailing bytes.
func decodePublicKey(_ der: [UInt8]) -> OpaquePointer? {
    der.withUnsafeBytes { (buffer) -> OpaquePointer? in
        guard let base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), buffer.count > 0 else { return nil }
        var cursor: UnsafePointer<UInt8>? = base
        guard let key = d2i_PUBKEY(nil, &cursor, buffer.count) else {
            _ = openSSLErrorText("d2i_PUBKEY")  // drain the error queue
            return nil
        }
        guard cursor == base + buffer.count else {
            EVP_PKEY_free(key)
            return nil
        }
        return key
    }
}

extension KeyExchangeInitiator {
    /// Test hook for the ECDH vectors: see `Ephemeral.uncompressedPoint(subjectPublicKeyInfo:)`.
    static func uncompressedPointForTesting(subjectPublicKeyInfo der: [UInt8]) -> (curve: String, point: [UInt8])? {
        Ephemeral.uncompressedPoint(subjectPublicKeyInfo: der)
    }
}
