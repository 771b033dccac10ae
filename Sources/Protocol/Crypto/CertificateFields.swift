// Reading a parsed certificate's fields for tools: the subject commonName, the validity window, whether it is a CA, the
// serial number, the subject and issuer names, the usages, and the PEM text. The handshake needs none of them (it
// verifies through TrustStore and reports `identity`); `ferry ca` reads its CA through them, and ferryd its own chain
// when it explains what is wrong with it, so that no code outside this layer touches an X509.
internal import COpenSSL

extension Certificate {
    /// The subject's commonName by the one rule Ferry has (`Certificate.commonName(of:)`): the last CN when there are
    /// several, nil when there is none or it is not clean UTF-8 text.
    public var commonName: String? { Self.commonName(of: x509) }

    /// How many commonName attributes the subject holds (a peer's identity needs at most one: PROTOCOL.md §6.9).
    public var commonNameCount: Int {
        guard let subject = X509_get_subject_name(x509) else { return 0 }
        var count = 0
        var index: Int32 = -1
        while true {
            index = X509_NAME_get_index_by_NID(subject, NID_commonName, index)
            guard index >= 0 else { return count }
            count += 1
        }
    }

    /// The DNS names and IP addresses it is valid for ("DNS:files.example.com", "IP:127.0.0.1"), in order.
    public var subjectAltNames: [String] { Self.subjectAltNames(of: x509) }

    /// notBefore as Unix time; nil when the field does not decode.
    public var notBefore: Int64? { Self.unixTime(X509_get0_notBefore(x509)) }

    /// notAfter as Unix time; nil when the field does not decode.
    public var notAfter: Int64? { Self.unixTime(X509_get0_notAfter(x509)) }

    /// Whether this is a CA certificate: basicConstraints CA:TRUE (or a v1 self-signed root), as X509_check_ca says.
    public var isCertificateAuthority: Bool { X509_check_ca(x509) >= 1 }

    /// The serial number's magnitude, big-endian, without leading zero bytes ([0] for zero).
    public var serialNumber: [UInt8] {
        guard let serial = X509_get0_serialNumber(x509) else { return [] }
        return integerMagnitude(serial)
    }

    /// The subject name in the one-line form of RFC 2253 ("CN=files.example.com,O=Example"), for messages and labels.
    public var subjectName: String { Self.nameText(X509_get_subject_name(x509)) }

    /// The issuer name, in the same form as `subjectName`.
    public var issuerName: String { Self.nameText(X509_get_issuer_name(x509)) }

    /// Whether subject and issuer are the same name: a root CA, or a self-signed leaf. A chain that ends in a
    /// certificate that is not self-issued needs its issuer from somewhere else (an intermediate, or the CA bundle).
    public var isSelfIssued: Bool {
        X509_NAME_cmp(X509_get_subject_name(x509), X509_get_issuer_name(x509)) == 0
    }

    /// The purposes its extendedKeyUsage extension allows among those Ferry knows; nil when it has no such extension
    /// (no restriction, RFC 5280 §4.2.1.12). An extension with only other purposes gives [].
    public var extendedKeyUsage: [CertificatePurpose]? {
        guard X509_get_extension_flags(x509) & UInt32(EXFLAG_XKUSAGE) != 0 else { return nil }
        let usage = X509_get_extended_key_usage(x509)
        return [(UInt32(XKU_SSL_SERVER), CertificatePurpose.serverAuth), (UInt32(XKU_SSL_CLIENT), .clientAuth)]
            .filter { usage & $0.0 != 0 }.map(\.1)
    }

    /// Whether its keyUsage extension allows digitalSignature (what a CertificateVerify needs); nil when it has no
    /// keyUsage extension (no restriction).
    public var keyUsageAllowsDigitalSignature: Bool? {
        guard X509_get_extension_flags(x509) & UInt32(EXFLAG_KUSAGE) != 0 else { return nil }
        return X509_get_key_usage(x509) & UInt32(KU_DIGITAL_SIGNATURE) != 0
    }

    /// The certificate as PEM ("-----BEGIN CERTIFICATE-----"), as `chain(fromPEM:)` and `openssl` read it.
    public func pem() throws(CryptoError) -> [UInt8] {
        let bio = try check(BIO_new(BIO_s_mem()), "BIO_new")
        defer { BIO_free(bio) }
        try check(PEM_write_bio_X509(bio, x509), "PEM_write_bio_X509")
        return try withMemoryBIOContents(bio) { Array($0) }
    }

    static func nameText(_ name: OpaquePointer?) -> String {
        guard let name, let bio = BIO_new(BIO_s_mem()) else {
            _ = openSSLErrorText("BIO_new")
            return "(no name)"
        }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, name, 0, copenssl_xn_flag_rfc2253()) >= 0,
              let text = try? withMemoryBIOContents(bio, { String(decoding: $0, as: UTF8.self) }) else {
            _ = openSSLErrorText("X509_NAME_print_ex")
            return "(unprintable name)"
        }
        return text.isEmpty ? "(empty name)" : text
    }

    /// The time as seconds since 1970-01-01 UTC. ASN1_TIME_to_tm fills a broken-down UTC time; the conversion is done
    /// here rather than with timegm(3), so that this layer imports no libc time functions.
    static func unixTime(_ time: UnsafePointer<ASN1_TIME>?) -> Int64? {
        guard let time else { return nil }
        var fields = tm()
        guard ASN1_TIME_to_tm(time, &fields) == 1 else {
            ERR_clear_error()
            return nil
        }
        let days = daysSinceEpoch(year: Int64(fields.tm_year) + 1900, month: Int64(fields.tm_mon) + 1,
                                  day: Int64(fields.tm_mday))
        return days * 86_400 + Int64(fields.tm_hour) * 3600 + Int64(fields.tm_min) * 60 + Int64(fields.tm_sec)
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
    static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
