// X.509 certificates (OpenSSL X509): parsing and the identity rules. Verification is TrustStore.swift, its errors
// CertificateVerificationError.swift.
//
// Ferry uses certificates the way TLS does (RFC 8446 §4.4.2): each peer sends its leaf first, then the intermediates
// that lead to one of the other side's configured CAs, and the receiver builds and checks the path with OpenSSL.
internal import COpenSSL

// MARK: - Certificate

public final class Certificate: @unchecked Sendable, Equatable {
    // @unchecked: the X509 is never mutated after parsing.

    /// Bound on one DER certificate, checked before OpenSSL parses it. Real certificates are 0.4–2 KiB; 64 KiB leaves
    /// room for long SAN lists without letting a peer make us decode megabytes. (Wire limits may be tighter.)
    static let maximumDERLength = 64 * 1024

    /// The parsed certificate. This object owns one reference, released in deinit.
    let x509: OpaquePointer
    private let encoded: [UInt8]
    private let cachedIdentity: String?

    /// Takes ownership of `x509` (also when it throws: the reference is then freed).
    init(owning x509: OpaquePointer) throws(CryptoError) {
        // A certificate whose key OpenSSL cannot decode is useless to Ferry (no CertificateVerify can be checked), and
        // refusing it here lets `publicKey` be non-throwing.
        guard X509_get0_pubkey(x509) != nil else {
            X509_free(x509)
            throw CryptoError(.malformedInput, openSSLErrorText("X509_get0_pubkey: undecodable public key"))
        }
        let length = i2d_X509(x509, nil)
        guard length > 0 else {
            X509_free(x509)
            throw CryptoError(.malformedInput, openSSLErrorText("i2d_X509"))
        }
        var written: Int32 = 0
        let encoded = [UInt8](unsafeUninitializedCapacity: Int(length)) { buffer, count in
            var cursor = buffer.baseAddress
            written = i2d_X509(x509, &cursor)
            count = written == length ? Int(length) : 0
        }
        guard written == length else {
            X509_free(x509)
            throw CryptoError(.library, openSSLErrorText("i2d_X509"))
        }
        self.x509 = x509
        self.encoded = encoded
        self.cachedIdentity = Self.commonName(of: x509) ?? Self.firstSubjectAltName(of: x509)
    }

    deinit { X509_free(x509) }

    /// The same certificate: the same DER bytes.
    public static func == (lhs: Certificate, rhs: Certificate) -> Bool { lhs.encoded == rhs.encoded }

    /// Every certificate in a PEM file, in order (leaf first for a chain file). Throws on none or a malformed one.
    ///
    /// Text outside the blocks is skipped, as RFC 7468 §5.2 asks (`openssl x509 -text` writes such text). Departure
    /// from a plain PEM_read_bio_X509 loop: blocks are read with PEM_read_bio so that every block must be exactly one
    /// DER certificate (the same no-trailing-bytes rule as `init(der:)`), and any other block type (a private key
    /// pasted into a CA bundle, a "TRUSTED CERTIFICATE") is an error instead of being skipped silently.
    public static func chain(fromPEM pem: [UInt8]) throws(CryptoError) -> [Certificate] {
        guard !pem.isEmpty, pem.count <= Int(Int32.max) else {
            throw CryptoError(.malformedInput, "PEM: empty or oversized input")
        }
        var certificates: [Certificate] = []
        for block in try pemBlocks(pem, label: "CERTIFICATE") { certificates.append(try Certificate(der: block)) }
        guard !certificates.isEmpty else { throw CryptoError(.malformedInput, "PEM: no CERTIFICATE block") }
        return certificates
    }

