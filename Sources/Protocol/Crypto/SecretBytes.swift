// Key material that is zeroed when dropped.
internal import COpenSSL

/// Secret bytes (traffic secrets, keys, shared secrets). The buffer is wiped with OPENSSL_cleanse in deinit, so a key is
/// zeroed as soon as the last reference goes. It has no description: it cannot end up in a log by accident.
public final class SecretBytes: @unchecked Sendable {
    // @unchecked: the bytes are written only while the owner builds the secret; afterwards they are read-only.
    private let base: UnsafeMutableRawPointer
    public let count: Int

    /// `count` zero bytes, to be filled by `withUnsafeMutableBytes` before anyone reads them.
    init(zeroedCount count: Int) {
        self.count = count
        base = .allocate(byteCount: max(count, 1), alignment: 16)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1))
    }

    public convenience init<C: Collection>(copying bytes: C) where C.Element == UInt8 {
        self.init(zeroedCount: bytes.count)
        UnsafeMutableRawBufferPointer(start: base, count: count).copyBytes(from: bytes)
    }

    /// `first ‖ second` in a new buffer: a hybrid group's shared secret (draft-ietf-tls-ecdhe-mlkem §3.1.3).
    convenience init(concatenating first: SecretBytes, _ second: SecretBytes) {
        self.init(zeroedCount: first.count + second.count)
        withUnsafeMutableBytes { out in
            first.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[..<first.count]).copyMemory(from: $0) }
            second.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[first.count...]).copyMemory(from: $0) }
        }
    }

    deinit {
        OPENSSL_cleanse(base, max(count, 1))
        base.deallocate()
    }

    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    /// A copy as a plain array: only for tests and for feeding values that are not secret afterwards.
    var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Constant-time comparison (CRYPTO_memcmp).
    func constantTimeEquals(_ other: SecretBytes) -> Bool {
        guard count == other.count else { return false }
        return withUnsafeBytes { a in other.withUnsafeBytes { b in constantTimeEqual(a, b) } }
    }
}

/// Constant-time equality of two equal-length buffers (CRYPTO_memcmp); different lengths are unequal (length is public).
func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    if a.count == 0 { return true }
    return CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
}

/// Constant-time equality of two byte arrays (digests, MACs): the one comparison both binaries use for them.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in constantTimeEqual(pa, pb) } }
}
