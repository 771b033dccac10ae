// X.509 certificates (OpenSSL X509) and chain verification against a CA bundle (X509_STORE).
//
// Ferry uses certificates the way TLS does (RFC 8446 §4.4.2): each peer sends its leaf first, then the intermediates
// that lead to one of the other side's configured CAs, and the receiver builds and checks the path with OpenSSL. The
// protocol core never reads a clock: the caller passes the verification time in (STYLE.md: Protocol does no I/O).
//
// This file is longer than the 300-line habit (STYLE.md): the parser, the identity rules, the error mapping and the
// trust store share their C types and helpers, so they stay together, one MARK section each.
internal import COpenSSL
internal import Synchronization

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

// MARK: - Verification errors

/// What a certificate is checked for: the extended key usage and purpose (X509_PURPOSE_SSL_SERVER / _CLIENT).
///
/// A certificate without an extendedKeyUsage extension is acceptable for either purpose: RFC 5280 §4.2.1.12 leaves an
/// absent EKU unrestricted, and OpenSSL's SSL purposes reject only an EKU (or keyUsage) that is present and lacks the
/// purpose. So a leaf made by plain `openssl x509 -req` with just a SAN works as a server and as a client.
public enum CertificatePurpose: Sendable {
    case serverAuth, clientAuth
}

/// What a CRL past its nextUpdate means (`[identity] crl_stale`, `ferry --crl-stale`).
public enum StaleRevocationListPolicy: String, Sendable, CaseIterable {
    /// Still in force: it revokes what it lists (a certificate revoked since it was made is not known).
    case accept
    /// As if there were none: every certificate it would cover is refused until a current CRL is installed.
    case refuse
}

/// Why a peer's chain was rejected. Distinct kinds so that operators (and tests) can tell the cases apart.
public struct CertificateVerificationError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case noCertificate
        case chainTooLong
        case malformed
        case untrustedIssuer       // no path to a configured CA
        case selfSigned            // a self-signed leaf that is not itself a configured CA
        case expired
        case notYetValid
        case wrongPurpose          // extended key usage / key usage do not allow serverAuth / clientAuth
        case nameMismatch          // server name or IP not in the SAN
        case badSignature          // a signature in the chain does not verify
        case weakKey               // RSA < 2048 bits, or a key type Ferry does not sign with
        case revoked               // listed in its issuer's CRL
        case revocationUnknown     // CRLs are configured, but none current and valid covers this certificate
        case untrustedIntermediate // the path passes through a CA the verifier did not permit as an intermediate
        case notEndEntity          // a client's leaf that is itself a CA (basicConstraints CA:TRUE)
        case other                 // any other X509_V_ERR_*, see detail
    }

    public let kind: Kind
    public let detail: String

    public init(_ kind: Kind, _ detail: String = "") {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { detail.isEmpty ? "\(kind)" : "\(kind): \(detail)" }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.kind == rhs.kind }
}

extension CertificateVerificationError {
    /// Maps X509_STORE_CTX_get_error to a kind; the detail keeps OpenSSL's text, the code and the depth (0 = leaf).
    @inline(never)
    static func fromVerifyResult(_ code: Int32, depth: Int32) -> Self {
        let text = X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "unknown"
        let detail = "\(text) (X509_V_ERR \(code) at depth \(depth))"
        let kind: Kind
        switch code {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            kind = .expired
        case X509_V_ERR_CERT_NOT_YET_VALID:
            kind = .notYetValid
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
            X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, X509_V_ERR_CERT_UNTRUSTED, X509_V_ERR_CERT_REJECTED:
            kind = .untrustedIssuer
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            kind = .selfSigned
        case X509_V_ERR_INVALID_PURPOSE, X509_V_ERR_KEYUSAGE_NO_CERTSIGN, X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
            kind = .wrongPurpose
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH, X509_V_ERR_EMAIL_MISMATCH:
            kind = .nameMismatch
        case X509_V_ERR_CERT_SIGNATURE_FAILURE, X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE,
            X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY, X509_V_ERR_NO_ISSUER_PUBLIC_KEY,
            X509_V_ERR_UNSUPPORTED_SIGNATURE_ALGORITHM, X509_V_ERR_SIGNATURE_ALGORITHM_MISMATCH,
            X509_V_ERR_SIGNATURE_ALGORITHM_INCONSISTENCY:
            kind = .badSignature
        case X509_V_ERR_CERT_REVOKED:
            kind = .revoked
        case X509_V_ERR_UNABLE_TO_GET_CRL, X509_V_ERR_CRL_HAS_EXPIRED, X509_V_ERR_CRL_NOT_YET_VALID,
            X509_V_ERR_CRL_SIGNATURE_FAILURE, X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE, X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER,
            X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD, X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD,
            X509_V_ERR_KEYUSAGE_NO_CRL_SIGN, X509_V_ERR_DIFFERENT_CRL_SCOPE, X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
            kind = .revocationUnknown
        case X509_V_ERR_CERT_CHAIN_TOO_LONG:
            kind = .chainTooLong
        case X509_V_ERR_EE_KEY_TOO_SMALL, X509_V_ERR_CA_KEY_TOO_SMALL:
            kind = .weakKey
        case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD,
            X509_V_ERR_INVALID_EXTENSION:
            kind = .malformed
        default:
            kind = .other  // e.g. INVALID_CA, PATH_LENGTH_EXCEEDED, CA_MD_TOO_WEAK (SHA-1), UNHANDLED_CRITICAL_EXTENSION
        }
        return Self(kind, detail)
    }
}

