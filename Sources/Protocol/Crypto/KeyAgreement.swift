// Ephemeral key exchange, written as initiator/responder (KEM-shaped) so that a hybrid post-quantum group, where the
// two shares differ, fits the same interface: the initiator sends a share, the responder answers with its share and
// knows the secret at once, the initiator completes with the responder's share.
internal import COpenSSL

/// The initiator's ephemeral key pair, kept until `complete` (then dropped; OpenSSL zeroes the private key on free).
final class KeyExchangeInitiator {
    let group: KeyExchangeGroup
    /// The public share to send, exactly `group.shareLength` bytes.
    let share: [UInt8]

    init(group: KeyExchangeGroup) throws(CryptoError) {
        self.group = group
        fatalError("TODO(crypto)")
    }

    /// Validates the responder's share (exact length, point on curve / 1 < y < p − 1, non-zero result) and derives the
    /// shared secret. Throws `.invalidPeerShare` for any bad share.
    func complete(responderShare: [UInt8]) throws(CryptoError) -> SecretBytes {
        fatalError("TODO(crypto)")
    }
}

enum KeyExchangeResponder {
    /// Validates the initiator's share, makes the responder's ephemeral key, and returns its share and the secret.
    static func respond(group: KeyExchangeGroup, initiatorShare: [UInt8]) throws(CryptoError) -> (share: [UInt8], secret: SecretBytes) {
        fatalError("TODO(crypto)")
    }
}
