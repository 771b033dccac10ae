// The handshake transcript (docs/PROTOCOL.md §6.1): the hash of every handshake message as it travelled, type byte
// included, in order. The client does not know the hash until ServerHello, so it keeps the ClientHello bytes until then
// (as TLS 1.3 does).

struct Transcript {
    private var pending: [UInt8] = []
    private var context: DigestContext?

    mutating func append(_ type: MessageType, body: some Collection<UInt8>) {
        if let context {
            var typeByte = type.rawValue
            withUnsafeBytes(of: &typeByte) { context.update($0) }
            context.update(Array(body))
        } else {
            pending.append(type.rawValue)
            pending.append(contentsOf: body)
        }
    }

    /// Fixes the hash once it is negotiated and hashes what was kept.
    mutating func start(_ hash: HashFunction) {
        precondition(context == nil, "transcript hash started twice")
        let context = DigestContext(hash)
        context.update(pending)
        pending = []
        self.context = context
    }

    /// Transcript-Hash of everything so far.
    var currentHash: [UInt8] {
        guard let context else { preconditionFailure("transcript hash read before the hash was negotiated") }
        return context.snapshot()
    }
}

/// The content a CertificateVerify signs (RFC 8446 §4.4.3 layout): 64 spaces ‖ context string ‖ 0x00 ‖ transcript hash.
/// The context string names the signer's role, so a server signature can never be replayed as a client's (and the
/// transcript names both parties' shares and offers, which is what fixes the STS identity-misbinding problem).
enum SignedContent {
    static let serverContext = "Ferry v1, server CertificateVerify"
    static let clientContext = "Ferry v1, client CertificateVerify"

    static func build(context: String, transcriptHash: [UInt8]) -> [UInt8] {
        var content = [UInt8](repeating: 0x20, count: 64)
        content.append(contentsOf: context.utf8)
        content.append(0)
        content.append(contentsOf: transcriptHash)
        return content
    }
}
