// The CA tooling's side of the OpenSSL boundary: one class per owned OpenSSL object, freed in deinit, and one choke
// point for return codes (STYLE 13), for the X.509 *writing* that Protocol never does. The error queue is drained by
// Protocol's `openSSLErrorText`, the same text the crypto layer reports.
internal import COpenSSL
import Protocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Return codes

/// A CAError carrying the drained OpenSSL error queue (Protocol's `openSSLErrorText`).
@inline(never)
func openSSLFailure(_ function: String, _ kind: CAError.Kind = .library) -> CAError {
    CAError(kind, openSSLErrorText(function))
}

/// For calls that return 1 on success (most of EVP and X509_set_*).
@inline(__always)
func requireOne(_ rc: Int32, _ function: String) throws(CAError) {
    if rc != 1 { throw openSSLFailure(function) }
}

/// For calls that return a positive value on success (X509_sign returns the signature length, 0 on failure; the
/// EVP_PKEY_CTX_set_* controls return ≤ 0 on failure).
@inline(__always)
func requirePositive(_ rc: Int32, _ function: String) throws(CAError) {
    if rc <= 0 { throw openSSLFailure(function) }
}

/// For calls that return a pointer, NULL on failure.
@inline(__always)
func requirePointer<T>(_ pointer: T?, _ function: String) throws(CAError) -> T {
    guard let pointer else { throw openSSLFailure(function) }
    return pointer
}

// MARK: - Memory BIOs

/// A memory BIO, freed in deinit. `secure` uses BIO_s_secmem, which clears its buffer when freed: private key PEM
/// passes through it on its way to the key file.
final class MemoryBIO {
    let bio: OpaquePointer

    init(secure: Bool = false) throws(CAError) {
        bio = try requirePointer(BIO_new(secure ? BIO_s_secmem() : BIO_s_mem()), "BIO_new")
    }

    /// A BIO holding a copy of `bytes` (BIO_write copies; BIO_new_mem_buf would point into the Swift array).
    convenience init(copying bytes: [UInt8]) throws(CAError) {
        try self.init(secure: true)
        guard bytes.count <= Int(Int32.max) else { throw CAError(.invalidArgument, "input of \(bytes.count) bytes") }
        let written = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
        guard written == Int32(bytes.count) || bytes.isEmpty else { throw openSSLFailure("BIO_write") }
    }

    deinit { BIO_free(bio) }

    /// The bytes written so far, valid until the BIO is written to or freed.
    func withContents<R>(_ body: (UnsafeRawBufferPointer) throws(CAError) -> R) throws(CAError) -> R {
        var data: UnsafeMutablePointer<CChar>?
        let length = copenssl_bio_get_mem_data(bio, &data)
        guard length > 0, let data else { throw CAError(.library, "BIO_get_mem_data: no output") }
        return try body(UnsafeRawBufferPointer(start: data, count: length))
    }
}

// MARK: - Private keys

/// An EVP_PKEY that holds a private key, owned (EVP_PKEY_free clears the key material).
final class PrivateKey {
    let pkey: OpaquePointer
    let type: CAKeyType

    private init(owning pkey: OpaquePointer, type: CAKeyType) {
        self.pkey = pkey
        self.type = type
    }

    deinit { EVP_PKEY_free(pkey) }

    /// A fresh key from OpenSSL's CSPRNG. EVP_PKEY_Q_keygen is variadic and does not import into Swift, so this is
    /// the EVP_PKEY_CTX_new_id + EVP_PKEY_keygen sequence.
    static func generate(_ type: CAKeyType) throws(CAError) -> PrivateKey {
        let id: Int32 = switch type {
        case .ed25519: EVP_PKEY_ED25519
        case .ecdsaP256, .ecdsaP384: EVP_PKEY_EC
        case .rsa3072: EVP_PKEY_RSA
        }
        let context = try requirePointer(EVP_PKEY_CTX_new_id(id, nil), "EVP_PKEY_CTX_new_id")
        defer { EVP_PKEY_CTX_free(context) }
        try requirePositive(EVP_PKEY_keygen_init(context), "EVP_PKEY_keygen_init")
        switch type {
        case .ed25519:
            break
        case .ecdsaP256:
            try requirePositive(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(context, NID_X9_62_prime256v1),
                                "EVP_PKEY_CTX_set_ec_paramgen_curve_nid")
        case .ecdsaP384:
            try requirePositive(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(context, NID_secp384r1),
                                "EVP_PKEY_CTX_set_ec_paramgen_curve_nid")
        case .rsa3072:
            try requirePositive(EVP_PKEY_CTX_set_rsa_keygen_bits(context, CAKeyType.rsaBits),
                                "EVP_PKEY_CTX_set_rsa_keygen_bits")
        }
        // EC keys are written with the namedCurve OID (OpenSSL 3's default; RFC 5480 §2.1.1 allows nothing else).
        var key: OpaquePointer?
        try requirePositive(EVP_PKEY_keygen(context, &key), "EVP_PKEY_keygen")
        return PrivateKey(owning: try requirePointer(key, "EVP_PKEY_keygen"), type: type)
    }