// MARK: - Trust store

/// The configured CA bundle.
public final class TrustStore: @unchecked Sendable {
    // @unchecked: the X509_STORE is filled in init and only read afterwards (OpenSSL allows concurrent verification).

    /// The most certificates a peer may send: the leaf and up to three intermediates (more → `.chainTooLong`, before
    /// OpenSSL sees any). The same bound caps the built path: at most `maximumChainLength - 1` intermediates between
    /// leaf and anchor (X509_VERIFY_PARAM_set_depth counts neither the leaf nor the anchor).
    static let maximumChainLength = 4

    /// OpenSSL authentication security level 2 (112-bit): RSA and DSA keys of at least 2048 bits anywhere in the path,
    /// and no SHA-1 (or weaker) signatures on certificates other than the anchor's own. The leaf check after path
    /// building (`PublicKey.schemes`) further limits the leaf to the key types Ferry verifies signatures with.
    static let authenticationSecurityLevel: Int32 = 2

    private let store: OpaquePointer
    /// Whether CRLs were configured: then every certificate of a chain must be covered by its issuer's CRL.
    private let checksRevocation: Bool
    private let staleRevocationLists: StaleRevocationListPolicy
    /// The only certificates a path may pass through between the leaf and its anchor (DER), nil for any CA.
    private let permittedIntermediates: Set<[UInt8]>?
    /// Peer certificates already parsed, by their exact DER bytes (see `certificate(der:)`).
    private let parsed = ParsedCertificates(capacity: 1024)

    /// Every certificate in the PEM bundle becomes a trust anchor. Throws when there is none or one is malformed.
    ///
    /// "Every certificate" includes ones that are not self-signed: verification sets X509_V_FLAG_PARTIAL_CHAIN, so an
    /// operator can pin an intermediate CA (or a single peer certificate) by listing only it. A path then ends at the
    /// first certificate found in the bundle.
    ///
    /// With `revocationLists`, every certificate of a chain (the leaf, each intermediate, and the anchor unless it is
    /// self-signed) must be covered by a CRL from its issuer, and is refused when listed (`.revoked`) or when no
    /// current CRL covers it (`.revocationUnknown`). A CRL past its nextUpdate counts as current under
    /// `staleRevocationLists: .accept` (it still revokes what it lists), as absent under `.refuse`. Of several lists
    /// from one issuer only the newest is used (`RevocationList.newestPerIssuer`).
    ///
    /// With `permittedIntermediates`, a path may pass only through those certificates between the leaf and its anchor
    /// (`.untrustedIntermediate` otherwise): a server that lets only the CAs it names issue clients, so that a
    /// certificate that happens to carry CA:TRUE cannot mint identities of its own.
    public init(pemBundle: [UInt8], revocationLists: [RevocationList] = [],
                staleRevocationLists: StaleRevocationListPolicy = .accept,
                permittedIntermediates: [Certificate]? = nil) throws(CryptoError) {
        let anchors = try Certificate.chain(fromPEM: pemBundle)
        let store = try check(X509_STORE_new(), "X509_STORE_new")
        for anchor in anchors where X509_STORE_add_cert(store, anchor.x509) != 1 {
            X509_STORE_free(store)
            throw CryptoError(.library, openSSLErrorText("X509_STORE_add_cert"))
        }
        for list in RevocationList.newestPerIssuer(revocationLists) where X509_STORE_add_crl(store, list.crl) != 1 {
            X509_STORE_free(store)
            throw CryptoError(.library, openSSLErrorText("X509_STORE_add_crl"))
        }
        self.store = store
        checksRevocation = !revocationLists.isEmpty
        self.staleRevocationLists = staleRevocationLists
        self.permittedIntermediates = permittedIntermediates.map { Set($0.map(\.der)) }
    }

