// Deadlines for tests: CLOCK_MONOTONIC seconds, and a bounded poll.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic seconds, for deadlines and durations.
public func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Polls `condition` every `interval` seconds until it holds or `timeout` seconds passed; returns whether it held.
@discardableResult
public func waitUntil(timeout: Double, interval: Double = 0.02, _ condition: () -> Bool) -> Bool {
    let deadline = monotonicSeconds() + timeout
    while true {
        if condition() { return true }
        if monotonicSeconds() >= deadline { return false }
        usleep(UInt32(interval * 1_000_000))
    }
}
