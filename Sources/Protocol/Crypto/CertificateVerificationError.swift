// Why a peer's chain was refused, what it is checked for, and the CRL policy: the vocabulary TrustStore reports in.
internal import COpenSSL

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
        case X509_V_ERR_EE_KEY_TOO_SMALL, X509_V_ERR_CA_KEY_TOO_SMALL, X509_V_ERR_CA_MD_TOO_WEAK:
            kind = .weakKey  // a key too small or a digest too weak (SHA-1): §6.9 item 4, unsupported_certificate
        case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD,
            X509_V_ERR_INVALID_EXTENSION:
            kind = .malformed
        default:
            kind = .other  // e.g. INVALID_CA, PATH_LENGTH_EXCEEDED, UNHANDLED_CRITICAL_EXTENSION
        }
        return Self(kind, detail)
    }
}
