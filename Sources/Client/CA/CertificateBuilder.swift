// Builds and signs one X.509 v3 certificate with OpenSSL (RFC 5280 §4.1).
//
// Signature algorithm, by issuer key (CAKeyType.signatureDigest): Ed25519 (RFC 8410), ecdsa-with-SHA256 for P-256,
// ecdsa-with-SHA384 for P-384, and sha256WithRSAEncryption, i.e. RSASSA-PKCS1-v1_5, for RSA. X509_sign produces
// PKCS#1 v1.5 unless told otherwise, and it is the RSA certificate signature every verifier accepts: OpenSSL checks
// it at any security level, TLS 1.3 still allows it in certificates (RFC 8446 §4.2.3, "rsa_pkcs1_* … only in
// signatures which appear in certificates"), and Go, rustls and browsers all take it. RSASSA-PSS certificate
// signatures (RFC 4055) would also verify in OpenSSL, but need explicit parameters and are rejected by some
// verifiers; Ferry's CertificateVerify signatures with RSA keys are PSS regardless (Protocol's Signature.swift).
internal import COpenSSL

struct CertificateSpec {
    /// The subject's commonName (the only subject attribute).
    var commonName: String
    var notBefore: Int64
    var notAfter: Int64
    /// Extensions in OpenSSL's config syntax, added in this order. The values are built from validated input only.
    var extensions: [(nid: Int32, value: String)]
}

enum CertificateBuilder {
    /// Serial numbers: 16 random bytes whose first byte is forced into 0x01…0x7F, so the INTEGER is positive, never
    /// zero, and always exactly 16 octets (RFC 5280 §4.1.2.2 allows up to 20): what `openssl x509 -text` prints is then
    /// exactly `IssuedCertificate.serialHex`. About 127 random bits, far above the 64 the CA/Browser Forum asks for.
    static let serialLength = 16

    /// Builds the certificate for `subjectKey` described by `spec`, signed by `issuer` (its certificate supplies the
    /// issuer name and the authorityKeyIdentifier), or self-signed when `issuer` is nil. Returns it with its serial.
    static func build(_ spec: CertificateSpec, subjectKey: PrivateKey,
                      issuer: (certificate: X509Certificate, key: PrivateKey)?) throws(CAError) -> (X509Certificate, serial: [UInt8]) {
        let certificate = X509Certificate(owning: try requirePointer(X509_new(), "X509_new"))
        let x509 = certificate.x509
        try requireOne(X509_set_version(x509, Int(X509_VERSION_3)), "X509_set_version")

        let serial = randomSerial()
        try setSerial(serial, on: x509)

        let subject = try requirePointer(X509_get_subject_name(x509), "X509_get_subject_name")
        let commonName = Array(spec.commonName.utf8)
        try requireOne(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, commonName, Int32(commonName.count), -1, 0),
                       "X509_NAME_add_entry_by_txt(CN)")
        let issuerName = try issuer.map { (issuer) throws(CAError) in
            try requirePointer(X509_get_subject_name(issuer.certificate.x509), "X509_get_subject_name")
        } ?? subject
        try requireOne(X509_set_issuer_name(x509, issuerName), "X509_set_issuer_name")

        _ = try requirePointer(ASN1_TIME_set(X509_getm_notBefore(x509), time_t(spec.notBefore)), "ASN1_TIME_set(notBefore)")
        _ = try requirePointer(ASN1_TIME_set(X509_getm_notAfter(x509), time_t(spec.notAfter)), "ASN1_TIME_set(notAfter)")
        try requireOne(X509_set_pubkey(x509, subjectKey.pkey), "X509_set_pubkey")

        // The extension context: subject_cert supplies the public key for subjectKeyIdentifier "hash", issuer_cert the
        // keyid for authorityKeyIdentifier "keyid:always". Zero-initialised, which is what X509V3_set_ctx_nodb does.
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer?.certificate.x509 ?? x509, x509, nil, nil, 0)
        for (nid, value) in spec.extensions {
            let name = OBJ_nid2sn(nid).map { String(cString: $0) } ?? "NID \(nid)"
            let extensionObject = try requirePointer(X509V3_EXT_conf_nid(nil, &context, nid, value),
                                                     "X509V3_EXT_conf_nid(\(name)=\(value))")
            defer { X509_EXTENSION_free(extensionObject) }
            try requireOne(X509_add_ext(x509, extensionObject, -1), "X509_add_ext(\(name))")
        }

        let signingKey = issuer?.key ?? subjectKey
        try requirePositive(X509_sign(x509, signingKey.pkey, signingKey.type.signatureDigest), "X509_sign")
        return (certificate, serial)
    }

    private static func randomSerial() -> [UInt8] {
        var serial = [UInt8](repeating: 0, count: serialLength)
        // RAND_bytes fails only when the CSPRNG cannot be seeded; a predictable serial is not worth continuing with.
        guard RAND_bytes(&serial, Int32(serial.count)) == 1 else {
            preconditionFailure("RAND_bytes failed: \(openSSLFailure("RAND_bytes"))")
        }
        serial[0] = serial[0] % 0x7F + 1
        return serial
    }

    private static func setSerial(_ serial: [UInt8], on x509: OpaquePointer) throws(CAError) {
        let number = try requirePointer(BN_bin2bn(serial, Int32(serial.count), nil), "BN_bin2bn")
        defer { BN_free(number) }
        let integer = try requirePointer(BN_to_ASN1_INTEGER(number, nil), "BN_to_ASN1_INTEGER")
        defer { ASN1_INTEGER_free(integer) }
        try requireOne(X509_set_serialNumber(x509, integer), "X509_set_serialNumber")  // copies
    }
}
