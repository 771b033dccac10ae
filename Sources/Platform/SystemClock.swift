// The one clock of the daemon and the client. The protocol reads no clock itself (Protocol's `Now` is passed in);
// this is where both executables take the readings it wants.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public enum SystemClock {
    /// CLOCK_MONOTONIC in nanoseconds: for timeouts, rotation deadlines and durations (never jumps with the wall clock).
    public static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// Seconds since the Unix epoch: for certificate validity.
    public static func unixSeconds() -> Int64 { Int64(time(nil)) }
}
