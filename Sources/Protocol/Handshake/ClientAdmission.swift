// Who may connect, beyond holding a certificate that verifies: the server's own policy, applied once the client has
// proven its key (after CertificateVerify, docs/PROTOCOL.md §6.9 item 10), and again whenever the server's trust or
// policy changes while the session lives (`ServerConfiguration.recheck`).
//
// Deciding after the proof of possession, not on the Certificate message, means a refusal is only ever said to the
// holder of the key: anyone may replay a public certificate, and learns nothing from it.

/// The peer as the handshake verified it: its identity (§6.9 item 9), the chain it sent (leaf first), the DER of the
/// trust anchor its path ended at, and — on a server that keeps each CA's clients apart — the namespace of that CA.
public struct VerifiedPeer: Sendable, Equatable {
    /// The identity the certificate states.
    public let certificateIdentity: String
    public let chain: [Certificate]
    public let anchor: [UInt8]
    /// "" for the server's home namespace (and always on a client).
    public var namespace: String = ""

    public init(certificateIdentity: String, chain: [Certificate], anchor: [UInt8]) {
        self.certificateIdentity = certificateIdentity
        self.chain = chain
        self.anchor = anchor
    }

    /// What the application sees: "alice", or "partner:alice" for a client of a CA with the namespace "partner".
    public var identity: String {
        namespace.isEmpty ? certificateIdentity : namespace + ClientAdmission.namespaceSeparator + certificateIdentity
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
    /// The namespace of each CA's clients, by the CA certificate's DER; a CA not listed is in the home namespace ("").
    /// Two CAs given the same namespace share it: a client "alice" of either is the same "alice".
    public var namespaces: [[UInt8]: String] = [:]

    /// Between a namespace and the certificate's identity: "partner:alice".
    public static let namespaceSeparator = ":"

    public init() {}

    /// `peer` with the namespace of the CA its path ended at.
    public func namespaced(_ peer: VerifiedPeer) -> VerifiedPeer {
        var peer = peer
        peer.namespace = namespaces[peer.anchor] ?? ""
        return peer
    }

    /// Why `peer` (namespaced) may not connect, as the alert to close with; nil when it may.
    public func refusal(of peer: VerifiedPeer) -> ProtocolError? {
        // A home-namespace identity that reads like another namespace's ("partner:alice" in a CN) would share that
        // client's area and rights.
        // The colon found as a byte: a ":" followed by a combining mark is one Swift Character, and the identity
        // "partner:"+U+0301"alice" is byte for byte the namespaced "partner" + ":" + U+0301"alice".
        let identityBytes = peer.certificateIdentity.utf8
        if peer.namespace.isEmpty, let colon = identityBytes.firstIndex(of: UInt8(ascii: ":")) {
            let prefix = Array(identityBytes[..<colon])
            if namespaces.values.contains(where: { $0.utf8.elementsEqual(prefix) }) {
                return ProtocolError(.accessDenied, "identity \"\(peer.certificateIdentity)\" would be taken for a client of "
                    + "the namespace \"\(String(decoding: prefix, as: UTF8.self))\"")
            }
        }
        if deniedIdentities.contains(peer.identity) {
            return ProtocolError(.accessDenied, "identity \"\(peer.identity)\" is denied")
        }
        for (depth, certificate) in peer.chain.enumerated() where deniedFingerprints.contains(certificate.fingerprint) {
            let which = depth == 0 ? "its certificate" : "the intermediate CA certificate at depth \(depth)"
            return ProtocolError(.accessDenied, "\(which) (SHA-256 \(hex(certificate.fingerprint))) is denied")
        }
        // The path's anchor too: the client need not send it (a root, or an intermediate the operator trusts in
        // client_ca, which ends the path there), and "anywhere in the chain" (§6.9) includes it.
        let anchor = DigestContext.hash(.sha256, peer.anchor)
        if !peer.anchor.isEmpty, deniedFingerprints.contains(anchor) {
            return ProtocolError(.accessDenied, "the CA certificate it verifies against (SHA-256 \(hex(anchor))) is denied")
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
        let anchor: [UInt8]
        do {
            anchor = try clientTrust.verify(chain: peer.chain, purpose: .clientAuth, expectedName: nil, unixTime: unixTime)
        } catch {
            return ProtocolError.certificate(error)
        }
        let now = admission.namespaced(VerifiedPeer(certificateIdentity: peer.certificateIdentity, chain: peer.chain,
                                                    anchor: anchor))
        // Its files live under the identity it had: a session whose client would now be someone else ends.
        guard now.identity == peer.identity else {
            return ProtocolError(.accessDenied, "the client's identity is now \"\(now.identity)\", no longer "
                + "\"\(peer.identity)\" (its CA's namespace changed)")
        }
        return admission.refusal(of: now)
    }
}
