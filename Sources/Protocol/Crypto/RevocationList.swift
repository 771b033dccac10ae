// X.509 certificate revocation lists (RFC 5280 §5): read from PEM or DER files for TrustStore, and signed by
// `ferry ca crl` (RevocationListBuilder.swift).
//
// A CRL only takes effect through a TrustStore, which hands it to OpenSSL's path validation
// (X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL): every certificate of the peer's chain is looked up in the CRL
// of its issuer, and the CRL's own signature is checked against that issuer there. What this type adds is reading
// the files strictly and the fields operators need in messages (issuer, thisUpdate, nextUpdate, entries).
internal import COpenSSL

public final class RevocationList: @unchecked Sendable {
    // @unchecked: the X509_CRL is never mutated after parsing (X509_STORE_add_crl takes its own reference).

    /// Bound on one CRL file, checked before OpenSSL parses it: 16 MiB holds about 400,000 entries, far beyond a
    /// private CA's list, while a mistaken path (a disk image, a log) is refused before it is read into memory.
    public static let maximumFileLength = 16 << 20

    let crl: OpaquePointer
    /// The issuer's distinguished name, RFC 2253 text ("CN=Ferry CA").
    public let issuerName: String

    init(owning crl: OpaquePointer) {
        self.crl = crl
        issuerName = Certificate.nameText(X509_CRL_get_issuer(crl))
    }

    deinit { X509_CRL_free(crl) }

    /// thisUpdate as Unix time (nil when it does not decode).
    public var thisUpdate: Int64? { Certificate.unixTime(X509_CRL_get0_lastUpdate(crl)) }

    /// nextUpdate as Unix time; nil when absent (RFC 5280 requires it, some tools omit it) or undecodable.
    public var nextUpdate: Int64? { Certificate.unixTime(X509_CRL_get0_nextUpdate(crl)) }

    /// The cRLNumber extension (RFC 5280 §5.2.3), when present and within 64 bits.
    public var number: UInt64? {
        guard let raw = X509_CRL_get_ext_d2i(crl, NID_crl_number, nil, nil) else {
            ERR_clear_error()
            return nil
        }
        let integer = raw.assumingMemoryBound(to: ASN1_INTEGER.self)
        defer { ASN1_INTEGER_free(integer) }
        var value: UInt64 = 0
        guard ASN1_INTEGER_get_uint64(&value, integer) == 1 else {
            ERR_clear_error()
            return nil
        }
        return value
    }

    /// Whether this list supersedes `other` from the same issuer: a higher cRLNumber, else a later thisUpdate.
    func isNewer(than other: RevocationList) -> Bool {
        if let mine = number, let theirs = other.number, mine != theirs { return mine > theirs }
        return (thisUpdate ?? .min) > (other.thisUpdate ?? .min)
    }

    /// The newest list of each issuer, in first-seen order of issuers. OpenSSL, given two lists of one issuer, applies
    /// the first it finds, not the newest: an old list concatenated before the new one would hide every revocation
    /// made since.
    static func newestPerIssuer(_ lists: [RevocationList]) -> [RevocationList] {
        var chosen: [RevocationList] = []
        for list in lists {
            if let index = chosen.firstIndex(where: { X509_NAME_cmp(X509_CRL_get_issuer($0.crl), X509_CRL_get_issuer(list.crl)) == 0 }) {
                if list.isNewer(than: chosen[index]) { chosen[index] = list }
            } else {
                chosen.append(list)
            }
        }
        return chosen
    }

    /// How many certificates it revokes.
    public var revokedCount: Int {
        guard let entries = X509_CRL_get_REVOKED(crl) else { return 0 }
        return Int(copenssl_sk_x509_revoked_num(entries))
    }

