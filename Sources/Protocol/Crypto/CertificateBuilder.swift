// Builds and signs one X.509 v3 certificate (RFC 5280 §4.1) with OpenSSL: what `ferry ca` issues.
//
// Why OpenSSL here rather than apple/swift-certificates (weighed at 1.21.1 for issue #14): it can issue everything
// `ferry ca` does (Ed25519, P-256, P-384, RSA-3072 keys; the same extensions; all 16 CA × leaf pairs passed
// `openssl verify -x509_strict`), and it would spare these ~150 lines of C calls. But the unsafe-pointer code had to
// leave the client, not Ferry: here it sits beside the OpenSSL code that parses and verifies the same certificates,
// and the one crypto layer stays one. swift-certificates would add a second X.509 and key stack (BoringSSL, through
// swift-crypto's underscored `_CryptoExtras` for RSA) beside it, and it costs: on this 2-core machine a clean debug
// build took 90 s longer (+36 % on Ferry's 251 s) and a release build 139 s longer, and a probe binary grew by 3.5 MB
// stripped (2.5 → 6.0 MB). It also hands private keys back as Swift Strings (pemRepresentation), which cannot be
// wiped; here PKCS#8 goes from a secure-memory BIO straight into SecretBytes.
//
// Signature algorithm, by the issuer's key: Ed25519 (RFC 8410), ecdsa-with-SHA256 for P-256, ecdsa-with-SHA384 for
// P-384 (the hash that matches the curve's strength, RFC 5480 §4), and sha256WithRSAEncryption, i.e. RSASSA-PKCS1-v1_5,
// for RSA. X509_sign produces PKCS#1 v1.5 unless told otherwise, and it is the RSA certificate signature every verifier
// accepts: OpenSSL checks it at any security level, TLS 1.3 still allows it in certificates (RFC 8446 §4.2.3,
// "rsa_pkcs1_* … only in signatures which appear in certificates"), and Go, rustls and browsers all take it.
// RSASSA-PSS certificate signatures (RFC 4055) would also verify in OpenSSL, but need explicit parameters and are
// rejected by some verifiers; Ferry's CertificateVerify signatures with RSA keys are PSS regardless (Signature.swift).
//
// Extensions are written with the criticality RFC 5280 asks for, so callers cannot get it wrong: basicConstraints and
// keyUsage critical (§4.2.1.9, §4.2.1.3), extendedKeyUsage, subjectAltName and the key identifiers not (§4.2.1.12,
// §4.2.1.6 with a non-empty subject, §4.2.1.1–2 "MUST NOT be critical"). The subject is one commonName.
internal import COpenSSL

/// What goes into a certificate besides the keys: built by the caller, checked and encoded by `CertificateBuilder`.
public struct CertificateTemplate: Hashable, Sendable {
    /// The subject's only attribute. 1–64 characters (ub-common-name), no control characters: a CN that
    /// `Certificate.commonName` would read as absent is refused rather than written.
    public var commonName: String
    /// The validity window, Unix time (UTC seconds).
    public var notBefore: Int64
    public var notAfter: Int64
    /// Written in this order; each kind at most once.
    public var extensions: [CertificateExtension]

    public init(commonName: String, notBefore: Int64, notAfter: Int64, extensions: [CertificateExtension]) {
        self.commonName = commonName
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.extensions = extensions
    }
}

public enum CertificateExtension: Hashable, Sendable {
    /// Critical. CA:TRUE without a path length, or CA:FALSE.
    case basicConstraints(isCA: Bool)
    /// Critical.
    case keyUsage([KeyUsage])
    /// id-kp-serverAuth and / or id-kp-clientAuth.
    case extendedKeyUsage([CertificatePurpose])
    case subjectAltName([GeneralName])
    /// The SHA-1 of the subject's public key (RFC 5280 §4.2.1.2, method 1).
    case subjectKeyIdentifier
    /// The issuer's subjectKeyIdentifier (the subject's own when self-signed); the issuer must have one.
    case authorityKeyIdentifier

    /// The OpenSSL extension config text: made of fixed words only, never of caller-supplied text (the subjectAltName
    /// is built as GENERAL_NAMES instead, and has none).
    fileprivate var configuration: (nid: Int32, value: String)? {
        switch self {
        case .basicConstraints(let isCA): (NID_basic_constraints, isCA ? "critical,CA:TRUE" : "critical,CA:FALSE")
        case .keyUsage(let usages): (NID_key_usage, (["critical"] + usages.map(\.configurationName)).joined(separator: ","))
        case .extendedKeyUsage(let purposes): (NID_ext_key_usage, purposes.map(\.configurationName).joined(separator: ","))
        case .subjectKeyIdentifier: (NID_subject_key_identifier, "hash")
        case .authorityKeyIdentifier: (NID_authority_key_identifier, "keyid:always")
        case .subjectAltName: nil
        }
    }

