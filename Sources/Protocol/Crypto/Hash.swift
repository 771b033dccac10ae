// Incremental hashing (EVP_MD_CTX): the handshake transcript and the whole-file SHA-256 of uploads.
internal import COpenSSL

/// A running hash. `snapshot()` returns the digest so far and keeps going (the transcript needs that at every flight).
/// EVP digest calls fail only on allocation failure or misuse, so these methods do not throw: a failure traps.
public final class DigestContext {
    public let function: HashFunction

    public init(_ function: HashFunction) {
        self.function = function
        fatalError("TODO(crypto)")
    }

    public func update(_ bytes: UnsafeRawBufferPointer) { fatalError("TODO(crypto)") }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything so far; the context can still be updated afterwards.
    public func snapshot() -> [UInt8] { fatalError("TODO(crypto)") }

    /// An independent copy (EVP_MD_CTX_copy_ex).
    public func copy() -> DigestContext { fatalError("TODO(crypto)") }

    public static func hash(_ function: HashFunction, _ bytes: [UInt8]) -> [UInt8] {
        let context = DigestContext(function)
        context.update(bytes)
        return context.snapshot()
    }
}