    /// Whether `serial` (big-endian magnitude, as `Certificate.serialNumber`) is listed.
    public func lists(serial: [UInt8]) -> Bool {
        guard let entries = X509_CRL_get_REVOKED(crl) else { return false }
        for index in 0..<copenssl_sk_x509_revoked_num(entries) {
            guard let entry = copenssl_sk_x509_revoked_value(entries, index),
                  let number = X509_REVOKED_get0_serialNumber(entry) else { continue }
            if integerMagnitude(number) == serial { return true }
        }
        return false
    }

    /// Whether `certificate` issued this list: the names match and the signature verifies under its key.
    public func isIssued(by certificate: Certificate) -> Bool {
        guard X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(certificate.x509)) == 0,
              let key = X509_get0_pubkey(certificate.x509) else { return false }
        let verified = X509_CRL_verify(crl, key) == 1
        ERR_clear_error()
        return verified
    }

    /// The list as PEM ("-----BEGIN X509 CRL-----"), as `openssl crl` and `load(_:)` read it.
    public func pem() throws(CryptoError) -> [UInt8] {
        let bio = try check(BIO_new(BIO_s_mem()), "BIO_new")
        defer { BIO_free(bio) }
        try check(PEM_write_bio_X509_CRL(bio, crl), "PEM_write_bio_X509_CRL")
        return try withMemoryBIOContents(bio) { Array($0) }
    }

    /// Every CRL in a file's bytes: one DER CRL, or one or more PEM "X509 CRL" blocks (text around them skipped, as
    /// RFC 7468 §5.2 asks). Any other PEM block, trailing bytes after a DER CRL, or no CRL at all is an error.
    public static func load(_ bytes: [UInt8]) throws(CryptoError) -> [RevocationList] {
        guard !bytes.isEmpty, bytes.count <= maximumFileLength else {
            throw CryptoError(.malformedInput, "CRL: \(bytes.count) bytes, want 1...\(maximumFileLength)")
        }
        // DER starts with a SEQUENCE tag; PEM with text. A file is one or the other, never both.
        if bytes[0] == 0x30 { return [try decodeDER(bytes[...])] }
        var lists: [RevocationList] = []
        for block in try pemBlocks(bytes, label: "X509 CRL") { lists.append(try decodeDER(block[...])) }
        guard !lists.isEmpty else { throw CryptoError(.malformedInput, "CRL: no \"X509 CRL\" PEM block") }
        return lists
    }

    private static func decodeDER(_ der: ArraySlice<UInt8>) throws(CryptoError) -> RevocationList {
        enum Outcome { case parsed(OpaquePointer), failed, trailingBytes }
        let outcome = der.withUnsafeBufferPointer { buffer -> Outcome in
            guard let start = buffer.baseAddress else { return .failed }
            var cursor: UnsafePointer<UInt8>? = start
            guard let crl = d2i_X509_CRL(nil, &cursor, buffer.count) else { return .failed }
            guard let cursor, cursor - start == buffer.count else {
                X509_CRL_free(crl)
                return .trailingBytes
            }
            return .parsed(crl)
        }
        switch outcome {
        case .parsed(let crl): return RevocationList(owning: crl)
        case .failed: throw CryptoError(.malformedInput, openSSLErrorText("d2i_X509_CRL"))
        case .trailingBytes: throw CryptoError(.malformedInput, "d2i_X509_CRL: trailing bytes after the CRL")
        }
    }
}

/// An ASN1_INTEGER's magnitude, big-endian, without leading zero bytes ([0] for zero; [] when it does not convert).
func integerMagnitude(_ integer: UnsafePointer<ASN1_INTEGER>) -> [UInt8] {
    guard let number = ASN1_INTEGER_to_BN(integer, nil) else {
        ERR_clear_error()
        return []
    }
    defer { BN_free(number) }
    let length = Int((BN_num_bits(number) + 7) / 8)
    guard length > 0 else { return [0] }
    var bytes = [UInt8](repeating: 0, count: length)
    _ = BN_bn2bin(number, &bytes)
    return bytes
}
