// The systemd watchdog (WatchdogSec= in the unit): systemd passes $WATCHDOG_USEC (and $WATCHDOG_PID) and kills the
// service (SIGABRT, then restarts it under Restart=on-failure) when no WATCHDOG=1 arrives within that time.
//
// sd_watchdog_enabled(3): the watchdog is on for this process when $WATCHDOG_USEC is a positive integer and
// $WATCHDOG_PID is unset or our pid (a variable inherited by a child is not meant for it). The man page's advice is
// to ping at half the interval, so one late timer tick never trips it.
//
// What a ping proves: the main loop turns (signals, reload, the ping timer itself). The workers run their own loops;
// a wedged worker is not detected here.

enum SystemdWatchdog {
    /// The ping period in microseconds: half of $WATCHDOG_USEC, or nil when the watchdog is not on for `pid`.
    static func pingIntervalMicroseconds(environment: [String: String], pid: Int32) -> UInt64? {
        guard let text = environment["WATCHDOG_USEC"], let timeout = UInt64(text), timeout > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"] {
            // A value that is not a pid is not ours either (libsystemd returns an error; the result is the same).
            guard let ownerPID = Int32(owner), ownerPID == pid else { return nil }
        }
        return timeout / 2
    }

    /// The same period for a LoopTimer: whole milliseconds, at least 1 (a 1 µs watchdog would otherwise spin at 0).
    static func pingIntervalMilliseconds(environment: [String: String], pid: Int32) -> UInt64? {
        pingIntervalMicroseconds(environment: environment, pid: pid).map { max(1, $0 / 1000) }
    }
}