    /// Reads an unencrypted PEM private key (PKCS#8 or the traditional forms). `path` is only for messages.
    convenience init(pem: [UInt8], path: String) throws(CAError) {
        let bio = try MemoryBIO(copying: pem)
        // The password callback refuses at once: without one, OpenSSL would prompt on the terminal for an encrypted key.
        guard let key = PEM_read_bio_PrivateKey(bio.bio, nil, { _, _, _, _ in -1 }, nil) else {
            throw openSSLFailure("\(path): not an unencrypted PEM private key (PEM_read_bio_PrivateKey)", .invalidCA)
        }
        guard let type = CAKeyType(of: key) else {
            EVP_PKEY_free(key)
            throw CAError.invalidCA("\(path): unsupported key type (want Ed25519, ECDSA P-256/P-384 or RSA ≥ 2048 bits)")
        }
        self.init(owning: key, type: type)
    }

    /// Calls `body` with the key as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), unencrypted, in a secure memory BIO
    /// that is cleared when the call returns. The bytes are never copied into a Swift array.
    func withPKCS8PEM<R>(_ body: (UnsafeRawBufferPointer) throws(CAError) -> R) throws(CAError) -> R {
        let bio = try MemoryBIO(secure: true)
        try requireOne(PEM_write_bio_PKCS8PrivateKey(bio.bio, pkey, nil, nil, 0, nil, nil), "PEM_write_bio_PKCS8PrivateKey")
        return try bio.withContents(body)
    }
}

// MARK: - Certificates

/// An X509, owned.
final class X509Certificate {
    let x509: OpaquePointer

    /// Takes ownership of `x509`.
    init(owning x509: OpaquePointer) { self.x509 = x509 }

    /// Reads the first PEM CERTIFICATE block of `pem`. `path` is only for messages.
    convenience init(pem: [UInt8], path: String) throws(CAError) {
        let bio = try MemoryBIO(copying: pem)
        guard let x509 = PEM_read_bio_X509(bio.bio, nil, nil, nil) else {
            throw openSSLFailure("\(path): not a PEM certificate (PEM_read_bio_X509)", .invalidCA)
        }
        self.init(owning: x509)
    }

    deinit { X509_free(x509) }

    /// The certificate as PEM ("-----BEGIN CERTIFICATE-----").
    func pem() throws(CAError) -> [UInt8] {
        let bio = try MemoryBIO()
        try requireOne(PEM_write_bio_X509(bio.bio, x509), "PEM_write_bio_X509")
        return try bio.withContents { Array($0) }
    }

    /// notAfter as Unix time; nil when the field does not decode.
    var notAfterUnixTime: Int64? { Self.unixTime(X509_get0_notAfter(x509)) }

    /// notBefore as Unix time; nil when the field does not decode.
    var notBeforeUnixTime: Int64? { Self.unixTime(X509_get0_notBefore(x509)) }

    /// The last commonName of the subject, or nil.
    var commonName: String? {
        guard let subject = X509_get_subject_name(x509) else { return nil }
        let index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(subject, index),
              let value = X509_NAME_ENTRY_get_data(entry) else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, value)
        guard length > 0, let utf8 else {
            ERR_clear_error()
            return nil
        }
        defer { copenssl_free(utf8) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    private static func unixTime(_ time: UnsafePointer<ASN1_TIME>?) -> Int64? {
        guard let time else { return nil }
        var fields = tm()
        guard ASN1_TIME_to_tm(time, &fields) == 1 else {
            ERR_clear_error()
            return nil
        }
        return Int64(timegm(&fields))
    }
}