    /// Parses exactly one DER certificate; trailing bytes are an error.
    convenience init(der: [UInt8]) throws(CryptoError) {
        guard !der.isEmpty, der.count <= Self.maximumDERLength else {
            throw CryptoError(.malformedInput, "certificate: \(der.count) bytes, want 1...\(Self.maximumDERLength)")
        }
        enum Outcome { case parsed(OpaquePointer), failed, trailingBytes }
        let outcome = der.withUnsafeBufferPointer { buffer -> Outcome in
            guard let start = buffer.baseAddress else { return .failed }
            var cursor: UnsafePointer<UInt8>? = start
            guard let x509 = d2i_X509(nil, &cursor, buffer.count) else { return .failed }
            guard let cursor, cursor - start == buffer.count else {
                X509_free(x509)
                return .trailingBytes
            }
            return .parsed(x509)
        }
        switch outcome {
        case .parsed(let x509):
            try self.init(owning: x509)
        case .failed:
            throw CryptoError(.malformedInput, openSSLErrorText("d2i_X509"))
        case .trailingBytes:
            throw CryptoError(.malformedInput, "d2i_X509: trailing bytes after the certificate")
        }
    }

    /// The DER encoding, as sent on the wire.
    public var der: [UInt8] { encoded }

    /// The SHA-256 of the DER encoding: the certificate's fingerprint, as `openssl x509 -fingerprint -sha256` prints.
    public var fingerprint: [UInt8] { DigestContext.hash(.sha256, encoded) }

    /// The subject's public key.
    var publicKey: PublicKey {
        // init checked that the key decodes, so NULL here would be a broken invariant, not bad input.
        guard let key = X509_get_pubkey(x509) else { preconditionFailure("X509_get_pubkey failed after init checked it") }
        return PublicKey(owning: key)
    }

    /// The identity Ferry reports: the subject CN, else the first subjectAltName (DNS name, else IP address text).
    public var identity: String? { cachedIdentity }

    /// Whether `key` is the private half of this certificate's public key (X509_check_private_key).
    public func matches(_ key: SigningKey) -> Bool {
        let matched = X509_check_private_key(x509, key.pkey) == 1
        if !matched { _ = openSSLErrorText("X509_check_private_key") }  // drain "key values mismatch"
        return matched
    }
}

// MARK: - Identity (subject CN and subjectAltName)

