// Randomness comes from OpenSSL's CSPRNG (RAND_bytes). It is not I/O in the sans-I/O sense: it has no observable effect.
internal import COpenSSL

func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) {
    fatalError("TODO(crypto): RAND_bytes; trap on failure (an unseeded CSPRNG must never be used)")
}

func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { fillRandom($0) }
    return bytes
}
