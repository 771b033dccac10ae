// Who may connect, beyond holding a certificate that verifies: the server's own policy, applied once the client has
// proven its key (after CertificateVerify, docs/PROTOCOL.md §6.9 item 10), and again whenever the server's trust or
// policy changes while the session lives (`ServerConfiguration.recheck`).
//
// Deciding after the proof of possession, not on the Certificate message, means a refusal is only ever said to the
// holder of the key: anyone may replay a public certificate, and learns nothing from it.

/// The peer as the handshake verified it: its identity (§6.9 item 9) and the chain it sent, leaf first.
public struct VerifiedPeer: Sendable, Equatable {
    public let identity: String
    public let chain: [Certificate]

    public init(identity: String, chain: [Certificate]) {
        self.identity = identity
        self.chain = chain
    }
}

public struct ClientAdmission: Sendable {
    /// Identities refused whatever their certificate.
    public var deniedIdentities: Set<String> = []
    /// SHA-256 fingerprints of certificates refused wherever they appear in the chain: a leaf, or an intermediate
    /// (which denies every certificate it issued).
    public var deniedFingerprints: Set<[UInt8]> = []
    /// The application's rule for identities it can serve: nil when `identity` is fine, else why not.
    public var identityRule: (@Sendable (String) -> String?)?

    public init() {}

    /// Why `peer` may not connect, as the alert to close with; nil when it may.
    public func refusal(of peer: VerifiedPeer) -> ProtocolError? {
        if deniedIdentities.contains(peer.identity) {
            return ProtocolError(.accessDenied, "identity \"\(peer.identity)\" is denied")
        }
        for (depth, certificate) in peer.chain.enumerated() where deniedFingerprints.contains(certificate.fingerprint) {
            let which = depth == 0 ? "its certificate" : "the intermediate CA certificate at depth \(depth)"
            return ProtocolError(.accessDenied, "\(which) (SHA-256 \(hex(certificate.fingerprint))) is denied")
        }
        if let rule = identityRule, let reason = rule(peer.identity) {
            return ProtocolError(.accessDenied, "identity \"\(peer.identity)\" cannot be served: \(reason)")
        }
        return nil
    }
}

extension ServerConfiguration {
    /// Whether an established session's client would still be admitted now: its chain verified again against
    /// `clientTrust` (with its current CRLs) at `unixTime`, then `admission`. What a server does for every live
    /// session when its trust or policy changes, so that revoking or denying takes effect at once.
    public func recheck(_ peer: VerifiedPeer, unixTime: Int64) -> ProtocolError? {
        do {
            try clientTrust.verify(chain: peer.chain, purpose: .clientAuth, expectedName: nil, unixTime: unixTime)
        } catch {
            return ProtocolError.certificate(error)
        }
        return admission.refusal(of: peer)
    }
}
