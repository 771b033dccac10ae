// Reading a parsed certificate's fields for tools: the subject commonName, the validity window, whether it is a CA, the
// serial number, and the PEM text. The handshake needs none of them (it verifies through TrustStore and reports
// `identity`); `ferry ca` reads its CA through them, so that no code outside this layer touches an X509.
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

    /// The subject's distinguished name as RFC 2253 text ("CN=Ferry CA"), for messages.
    public var subjectName: String { distinguishedNameText(X509_get_subject_name(x509)) }

    /// The issuer's distinguished name as RFC 2253 text.
    public var issuerName: String { distinguishedNameText(X509_get_issuer_name(x509)) }

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

    /// The certificate as PEM ("-----BEGIN CERTIFICATE-----"), as `chain(fromPEM:)` and `openssl` read it.
    public func pem() throws(CryptoError) -> [UInt8] {
        let bio = try check(BIO_new(BIO_s_mem()), "BIO_new")
        defer { BIO_free(bio) }
        try check(PEM_write_bio_X509(bio, x509), "PEM_write_bio_X509")
        return try withMemoryBIOContents(bio) { Array($0) }
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