    fileprivate var isEmptyList: Bool {
        switch self {
        case .keyUsage(let usages): usages.isEmpty
        case .extendedKeyUsage(let purposes): purposes.isEmpty
        case .subjectAltName(let names): names.isEmpty
        case .basicConstraints, .subjectKeyIdentifier, .authorityKeyIdentifier: false
        }
    }

    fileprivate var kind: Int {
        switch self {
        case .basicConstraints: 0
        case .keyUsage: 1
        case .extendedKeyUsage: 2
        case .subjectAltName: 3
        case .subjectKeyIdentifier: 4
        case .authorityKeyIdentifier: 5
        }
    }
}

/// The keyUsage bits Ferry's profiles use (RFC 5280 §4.2.1.3).
public enum KeyUsage: Hashable, Sendable {
    case digitalSignature, keyCertSign, cRLSign

    fileprivate var configurationName: String {
        switch self {
        case .digitalSignature: "digitalSignature"
        case .keyCertSign: "keyCertSign"
        case .cRLSign: "cRLSign"
        }
    }
}

extension CertificatePurpose {
    fileprivate var configurationName: String {
        switch self {
        case .serverAuth: "serverAuth"
        case .clientAuth: "clientAuth"
        }
    }
}

/// A subjectAltName entry (RFC 5280 §4.2.1.6).
public enum GeneralName: Hashable, Sendable {
    /// An IA5String: printable ASCII, no spaces. The host-name syntax itself is the caller's to check.
    case dnsName(String)
    /// 4 bytes (IPv4) or 16 (IPv6), network order.
    case ipAddress([UInt8])
}

public enum CertificateBuilder {
    /// Serial numbers: 16 random bytes whose first byte is forced into 0x01…0x7F, so the INTEGER is positive, never
    /// zero, and always exactly 16 octets (RFC 5280 §4.1.2.2 allows up to 20). About 127 random bits, far above the 64
    /// the CA/Browser Forum asks for.
    public static let serialNumberLength = 16

    /// Builds the certificate for `subjectKey` described by `template`, signed by `issuer` (its certificate supplies
    /// the issuer name and the authorityKeyIdentifier), or self-signed when `issuer` is nil. Before returning, checks
    /// that the signature verifies under the issuer's public key. Throws `.malformedInput` for a template it refuses
    /// (bad commonName, window or subjectAltName, an extension twice), `.unsupportedKey` for a signing key Ferry does
    /// not sign with, `.library` when OpenSSL fails.
    public static func build(_ template: CertificateTemplate, subjectKey: SigningKey,
                             issuer: (certificate: Certificate, key: SigningKey)?) throws(CryptoError) -> Certificate {
        try validate(template)
        let signingKey = issuer?.key ?? subjectKey
        guard let signingAlgorithm = signingKey.algorithm else {
            throw CryptoError(.unsupportedKey, "the signing key is not one Ferry signs with")
        }
        let x509 = try check(X509_new(), "X509_new")
        do throws(CryptoError) {
            try fill(x509, template, subjectKey: subjectKey, issuer: issuer?.certificate)
            let digest: OpaquePointer? = switch signingAlgorithm {
            case .ed25519: nil  // PureEdDSA hashes internally: X509_sign takes md = NULL
            case .ecdsaP384: HashFunction.sha384.evpMD
            case .ecdsaP256, .rsa: HashFunction.sha256.evpMD
            }
            try checkPositive(X509_sign(x509, signingKey.pkey, digest), "X509_sign")
            // A cheap self-check before anyone writes the result: the signature verifies under the issuer's key.
            let issuerKey = try check(X509_get0_pubkey(issuer?.certificate.x509 ?? x509), "X509_get0_pubkey")
            try checkPositive(X509_verify(x509, issuerKey), "X509_verify")
        } catch {
            X509_free(x509)
            throw error
        }
        return try Certificate(owning: x509)
    }

