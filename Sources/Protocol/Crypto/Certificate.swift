// X.509 certificates (OpenSSL X509) and chain verification against a CA bundle (X509_STORE).
internal import COpenSSL

public final class Certificate: @unchecked Sendable {
    // @unchecked: the X509 is never mutated after parsing.

    /// Every certificate in a PEM file, in order (leaf first for a chain file). Throws on none or a malformed one.
    public static func chain(fromPEM pem: [UInt8]) throws(CryptoError) -> [Certificate] {
        fatalError("TODO(x509)")
    }

    /// Parses exactly one DER certificate; trailing bytes are an error.
    init(der: [UInt8]) throws(CryptoError) {
        fatalError("TODO(x509)")
    }

    /// The DER encoding, as sent on the wire.
    public var der: [UInt8] { fatalError("TODO(x509)") }

    /// The subject's public key.
    var publicKey: PublicKey { fatalError("TODO(x509)") }

    /// The identity Ferry reports: the subject CN, else the first subjectAltName (DNS name, else IP address text).
    public var identity: String? { fatalError("TODO(x509)") }

    /// Whether `key` is the private half of this certificate's public key (X509_check_private_key).
    public func matches(_ key: SigningKey) -> Bool { fatalError("TODO(x509)") }
}

/// What a certificate is checked for: the extended key usage and purpose (X509_PURPOSE_SSL_SERVER / _CLIENT).
public enum CertificatePurpose: Sendable {
    case serverAuth, clientAuth
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

/// The configured CA bundle.
public final class TrustStore: @unchecked Sendable {
    // @unchecked: the X509_STORE is filled in init and only read afterwards (OpenSSL allows concurrent verification).

    /// Every certificate in the PEM bundle becomes a trust anchor. Throws when there is none or one is malformed.
    public init(pemBundle: [UInt8]) throws(CryptoError) {
        fatalError("TODO(x509)")
    }

    /// Verifies `chain` (leaf first, then intermediates) at `unixTime` for `purpose`, and, when `expectedName` is given,
    /// that the leaf's SAN covers it (an IP literal is matched against IP SANs, anything else against DNS SANs).
    public func verify(chain: [Certificate], purpose: CertificatePurpose, expectedName: String?,
                       unixTime: Int64) throws(CertificateVerificationError) {
        fatalError("TODO(x509)")
    }
}
