// Signing keys (loaded from PEM bytes) and public keys (from certificates) for CertificateVerify.
//
// Schemes (RFC 8446 §4.2.3), and what each needs from the key:
//   ed25519                 Ed25519 key; PureEdDSA, so EVP_DigestSign with no digest (RFC 8032 §5.1.6)
//   ecdsa_secp256r1_sha256  EC key on P-256; DER-encoded ECDSA-Sig-Value
//   ecdsa_secp384r1_sha384  EC key on P-384; likewise
//   rsa_pss_rsae_sha*       rsaEncryption key of at least 2048 bits; RSASSA-PSS, MGF1 with the same hash,
//                           salt length = hash length (RFC 8446 §4.2.3), enforced exactly on verify
// A key on another curve, an RSA key under 2048 bits, an RSASSA-PSS-only key or any other type supports no scheme.
internal import COpenSSL

/// A private key: Ed25519, ECDSA P-256 / P-384, or RSA ≥ 2048 bits. Freed (and zeroed by OpenSSL) in deinit.
public final class SigningKey: @unchecked Sendable {
    // @unchecked: the EVP_PKEY is immutable after init; OpenSSL allows concurrent signing with one key.

    /// The EVP_PKEY, owned. Internal so that Certificate can check it against a certificate (X509_check_private_key).
    let pkey: OpaquePointer
    private let supportedSchemes: [SignatureScheme]

    /// Parses an unencrypted PEM private key (PKCS#8 "PRIVATE KEY", or the traditional "RSA/EC PRIVATE KEY" forms);
    /// an encrypted one throws `.passphraseRequired` (EncryptedPrivateKey.swift reads those with their passphrase).
    /// Only the first key in `pem` is read. A key of an unsupported type or size still loads, with `schemes` empty.
    public convenience init(pem: [UInt8]) throws(CryptoError) {
        try self.init(pem: pem, passphrase: nil)
    }

    /// Takes ownership of an EVP_PKEY holding a private key (a generated one: KeyGeneration.swift).
    init(owning key: OpaquePointer) {
        pkey = key
        supportedSchemes = signatureSchemes(of: key)
    }

    deinit { EVP_PKEY_free(pkey) }

    /// The schemes this key can sign with, best first (an RSA key: PSS-SHA256, -SHA384, -SHA512).
    public var schemes: [SignatureScheme] { supportedSchemes }

    /// What kind of key this is, for messages: "an Ed25519 key", "an EC key on secp521r1", "a 1024-bit RSA key".
    public var kindDescription: String { keyKindDescription(pkey) }

    /// Throws `.unsupportedKey` when `scheme` is not in `schemes`.
    func sign(_ message: [UInt8], scheme: SignatureScheme) throws(CryptoError) -> [UInt8] {
        guard supportedSchemes.contains(scheme) else {
            throw CryptoError(.unsupportedKey, "\(scheme) with a key that supports \(supportedSchemes)")
        }
        let maximumLength = Int(EVP_PKEY_get_size(pkey))
        guard maximumLength > 0 else { throw CryptoError(.library, openSSLErrorText("EVP_PKEY_get_size")) }
        var signature = [UInt8](repeating: 0, count: maximumLength)
        var length = maximumLength
        try withSignatureContext(pkey, scheme: scheme, signing: true) { (context) throws(CryptoError) in
            try message.withCryptoBytes { (message) throws(CryptoError) in
                try check(EVP_DigestSign(context, &signature, &length, nonNullBase(message), message.count), "EVP_DigestSign")
            }
        }
        return Array(signature.prefix(length))  // ECDSA's DER signature is usually shorter than the maximum
    }
}

/// A public key, from a certificate or a DER SubjectPublicKeyInfo.
final class PublicKey {
    /// The EVP_PKEY, owned.
    let pkey: OpaquePointer
    private let supportedSchemes: [SignatureScheme]

    /// Takes ownership of an EVP_PKEY reference (e.g. from X509_get_pubkey).
    init(owning pkey: OpaquePointer) {
        self.pkey = pkey
        supportedSchemes = signatureSchemes(of: pkey)
    }

    /// Throws `.malformedInput` when the DER does not decode or has trailing bytes.
    convenience init(subjectPublicKeyInfo der: [UInt8]) throws(CryptoError) {
        guard let key = decodePublicKey(der) else { throw CryptoError(.malformedInput, "d2i_PUBKEY") }
        self.init(owning: key)
    }

    deinit { EVP_PKEY_free(pkey) }

    /// The schemes this key verifies; empty for unsupported keys (RSA < 2048 bits, other curves, DSA…).
    var schemes: [SignatureScheme] { supportedSchemes }

    /// True only for a valid signature under `scheme`; false for every failure (wrong scheme for the key included).
    /// OpenSSL refuses non-DER ECDSA encodings (it re-encodes and compares) and, with the salt length fixed to the hash
    /// length, PSS signatures made with any other salt length.
    func verify(_ signature: [UInt8], message: [UInt8], scheme: SignatureScheme) -> Bool {
        guard supportedSchemes.contains(scheme) else { return false }
        do {
            return try withSignatureContext(pkey, scheme: scheme, signing: false) { (context) throws(CryptoError) -> Bool in
                try signature.withCryptoBytes { (signature) throws(CryptoError) -> Bool in
                    try message.withCryptoBytes { (message) throws(CryptoError) -> Bool in
                        // 1 = valid, 0 = invalid, < 0 = could not be checked (e.g. a malformed DER signature). All but
                        // 1 are "false"; going through `check` also drains the error queue, so a bad signature is an
                        // answer here and never resurfaces in a later, unrelated error report.
                        let result = EVP_DigestVerify(context, nonNullBase(signature), signature.count,
                                                      nonNullBase(message), message.count)
                        return (try? check(result, "EVP_DigestVerify")) != nil
                    }
                }
            }
        } catch {
            return false
        }
    }
}