extension Certificate {
    /// The subject's commonName: the one reader of it in Ferry, for the peer identity (`identity`, docs/PROTOCOL.md
    /// §6.9 item 9) and for `ferry ca` (`Certificate.commonName`).
    ///
    /// When the subject holds several CNs this reads the LAST one (an X.501 name runs from the most general RDN to the
    /// most specific; RFC 2818 §3.1 takes "the (most specific) Common Name"), for `ferry ca`'s own messages; a peer
    /// with several CNs has no identity at all (PeerAuthentication.identity refuses it). A CN that is not valid UTF-8
    /// or holds control characters (NUL, newline: log and comparison tricks) counts as absent; no earlier CN is taken in
    /// its place.
    static func commonName(of x509: OpaquePointer) -> String? {
        guard let subject = X509_get_subject_name(x509) else { return nil }
        var index: Int32 = -1
        var last: OpaquePointer?
        while true {
            index = X509_NAME_get_index_by_NID(subject, NID_commonName, index)
            guard index >= 0 else { break }
            if let entry = X509_NAME_get_entry(subject, index) { last = entry }
        }
        guard let last, let value = X509_NAME_ENTRY_get_data(last) else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, value)
        guard length > 0, let utf8 else {
            ERR_clear_error()
            return nil
        }
        defer { copenssl_free(utf8) }
        return identityText(UnsafeBufferPointer(start: utf8, count: Int(length)))
    }

    /// Every DNS name and IP address of the subjectAltName extension, as "DNS:name" and "IP:address", in order (for
    /// messages: what a certificate is valid for).
    static func subjectAltNames(of x509: OpaquePointer) -> [String] {
        var critical: Int32 = 0
        guard let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, &critical, nil) else {
            ERR_clear_error()
            return []
        }
        let names = OpaquePointer(raw)
        defer { copenssl_general_names_free(names) }
        var found: [String] = []
        for i in 0..<copenssl_sk_general_name_num(names) {
            guard let name = copenssl_sk_general_name_value(names, i) else { continue }
            switch name.pointee.type {
            case GEN_DNS:
                if let value = name.pointee.d.dNSName, let text = asn1Text(value) { found.append("DNS:" + text) }
            case GEN_IPADD:
                if let value = name.pointee.d.iPAddress, let bytes = asn1Bytes(value), let text = ipAddressText(bytes) {
                    found.append("IP:" + text)
                }
            default:
                continue
            }
        }
        return found
    }

    /// The first DNS name of the subjectAltName extension, else its first IP address as text.
    static func firstSubjectAltName(of x509: OpaquePointer) -> String? {
        var critical: Int32 = 0
        guard let raw = X509_get_ext_d2i(x509, NID_subject_alt_name, &critical, nil) else {
            ERR_clear_error()  // absent, duplicated or undecodable: no SAN identity
            return nil
        }
        let names = OpaquePointer(raw)
        defer { copenssl_general_names_free(names) }
        var firstIP: String?
        for i in 0..<copenssl_sk_general_name_num(names) {
            guard let name = copenssl_sk_general_name_value(names, i) else { continue }
            switch name.pointee.type {
            case GEN_DNS:
                if let value = name.pointee.d.dNSName, let text = asn1Text(value) { return text }
            case GEN_IPADD:
                if firstIP == nil, let value = name.pointee.d.iPAddress, let bytes = asn1Bytes(value) {
                    firstIP = ipAddressText(bytes)
                }
            default:
                continue
            }
        }
        return firstIP
    }

    private static func asn1Bytes(_ string: UnsafeMutablePointer<ASN1_STRING>) -> [UInt8]? {
        let length = ASN1_STRING_length(string)
        guard length >= 0, let data = ASN1_STRING_get0_data(string) else { return nil }
        return Array(UnsafeBufferPointer(start: data, count: Int(length)))
    }

    private static func asn1Text(_ string: UnsafeMutablePointer<ASN1_STRING>) -> String? {
        guard let bytes = asn1Bytes(string) else { return nil }
        return bytes.withUnsafeBufferPointer { identityText($0) }
    }

    /// Non-empty UTF-8 without control characters, or nil.
    static func identityText(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard !bytes.isEmpty, !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// An IP address SAN (4 or 16 bytes) as text: dotted quad, or IPv6 in the canonical form of RFC 5952 §4 (lowercase
    /// hex, no leading zeros, the longest run of two or more zero groups shortened to "::", the first on a tie) and
    /// §5 (IPv4-mapped addresses as ::ffff:a.b.c.d). Other lengths (name-constraint masks) give nil.
    static func ipAddressText(_ bytes: [UInt8]) -> String? {
        func dotted(_ quad: ArraySlice<UInt8>) -> String { quad.map { String($0) }.joined(separator: ".") }
        switch bytes.count {
        case 4:
            return dotted(bytes[...])
        case 16:
            let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
            if groups[0..<5].allSatisfy({ $0 == 0 }) && groups[5] == 0xFFFF {
                return "::ffff:" + dotted(bytes[12...])
            }
            var bestStart = -1
            var bestLength = 1  // a single zero group is not shortened (§4.2.2)
            var i = 0
            while i < 8 {
                guard groups[i] == 0 else {
                    i += 1
                    continue
                }
                var end = i
                while end < 8 && groups[end] == 0 { end += 1 }
                if end - i > bestLength {
                    bestStart = i
                    bestLength = end - i
                }
                i = end
            }
            let hex = { (group: UInt16) in String(group, radix: 16) }
            guard bestStart >= 0 else { return groups.map(hex).joined(separator: ":") }
            return groups[..<bestStart].map(hex).joined(separator: ":") + "::"
                + groups[(bestStart + bestLength)...].map(hex).joined(separator: ":")
        default:
            return nil
        }
    }
}
