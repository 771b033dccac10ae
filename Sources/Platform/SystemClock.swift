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

    /// "2036-05-01 12:00:00 UTC": how both executables show a certificate's dates to people.
    public static func utcText(_ unixSeconds: Int64) -> String {
        var time = time_t(unixSeconds)
        var fields = tm()
        guard gmtime_r(&time, &fields) != nil else { return "\(unixSeconds) (seconds since 1970)" }
        func padded(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(fields.tm_year + 1900, 4))-\(padded(fields.tm_mon + 1, 2))-\(padded(fields.tm_mday, 2)) "
            + "\(padded(fields.tm_hour, 2)):\(padded(fields.tm_min, 2)):\(padded(fields.tm_sec, 2)) UTC"
    }
}
