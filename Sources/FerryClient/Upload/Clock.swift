// The clock readings the protocol wants (it reads no clock itself), from Platform's one clock.
import Platform
import Protocol

enum Clock {
    static func now() -> Now {
        Now(monotonicNanoseconds: SystemClock.monotonicNanoseconds(), unixSeconds: SystemClock.unixSeconds())
    }
}
