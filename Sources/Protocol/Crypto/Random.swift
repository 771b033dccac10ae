// Randomness comes from OpenSSL's CSPRNG (RAND_bytes). It is not I/O in the sans-I/O sense: it has no observable effect.
internal import COpenSSL

/// Fills `buffer` from RAND_bytes. A failure means the CSPRNG is not seeded (or broken); continuing would hand out
/// predictable keys and nonces, so it traps rather than throws.
func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) {
    guard var next = buffer.baseAddress else { return }  // empty buffer
    var remaining = buffer.count
    while remaining > 0 {
        // RAND_bytes takes an int length; a larger request is filled in chunks.
        let chunk = min(remaining, Int(Int32.max))
        checkOrTrap(RAND_bytes(next.assumingMemoryBound(to: UInt8.self), Int32(chunk)), "RAND_bytes")
        next += chunk
        remaining -= chunk
    }
}

func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { fillRandom($0) }
    return bytes
}
