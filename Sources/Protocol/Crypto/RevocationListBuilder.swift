// Builds and signs a v2 CRL (RFC 5280 §5.1): what `ferry ca crl` publishes.
//
// Contents: the issuer's subject as the CRL issuer, thisUpdate and nextUpdate, one entry per revoked serial with its
// revocation date (no reason code: RFC 5280 §5.3.1 makes it optional, and "unspecified" says nothing), and the two
// extensions §5.2 asks a conforming CA to include: authorityKeyIdentifier (the CA's subjectKeyIdentifier) and
// cRLNumber (monotonically increasing, so a relying party can tell the newer of two lists). Entries are sorted by
// serial (X509_CRL_sort), as OpenSSL's lookup expects. Signed with the same algorithm choice as certificates
// (CertificateBuilder.swift), and verified under the issuer's key before it is returned.
internal import COpenSSL

/// One revoked certificate: its serial number (big-endian magnitude) and when it was revoked (Unix time).
public struct RevokedCertificate: Hashable, Sendable {
    public var serial: [UInt8]
    public var revokedAt: Int64

    public init(serial: [UInt8], revokedAt: Int64) {
        self.serial = serial
        self.revokedAt = revokedAt
    }
}

public enum RevocationListBuilder {
    /// The signed CRL of `issuer` listing `revoked`, valid from `thisUpdate` to `nextUpdate`, numbered `number`.
    /// Throws `.malformedInput` for an empty or oversized serial or a window that ends before it starts,
    /// `.unsupportedKey` for a key Ferry does not sign with, `.library` when OpenSSL fails.
    public static func build(issuer: Certificate, key: SigningKey, revoked: [RevokedCertificate], number: UInt64,
                             thisUpdate: Int64, nextUpdate: Int64) throws(CryptoError) -> RevocationList {
        guard thisUpdate < nextUpdate else {
            throw CryptoError(.malformedInput, "CRL: nextUpdate is not after thisUpdate")
        }
        // RFC 5280 §4.1.2.2: serial numbers are at most 20 octets.
        guard revoked.allSatisfy({ (1...20).contains($0.serial.count) }) else {
            throw CryptoError(.malformedInput, "CRL: a serial number must be 1–20 bytes")
        }
        guard let algorithm = key.algorithm else {
            throw CryptoError(.unsupportedKey, "the signing key is not one Ferry signs with")
        }
        let crl = try check(X509_CRL_new(), "X509_CRL_new")
        do throws(CryptoError) {
            try fill(crl, issuer: issuer, revoked: revoked, number: number, thisUpdate: thisUpdate, nextUpdate: nextUpdate)
            let digest: OpaquePointer? = switch algorithm {
            case .ed25519: nil  // PureEdDSA: md = NULL
            case .ecdsaP384: HashFunction.sha384.evpMD
            case .ecdsaP256, .rsa: HashFunction.sha256.evpMD
            }
            try checkPositive(X509_CRL_sign(crl, key.pkey, digest), "X509_CRL_sign")
            let issuerKey = try check(X509_get0_pubkey(issuer.x509), "X509_get0_pubkey")
            try checkPositive(X509_CRL_verify(crl, issuerKey), "X509_CRL_verify")
        } catch {
            X509_CRL_free(crl)
            throw error
        }
        return RevocationList(owning: crl)
    }

    private static func fill(_ crl: OpaquePointer, issuer: Certificate, revoked: [RevokedCertificate], number: UInt64,
                             thisUpdate: Int64, nextUpdate: Int64) throws(CryptoError) {
        try check(X509_CRL_set_version(crl, Int(X509_CRL_VERSION_2)), "X509_CRL_set_version")
        try check(X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer.x509)), "X509_CRL_set_issuer_name")
        try setTime(thisUpdate, "thisUpdate") { X509_CRL_set1_lastUpdate(crl, $0) }
        try setTime(nextUpdate, "nextUpdate") { X509_CRL_set1_nextUpdate(crl, $0) }
        for entry in revoked {
            let item = try check(X509_REVOKED_new(), "X509_REVOKED_new")
            do throws(CryptoError) {
                let serial = try integer(entry.serial)
                defer { ASN1_INTEGER_free(serial) }
                try check(X509_REVOKED_set_serialNumber(item, serial), "X509_REVOKED_set_serialNumber")  // copies
                try setTime(entry.revokedAt, "revocationDate") { X509_REVOKED_set_revocationDate(item, $0) }
                try check(X509_CRL_add0_revoked(crl, item), "X509_CRL_add0_revoked")  // the CRL owns it now
            } catch {
                X509_REVOKED_free(item)
                throw error
            }
        }
        try check(X509_CRL_sort(crl), "X509_CRL_sort")

        let crlNumber = try check(ASN1_INTEGER_new(), "ASN1_INTEGER_new")
        defer { ASN1_INTEGER_free(crlNumber) }
        try check(ASN1_INTEGER_set_uint64(crlNumber, number), "ASN1_INTEGER_set_uint64")
        try check(X509_CRL_add1_ext_i2d(crl, NID_crl_number, UnsafeMutableRawPointer(crlNumber), 0, 0),
                  "X509_CRL_add1_ext_i2d")
        // authorityKeyIdentifier from the issuer's subjectKeyIdentifier ("keyid:always" fails when it has none).
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer.x509, nil, nil, crl, 0)
        let keyIdentifier = try check(X509V3_EXT_conf_nid(nil, &context, NID_authority_key_identifier, "keyid:always"),
                                      "X509V3_EXT_conf_nid")
        defer { X509_EXTENSION_free(keyIdentifier) }
        try check(X509_CRL_add_ext(crl, keyIdentifier, -1), "X509_CRL_add_ext")
    }

    private static func integer(_ magnitude: [UInt8]) throws(CryptoError) -> UnsafeMutablePointer<ASN1_INTEGER> {
        let number = try check(BN_bin2bn(magnitude, Int32(magnitude.count), nil), "BN_bin2bn")
        defer { BN_free(number) }
        return try check(BN_to_ASN1_INTEGER(number, nil), "BN_to_ASN1_INTEGER")
    }

    /// Sets one time field through `set`, which copies the ASN1_TIME.
    private static func setTime(_ unixTime: Int64, _ field: String,
                                _ set: (UnsafeMutablePointer<ASN1_TIME>) -> Int32) throws(CryptoError) {
        guard let time = ASN1_TIME_set(nil, time_t(unixTime)) else {
            throw CryptoError(.malformedInput, openSSLErrorText("ASN1_TIME_set (\(field))"))
        }
        defer { ASN1_TIME_free(time) }
        try check(set(time), "X509_CRL time field")
    }
}