    deinit { X509_STORE_free(store) }

    /// The certificate with these DER bytes, parsed once and then reused for every later handshake that presents the
    /// same bytes (the server's chain to each client, a client's chain on every reconnect). Parsing is the largest
    /// single cost of a handshake with OpenSSL 3.0: d2i_X509 decodes the public key through OSSL_DECODER, which
    /// alone took about a fifth of a whole in-memory handshake (docs/PERFORMANCE.md). Exact bytes in, the same parse
    /// out: nothing about verification changes, which still runs on every handshake (time, purpose, name).
    func certificate(der: [UInt8]) throws(CryptoError) -> Certificate {
        if let known = parsed.lookup(der) { return known }
        let certificate = try Certificate(der: der)
        parsed.insert(der, certificate)
        return certificate
    }

    /// Verifies `chain` (leaf first, then intermediates) at `unixTime` for `purpose`, and, when `expectedName` is given,
    /// that the leaf's SAN covers it (an IP literal is matched against IP SANs, anything else against DNS SANs).
    ///
    /// Names are matched against the subjectAltName only, never the subject CN (X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
    /// as RFC 9525 §6.3 asks), and a wildcard must be a whole left-most label ("*.example.com", not "f*.example.com").
    /// An IPv6 literal is given without brackets.
    ///
    /// Revocation is checked against the CRLs given at init (none: not checked; OCSP never). Not checked:
    /// X509_V_FLAG_X509_STRICT's profile rules (they
    /// reject, among others, leaves without an authorityKeyIdentifier, which OpenSSL 1.1's `x509 -req` and other tools
    /// did not add). The leaf's key must be one Ferry verifies signatures with (`PublicKey.schemes`), else `.weakKey`.
    ///
    /// Returns the DER of the trust anchor the path ended at (the bundle certificate reached): which CA vouches for
    /// the peer, for a server that keeps each CA's clients apart.
    @discardableResult
    public func verify(chain: [Certificate], purpose: CertificatePurpose, expectedName: String?,
                       unixTime: Int64) throws(CertificateVerificationError) -> [UInt8] {
        guard let leaf = chain.first else { throw CertificateVerificationError(.noCertificate) }
        guard chain.count <= Self.maximumChainLength else {
            throw CertificateVerificationError(
                .chainTooLong, "\(chain.count) certificates sent, at most \(Self.maximumChainLength)")
        }
        let anchor = try withExtendedLifetime(chain) { () throws(CertificateVerificationError) -> [UInt8] in
            try buildAndCheckPath(leaf: leaf, intermediates: chain.dropFirst(), purpose: purpose,
                                  expectedName: expectedName, unixTime: unixTime)
        }
        // A client certificate that is a CA could issue "clients" of its own; only end-entity certificates identify
        // clients. (A server's leaf is not held to this: a pinned self-signed server certificate made by
        // `openssl req -x509` carries CA:TRUE by default, and a server's certificate mints no identities.)
        if purpose == .clientAuth, leaf.isCertificateAuthority {
            throw CertificateVerificationError(
                .notEndEntity, "the client's certificate is a CA certificate (basicConstraints CA:TRUE); a client needs an "
                    + "end-entity certificate (ferry ca issue --client)")
        }
        // OpenSSL checked the path, not what Ferry can do with the key: the leaf must be able to verify a
        // CertificateVerify. PublicKey.schemes is the one list of what Ferry verifies (empty for RSA < 2048 bits,
        // curves other than P-256 / P-384, Ed448, RSA-PSS-only keys, DSA …).
        if leaf.publicKey.schemes.isEmpty {
            throw CertificateVerificationError(
                .weakKey, "leaf key \(Self.keyDescription(leaf.x509)) is not one Ferry verifies signatures with")
        }
        // OpenSSL's SSL purposes accept a keyUsage of keyEncipherment or keyAgreement alone (for RSA key transport and
        // static DH in TLS 1.2). Ferry only ever signs with the key, so a keyUsage extension, when present, must allow
        // digitalSignature (RFC 5280 §4.2.1.3). No keyUsage extension means no restriction.
        if X509_get_extension_flags(leaf.x509) & UInt32(EXFLAG_KUSAGE) != 0,
           X509_get_key_usage(leaf.x509) & UInt32(KU_DIGITAL_SIGNATURE) == 0 {
            throw CertificateVerificationError(.wrongPurpose, "the leaf's keyUsage does not allow digitalSignature")
        }
        return anchor
    }

