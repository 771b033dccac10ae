// --bwlimit: a token bucket shared by every session of one upload run (they all run on the engine's loop thread, so it
// needs no lock). Bytes sealed into Data records take tokens; a session that finds too few stops sealing and asks
// when to try again (`delay`). The bucket holds at most `burstSeconds` of the rate (and never less than one record),
// so the rate holds over any tenth of a second and a session that waited does not then send a burst.
struct BandwidthLimit {
    /// 1 KiB/s: below that a --bwlimit is surely a typo (ferry would take hours for a small file).
    static let minimumRate: UInt64 = 1024
    static let burstSeconds = 0.1

    let bytesPerSecond: Double
    private let capacity: Double
    private var tokens: Double
    private var updated: UInt64

    /// `minimumTake`: the most a caller ever asks for at once (one sealed record), so it can always be granted.
    init(bytesPerSecond: UInt64, minimumTake: Int, now: UInt64) {
        self.bytesPerSecond = Double(bytesPerSecond)
        capacity = max(Double(bytesPerSecond) * Self.burstSeconds, Double(minimumTake))
        tokens = capacity
        updated = now
    }

    /// Bytes that may be sent now (whole tokens), after refilling for the time since the last call. `now` in ns.
    mutating func available(now: UInt64) -> Int {
        if now > updated {
            tokens = min(capacity, tokens + Double(now - updated) / 1e9 * bytesPerSecond)
            updated = now
        }
        return Int(tokens)
    }

    mutating func take(_ bytes: Int) { tokens -= Double(bytes) }

    /// Milliseconds until `bytes` are available (at least 1).
    func delay(until bytes: Int) -> UInt64 {
        let missing = max(0, Double(bytes) - tokens)
        return max(1, UInt64((missing / bytesPerSecond * 1000).rounded(.up)))
    }
}
