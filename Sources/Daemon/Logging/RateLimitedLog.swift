// At most one log line per kind of event per period, with how many were left out: a flood of refused connections or
// requests must not become a flood of log lines (one session once wrote 150,000 in 10 s), yet the operator still
// learns that it happens and how often. Owned by one loop thread (no lock).
import Logging
import Platform

final class RateLimitedLog {
    private let period: UInt64
    private var lastLogged: [String: UInt64] = [:]
    private var suppressed: [String: Int] = [:]

    /// `periodSeconds` between two lines of one kind.
    init(periodSeconds: UInt64 = 10) { period = periodSeconds * 1_000_000_000 }

    /// Logs `message` for `kind` unless one was logged less than a period ago; a line that follows suppressed ones
    /// says how many (`suppressed` metadata).
    func log(_ logger: Logger, _ level: Logger.Level, kind: String, _ message: Logger.Message,
             metadata: @autoclosure () -> Logger.Metadata, now: UInt64 = SystemClock.monotonicNanoseconds()) {
        if let last = lastLogged[kind], now &- last < period {
            suppressed[kind, default: 0] += 1
            return
        }
        var fields = metadata()
        if let count = suppressed.removeValue(forKey: kind), count > 0 { fields["suppressed"] = "\(count)" }
        lastLogged[kind] = now
        logger.log(level: level, message, metadata: fields)
    }
}