// MARK: - Shared between signing and verifying

extension SignatureScheme {
    /// The digest for EVP_DigestSignInit; nil for Ed25519, which hashes internally (PureEdDSA).
    fileprivate var digest: OpaquePointer? {
        switch self {
        case .ed25519: nil
        case .ecdsaSecp256r1SHA256, .rsaPSSSHA256: HashFunction.sha256.evpMD
        case .ecdsaSecp384r1SHA384, .rsaPSSSHA384: HashFunction.sha384.evpMD
        case .rsaPSSSHA512: HashFunction.sha512.evpMD
        }
    }

    fileprivate var isRSAPSS: Bool { self == .rsaPSSSHA256 || self == .rsaPSSSHA384 || self == .rsaPSSSHA512 }
}

/// "an Ed448 key", "an EC key on secp521r1", "a 1024-bit RSA key", "a DSA key": what a message about a key that cannot
/// sign says it is.
func keyKindDescription(_ key: OpaquePointer) -> String {
    let type = EVP_PKEY_get0_type_name(key).map { String(cString: $0) } ?? "unknown"
    switch type.uppercased() {
    case "ED25519": return "an Ed25519 key"
    case "ED448": return "an Ed448 key"
    case "EC": return "an EC key on \(namedCurve(of: key) ?? "explicit curve parameters")"
    case "RSA": return "a \(EVP_PKEY_get_bits(key))-bit RSA key"
    case "RSA-PSS": return "an RSASSA-PSS-only RSA key"
    default: return "a\(type.first.map { "AEIOU".contains($0) } == true ? "n" : "") \(type) key"
    }
}

/// What `key` can sign or verify with. Decided once per key, from its type, curve and size.
private func signatureSchemes(of key: OpaquePointer) -> [SignatureScheme] {
    if EVP_PKEY_is_a(key, cString("ED25519")) == 1 { return [.ed25519] }
    if EVP_PKEY_is_a(key, cString("EC")) == 1 {
        switch namedCurve(of: key).map({ OBJ_sn2nid($0) }) {
        case NID_X9_62_prime256v1: return [.ecdsaSecp256r1SHA256]
        case NID_secp384r1: return [.ecdsaSecp384r1SHA384]
        default: return []
        }
    }
    // "RSA" is the rsaEncryption key type only; an id-RSASSA-PSS key ("RSA-PSS") would need the rsa_pss_pss_* schemes.
    if EVP_PKEY_is_a(key, cString("RSA")) == 1, EVP_PKEY_get_bits(key) >= 2048 {
        return [.rsaPSSSHA256, .rsaPSSSHA384, .rsaPSSSHA512]
    }
    return []
}

/// An EVP_MD_CTX set up for `scheme` with `key`, for one EVP_DigestSign / EVP_DigestVerify.
private func withSignatureContext<R>(_ key: OpaquePointer, scheme: SignatureScheme, signing: Bool,
                                     _ body: (OpaquePointer) throws(CryptoError) -> R) throws(CryptoError) -> R {
    let context = try check(EVP_MD_CTX_new(), "EVP_MD_CTX_new")
    defer { EVP_MD_CTX_free(context) }
    var keyContext: OpaquePointer?  // owned by `context`
    if signing {
        try check(EVP_DigestSignInit(context, &keyContext, scheme.digest, nil, key), "EVP_DigestSignInit")
    } else {
        try check(EVP_DigestVerifyInit(context, &keyContext, scheme.digest, nil, key), "EVP_DigestVerifyInit")
    }
    if scheme.isRSAPSS {
        let keyContext = try check(keyContext, "EVP_DigestSignInit")
        try check(EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING), "EVP_PKEY_CTX_set_rsa_padding")
        // RSA_PSS_SALTLEN_DIGEST: salt length = hash length when signing, and exactly that when verifying.
        try check(EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST), "EVP_PKEY_CTX_set_rsa_pss_saltlen")
        try check(EVP_PKEY_CTX_set_rsa_mgf1_md(keyContext, scheme.digest), "EVP_PKEY_CTX_set_rsa_mgf1_md")
    }
    return try body(context)
}

/// The curve's short name ("prime256v1", "secp384r1"…) of an EC key given by a named-curve OID, or nil. A key decoded
/// from explicit curve parameters is refused even when OpenSSL matches them to a named curve: PKIX allows only
/// namedCurve (RFC 5480 §2.1.1), and Wycheproof has explicit-parameter keys whose cofactor is wrong but whose prime,
/// curve and generator match P-256.
func namedCurve(of key: OpaquePointer) -> String? {
    var explicit: Int32 = 0
    guard (try? check(EVP_PKEY_get_int_param(key, cString("decoded-from-explicit"), &explicit),
                      "EVP_PKEY_get_int_param")) != nil, explicit == 0 else { return nil }
    var name = [CChar](repeating: 0, count: 80)
    var length = 0
    guard (try? check(EVP_PKEY_get_group_name(key, &name, name.count, &length), "EVP_PKEY_get_group_name")) != nil else {
        return nil
    }
    return String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
