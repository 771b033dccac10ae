// The configured CA bundle (X509_STORE) and chain verification against it, with CRLs when configured: what both sides
// check the peer's Certificate message with (docs/PROTOCOL.md §6.9). The protocol core never reads a clock: the
// caller passes the verification time in (STYLE.md: Protocol does no I/O).
internal import COpenSSL
internal import Synchronization

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
    /// The subjects of the bundle's certificates, in order: what a refusal names as the CAs that were trusted.
    public let anchorSubjects: [String]

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
        anchorSubjects = anchors.map(\.subjectName)
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
