// SplitMix64 (Steele, Lea, Flood 2014): the load test's one pseudo-random generator. The payload's bytes and the
// picks of a mixed run (--mix, --seed) come from it, so both are the same on every machine and every Swift release
// (the standard library's generators and `random(in:using:)` promise neither). Not for anything secret.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound, without the bias of `next() % bound` (Lemire 2019, "Fast random integer generation in an
    /// interval": multiply, and draw again in the rare case the low half falls in the short stretch).
    mutating func below(_ bound: UInt64) -> UInt64 {
        // Our own bug if it happens: every bound comes from a checked plan (a mix's total, --get-files), both above 0.
        precondition(bound > 0, "below(0)")
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold { product = next().multipliedFullWidth(by: bound) }
        }
        return product.high
    }
}