    /// Returns the anchor's DER.
    private func buildAndCheckPath(leaf: Certificate, intermediates: ArraySlice<Certificate>,
                                   purpose: CertificatePurpose, expectedName: String?,
                                   unixTime: Int64) throws(CertificateVerificationError) -> [UInt8] {
        // The stack only borrows the X509 references (sk_X509_free, not pop_free); `chain` keeps them alive.
        guard let untrusted = copenssl_sk_x509_new() else { throw Self.libraryFailure("sk_X509_new_null") }
        defer { copenssl_sk_x509_free(untrusted) }
        for certificate in intermediates where copenssl_sk_x509_push(untrusted, certificate.x509) <= 0 {
            throw Self.libraryFailure("sk_X509_push")
        }
        guard let context = X509_STORE_CTX_new() else { throw Self.libraryFailure("X509_STORE_CTX_new") }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, leaf.x509, untrusted) == 1 else {
            throw Self.libraryFailure("X509_STORE_CTX_init")
        }
        let openSSLPurpose = switch purpose {
        case .serverAuth: X509_PURPOSE_SSL_SERVER
        case .clientAuth: X509_PURPOSE_SSL_CLIENT
        }
        guard X509_STORE_CTX_set_purpose(context, openSSLPurpose) == 1 else {
            throw Self.libraryFailure("X509_STORE_CTX_set_purpose")
        }
        guard let parameters = X509_STORE_CTX_get0_param(context) else {
            throw Self.libraryFailure("X509_STORE_CTX_get0_param")
        }
        X509_VERIFY_PARAM_set_time(parameters, time_t(clamping: unixTime))
        X509_VERIFY_PARAM_set_depth(parameters, Int32(Self.maximumChainLength - 1))
        X509_VERIFY_PARAM_set_auth_level(parameters, Self.authenticationSecurityLevel)
        var flags = UInt(X509_V_FLAG_PARTIAL_CHAIN)
        if checksRevocation {
            flags |= UInt(X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL)
            if staleRevocationLists == .accept {
                // Called by OpenSSL for each check; a non-capturing literal, so it is a C function pointer.
                X509_STORE_CTX_set_verify_cb(context) { ok, context in
                    guard ok == 0, let context, X509_STORE_CTX_get_error(context) == X509_V_ERR_CRL_HAS_EXPIRED else {
                        return ok
                    }
                    X509_STORE_CTX_set_error(context, X509_V_OK)
                    return 1
                }
            }
        }
        guard X509_VERIFY_PARAM_set_flags(parameters, flags) == 1 else {
            throw Self.libraryFailure("X509_VERIFY_PARAM_set_flags")
        }
        if let expectedName { try Self.setExpectedName(expectedName, on: parameters) }