    private static func validate(_ template: CertificateTemplate) throws(CryptoError) {
        let name = template.commonName
        guard (1...64).contains(name.unicodeScalars.count),
              !name.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            throw CryptoError(.malformedInput, "commonName: 1–64 characters without control characters")
        }
        guard template.notBefore < template.notAfter else {
            throw CryptoError(.malformedInput, "validity: notBefore is not before notAfter")
        }
        guard Set(template.extensions.map(\.kind)).count == template.extensions.count else {
            throw CryptoError(.malformedInput, "an extension is listed twice")
        }
        guard !template.extensions.contains(where: \.isEmptyList) else {
            throw CryptoError(.malformedInput, "an extension with an empty list")
        }
    }

    /// Everything but the signature.
    private static func fill(_ x509: OpaquePointer, _ template: CertificateTemplate, subjectKey: SigningKey,
                             issuer: Certificate?) throws(CryptoError) {
        try check(X509_set_version(x509, Int(X509_VERSION_3)), "X509_set_version")
        try setSerialNumber(on: x509)

        let subject = try check(X509_get_subject_name(x509), "X509_get_subject_name")
        let commonName = Array(template.commonName.utf8)
        try check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, commonName, Int32(commonName.count), -1, 0),
                  "X509_NAME_add_entry_by_txt", .malformedInput)
        let issuerName = try issuer.map { (issuer) throws(CryptoError) in
            try check(X509_get_subject_name(issuer.x509), "X509_get_subject_name")
        } ?? subject
        try check(X509_set_issuer_name(x509, issuerName), "X509_set_issuer_name")

        _ = try check(ASN1_TIME_set(X509_getm_notBefore(x509), time_t(template.notBefore)), "ASN1_TIME_set",
                      .malformedInput)
        _ = try check(ASN1_TIME_set(X509_getm_notAfter(x509), time_t(template.notAfter)), "ASN1_TIME_set",
                      .malformedInput)
        try check(X509_set_pubkey(x509, subjectKey.pkey), "X509_set_pubkey")

        // The extension context: subject_cert supplies the public key for subjectKeyIdentifier "hash", issuer_cert the
        // keyid for authorityKeyIdentifier "keyid:always". Zero-initialised, which is what X509V3_set_ctx_nodb does.
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer?.x509 ?? x509, x509, nil, nil, 0)
        for item in template.extensions {
            if case .subjectAltName(let names) = item {
                try addSubjectAltName(names, to: x509)
                continue
            }
            guard let (nid, value) = item.configuration else { continue }
            let object = try check(X509V3_EXT_conf_nid(nil, &context, nid, value), "X509V3_EXT_conf_nid")
            defer { X509_EXTENSION_free(object) }
            try check(X509_add_ext(x509, object, -1), "X509_add_ext")
        }
    }

    private static func setSerialNumber(on x509: OpaquePointer) throws(CryptoError) {
        var serial = randomBytes(serialNumberLength)
        serial[0] = serial[0] % 0x7F + 1
        let number = try check(BN_bin2bn(serial, Int32(serial.count), nil), "BN_bin2bn")
        defer { BN_free(number) }
        let integer = try check(BN_to_ASN1_INTEGER(number, nil), "BN_to_ASN1_INTEGER")
        defer { ASN1_INTEGER_free(integer) }
        try check(X509_set_serialNumber(x509, integer), "X509_set_serialNumber")  // copies
    }

    /// Built as GENERAL_NAMES, not through the extension config syntax, so no entry's text can turn into a second
    /// entry or another GeneralName type.
    private static func addSubjectAltName(_ names: [GeneralName], to x509: OpaquePointer) throws(CryptoError) {
        let stack = try check(GENERAL_NAMES_new(), "GENERAL_NAMES_new")
        defer { copenssl_general_names_free(stack) }  // frees every entry pushed
        for name in names {
            let entry = try check(GENERAL_NAME_new(), "GENERAL_NAME_new")
            let (type, bytes, value): (Int32, [UInt8], UnsafeMutablePointer<ASN1_STRING>?)
            switch name {
            case .dnsName(let text):
                guard !text.isEmpty, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                    GENERAL_NAME_free(entry)
                    throw CryptoError(.malformedInput, "subjectAltName: a DNS name must be printable ASCII without spaces")
                }
                (type, bytes, value) = (GEN_DNS, Array(text.utf8), ASN1_IA5STRING_new())
            case .ipAddress(let address):
                guard address.count == 4 || address.count == 16 else {
                    GENERAL_NAME_free(entry)
                    throw CryptoError(.malformedInput, "subjectAltName: an IP address is 4 or 16 bytes")
                }
                (type, bytes, value) = (GEN_IPADD, address, ASN1_OCTET_STRING_new())
            }
            guard let value, ASN1_STRING_set(value, bytes, Int32(bytes.count)) == 1 else {
                ASN1_STRING_free(value)
                GENERAL_NAME_free(entry)
                throw CryptoError(.library, openSSLErrorText("ASN1_STRING_set"))
            }
            GENERAL_NAME_set0_value(entry, type, UnsafeMutableRawPointer(value))  // the entry owns the value now
            guard copenssl_sk_general_name_push(stack, entry) > 0 else {
                GENERAL_NAME_free(entry)
                throw CryptoError(.library, openSSLErrorText("sk_GENERAL_NAME_push"))
            }
        }
        try check(X509_add1_ext_i2d(x509, NID_subject_alt_name, UnsafeMutableRawPointer(stack), 0, UInt(X509V3_ADD_APPEND)),
                  "X509_add1_ext_i2d")
    }
}
