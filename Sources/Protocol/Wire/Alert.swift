// Alerts: the fatal, connection-scope errors (docs/PROTOCOL.md §9 "Alerts and errors").
//
// Codes below 0x0100 keep their TLS 1.3 AlertDescription values (RFC 8446 §6) so they read familiarly; 0x01xx are
// Ferry's own. Upload-scope failures are not alerts: they are UploadError messages and the session carries on.

public enum AlertCode: UInt16, Sendable, Hashable, CaseIterable {
    case unexpectedMessage = 0x000A
    case badRecordMAC = 0x0014
    case recordOverflow = 0x0016
    case handshakeFailure = 0x0028
    case badCertificate = 0x002A
    case unsupportedCertificate = 0x002B
    case certificateRevoked = 0x002C
    case certificateExpired = 0x002D
    case illegalParameter = 0x002F
    case unknownCA = 0x0030
    /// The peer authenticated, but may not connect: its identity or certificate is denied by the server's policy.
    case accessDenied = 0x0031
    case decodeError = 0x0032
    case decryptError = 0x0033
    case protocolVersion = 0x0046
    case internalError = 0x0050
    case noCommonCipherSuite = 0x0101
    case noCommonGroup = 0x0102
    case noCommonHash = 0x0103
    case noCommonSignature = 0x0104
    /// The peer kept using one key past the AEAD usage limit (§7.4) without rotating.
    case keyUsageExceeded = 0x0110
    /// The caller closed the session: handshake or idle timeout, shutdown (the text says which).
    case closedByPeer = 0x0120
    /// The server is at its session limit; try again later.
    case tooManySessions = 0x0121

    public var name: String {
        switch self {
        case .unexpectedMessage: "unexpected message"
        case .badRecordMAC: "record authentication failed"
        case .recordOverflow: "record too long"
        case .handshakeFailure: "handshake failure"
        case .badCertificate: "bad certificate"
        case .unsupportedCertificate: "certificate not allowed for this purpose"
        case .certificateRevoked: "certificate revoked"
        case .certificateExpired: "certificate expired or not yet valid"
        case .illegalParameter: "illegal parameter"
        case .unknownCA: "certificate from an unknown CA"
        case .accessDenied: "access denied"
        case .decodeError: "malformed message"
        case .decryptError: "signature or Finished check failed"
        case .protocolVersion: "no common protocol version"
        case .internalError: "internal error"
        case .noCommonCipherSuite: "no common cipher suite"
        case .noCommonGroup: "no common key-exchange group"
        case .noCommonHash: "no common hash"
        case .noCommonSignature: "no common signature scheme"
        case .keyUsageExceeded: "key used past its usage limit"
        case .closedByPeer: "session closed"
        case .tooManySessions: "server busy: too many sessions"
        }
    }
}

/// Why a connection ended. `alert` is what went (or came) over the wire; `detail` is for the local log only and is never
/// sent, because wire-visible failures stay coarse (STYLE.md §12) — except the negotiation alerts, whose text names the
/// list that had no overlap, and access_denied, which names the client's own identity or certificate: nothing secret.
public struct ProtocolError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Origin: Sendable, Equatable { case local, peer }

    public let alert: AlertCode
    public let origin: Origin
    public let detail: String
    /// Set when a certificate check failed, so the distinct reasons (expired, wrong EKU, …) stay visible to the caller.
    public let certificateFailure: CertificateVerificationError.Kind?

    public init(_ alert: AlertCode, _ detail: String, origin: Origin = .local,
                certificateFailure: CertificateVerificationError.Kind? = nil) {
        self.alert = alert
        self.origin = origin
        self.detail = detail
        self.certificateFailure = certificateFailure
    }

    public var description: String {
        let who = origin == .peer ? "peer sent alert" : "alert"
        return "\(who) \(alert.name) (0x\(String(alert.rawValue, radix: 16))): \(detail)"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.alert == rhs.alert && lhs.origin == rhs.origin && lhs.certificateFailure == rhs.certificateFailure
    }

    @inline(never) static func decode(_ detail: String) -> Self { Self(.decodeError, detail) }
    @inline(never) static func unexpected(_ detail: String) -> Self { Self(.unexpectedMessage, detail) }
    @inline(never) static func illegal(_ detail: String) -> Self { Self(.illegalParameter, detail) }
    @inline(never) static func overflow(_ detail: String) -> Self { Self(.recordOverflow, detail) }

    /// The text sent in the Alert message: the code's name, plus the detail for negotiation failures, closes and
    /// access_denied (which tells an authenticated client why it is refused, from nothing but its own certificate).
    var wireText: String {
        switch alert {
        case .noCommonCipherSuite, .noCommonGroup, .noCommonHash, .noCommonSignature, .protocolVersion, .closedByPeer,
             .tooManySessions, .accessDenied:
            return detail.isEmpty ? alert.name : "\(alert.name): \(detail)"
        default:
            return alert.name
        }
    }

    /// Maps a certificate verification failure to its alert, keeping the precise reason.
    static func certificate(_ error: CertificateVerificationError) -> Self {
        let alert: AlertCode = switch error.kind {
        case .expired, .notYetValid: .certificateExpired
        case .untrustedIssuer, .selfSigned, .untrustedIntermediate: .unknownCA
        case .wrongPurpose, .weakKey, .notEndEntity: .unsupportedCertificate
        case .revoked: .certificateRevoked
        case .revocationUnknown: .badCertificate
        case .noCertificate, .chainTooLong, .malformed, .nameMismatch, .badSignature, .other: .badCertificate
        }
        return Self(alert, "peer certificate rejected: \(error)", certificateFailure: error.kind)
    }
}