        guard X509_verify_cert(context) == 1 else {
            let code = X509_STORE_CTX_get_error(context)
            let depth = X509_STORE_CTX_get_error_depth(context)
            let queue = openSSLErrorText("X509_verify_cert")  // also clears the queue
            guard code != X509_V_OK else { throw CertificateVerificationError(.other, queue) }
            throw CertificateVerificationError.fromVerifyResult(code, depth: depth)
        }
        guard let path = X509_STORE_CTX_get0_chain(context), copenssl_sk_x509_num(path) > 0,
              let top = copenssl_sk_x509_value(path, copenssl_sk_x509_num(path) - 1) else {
            throw Self.libraryFailure("X509_STORE_CTX_get0_chain")
        }
        if let permittedIntermediates { try Self.checkIntermediates(path, permitted: permittedIntermediates) }
        return try Self.der(of: top)
    }

    /// Every certificate strictly between the leaf and the anchor of the path OpenSSL built must be permitted.
    private static func checkIntermediates(_ path: OpaquePointer, permitted: Set<[UInt8]>) throws(CertificateVerificationError) {
        let count = copenssl_sk_x509_num(path)
        guard count > 2 else { return }
        for depth in 1..<(count - 1) {
            guard let x509 = copenssl_sk_x509_value(path, depth) else { throw libraryFailure("sk_X509_value") }
            guard permitted.contains(try der(of: x509)) else {
                throw CertificateVerificationError(
                    .untrustedIntermediate, "the chain passes through \"\(Certificate.nameText(X509_get_subject_name(x509)))\" "
                        + "at depth \(depth), which is not a permitted intermediate CA")
            }
        }
    }

    private static func der(of x509: OpaquePointer) throws(CertificateVerificationError) -> [UInt8] {
        let length = i2d_X509(x509, nil)
        guard length > 0 else { throw libraryFailure("i2d_X509") }
        let der = [UInt8](unsafeUninitializedCapacity: Int(length)) { buffer, initialized in
            var cursor = buffer.baseAddress
            initialized = i2d_X509(x509, &cursor) == length ? Int(length) : 0
        }
        guard der.count == Int(length) else { throw libraryFailure("i2d_X509") }
        return der
    }

    private static func setExpectedName(_ name: String, on parameters: OpaquePointer) throws(CertificateVerificationError) {
        // An empty name would clear the host list and silently skip the check.
        guard !name.isEmpty, !name.utf8.contains(0) else {
            throw CertificateVerificationError(.nameMismatch, "expected name is empty or contains NUL")
        }
        let accepted: Int32
        if let ip = a2i_IPADDRESS(name) {  // parses IPv4 and IPv6 literals, nil (no error queued) for anything else
            ASN1_OCTET_STRING_free(ip)
            accepted = X509_VERIFY_PARAM_set1_ip_asc(parameters, name)
        } else {
            X509_VERIFY_PARAM_set_hostflags(
                parameters, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT))
            accepted = X509_VERIFY_PARAM_set1_host(parameters, name, name.utf8.count)
        }
        guard accepted == 1 else {
            throw CertificateVerificationError(.nameMismatch, openSSLErrorText("expected name not usable"))
        }
    }

    /// The key's type and size or curve, for error details ("RSA 1024 bits", "EC secp521r1", "ED448").
    static func keyDescription(_ x509: OpaquePointer) -> String {
        guard let key = X509_get0_pubkey(x509) else {
            _ = openSSLErrorText("X509_get0_pubkey")
            return "(undecodable)"
        }
        let id = EVP_PKEY_get_base_id(key)
        let type = OBJ_nid2sn(id).map { String(cString: $0) } ?? "NID \(id)"
        switch id {
        case EVP_PKEY_RSA:
            return "RSA \(EVP_PKEY_get_bits(key)) bits"
        case EVP_PKEY_RSA_PSS, EVP_PKEY_DSA:
            return "\(type) \(EVP_PKEY_get_bits(key)) bits"
        case EVP_PKEY_EC:
            var buffer = [CChar](repeating: 0, count: 80)
            var length = 0
            guard EVP_PKEY_get_group_name(key, &buffer, buffer.count, &length) == 1 else {
                _ = openSSLErrorText("EVP_PKEY_get_group_name")
                return "EC (explicit curve parameters)"
            }
            return "EC " + String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        default:
            return type
        }
    }

    @inline(never)
    private static func libraryFailure(_ function: String) -> CertificateVerificationError {
        CertificateVerificationError(.other, openSSLErrorText(function))
    }
}

/// Whether this thread's OpenSSL error queue is empty: every failure path above drains it (tests check this).
func openSSLErrorQueueIsEmpty() -> Bool { ERR_peek_error() == 0 }

/// A bounded map from DER bytes to parsed certificates, shared by the threads that use one TrustStore. When full it
/// is emptied (a server seeing more distinct chains than `capacity` parses again, as without the cache).
final class ParsedCertificates: Sendable {
    private let capacity: Int
    private let entries = Mutex<[[UInt8]: Certificate]>([:])

    init(capacity: Int) { self.capacity = capacity }

    func lookup(_ der: [UInt8]) -> Certificate? { entries.withLock { $0[der] } }

    func insert(_ der: [UInt8], _ certificate: Certificate) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll() }
            entries[der] = certificate
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
