// Time as the caller sees it. The protocol never reads a clock: every entry point takes `now`.

/// A reading of the caller's monotonic clock (e.g. uv_hrtime) plus the wall-clock time, which only certificate validity
/// needs.
public struct Now: Sendable, Equatable {
    public var monotonicNanoseconds: UInt64
    public var unixSeconds: Int64

    public init(monotonicNanoseconds: UInt64, unixSeconds: Int64) {
        self.monotonicNanoseconds = monotonicNanoseconds
        self.unixSeconds = unixSeconds
    }

    func seconds(since start: UInt64) -> Double {
        monotonicNanoseconds >= start ? Double(monotonicNanoseconds - start) / 1e9 : 0
    }
}
