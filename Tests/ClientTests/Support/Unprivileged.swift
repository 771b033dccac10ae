// Code run as an ordinary user would run it, for tests of what cannot be read. Root reads a mode-000 file or directory
// anyway (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), and these tests run as root on the build machines; so the code runs on
// a thread of its own whose file-system uid is nobody's: setfsuid(2) is per thread, and moving it away from 0 clears
// those capabilities from that thread alone (capabilities(7)), until it moves back. Not root: the code runs as it is.
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` with file permissions checked as for the user nobody (65534) when the process is root, and returns
/// its result. Throws XCTSkip where the file-system uid cannot be changed (no CAP_SETUID).
func withoutRootFileAccess<T>(_ body: @escaping @Sendable () -> T) throws -> T {
    guard geteuid() == 0 else { return body() }
    // setfsuid is not in Swift's Glibc module (<sys/fsuid.h>); the C library has it.
    guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "setfsuid") else { throw XCTSkip("no setfsuid in the C library") }
    let setfsuid = unsafeBitCast(symbol, to: (@convention(c) (UInt32) -> Int32).self)
    let outcome = Outcome<T>()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        defer { done.signal() }
        _ = setfsuid(65534)
        // setfsuid returns the previous value whether or not it changed anything: ask again (an invalid id changes
        // nothing) to learn whether this thread really is nobody now.
        guard setfsuid(UInt32.max) == 65534 else { return }
        outcome.value = body()
        _ = setfsuid(0)
    }
    thread.start()
    done.wait()
    guard let value = outcome.value else { throw XCTSkip("cannot change the file-system uid (setfsuid) here") }
    return value
}

/// The result handed from the thread back to the test (written before the semaphore is signalled, read after).
private final class Outcome<T>: @unchecked Sendable {
    var value: T?
}
