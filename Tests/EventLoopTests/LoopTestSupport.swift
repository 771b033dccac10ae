// Shared helpers: a watchdog-bounded run, a recording delegate and a byte pattern.
import XCTest
import EventLoop

/// Runs `loop` until it runs out of work or `stop()` is called. A watchdog timer that does not keep the loop alive
/// stops it after `timeoutMilliseconds` and fails the test.
func runLoop(_ loop: EventLoop, timeoutMilliseconds: UInt64 = 5_000,
             file: StaticString = #filePath, line: UInt = #line) {
    var timedOut = false
    let watchdog = LoopTimer(loop: loop)
    watchdog.keepsLoopAlive = false
    watchdog.start(afterMilliseconds: timeoutMilliseconds) {
        timedOut = true
        loop.stop()
    }
    loop.run()
    watchdog.close()
    XCTAssertFalse(timedOut, "loop did not finish within \(timeoutMilliseconds) ms", file: file, line: line)
}

/// Counts every delegate call and forwards it to optional closures.
final class RecordingDelegate: TCPConnectionDelegate {
    var received: [UInt8] = []
    var readCount = 0
    var endCount = 0
    var drainCount = 0
    var closeCount = 0
    var failures: [UVError] = []
    /// Set when didClose ran; any later call is a bug.
    var eventsAfterClose = 0

    var onRead: ((RecordingDelegate, TCPConnection, UnsafeRawBufferPointer) -> Void)?
    var onEnd: ((RecordingDelegate, TCPConnection) -> Void)?
    var onFail: ((RecordingDelegate, TCPConnection, UVError) -> Void)?
    var onDrain: ((RecordingDelegate, TCPConnection) -> Void)?
    var onClose: ((RecordingDelegate, TCPConnection) -> Void)?
    /// Keep the received bytes (off for the big transfers, which check the pattern incrementally).
    var keepsBytes = true

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        if closeCount > 0 { eventsAfterClose += 1 }
        readCount += 1
        if keepsBytes { received.append(contentsOf: bytes) }
        onRead?(self, connection, bytes)
    }

    func connectionDidReachEnd(_ connection: TCPConnection) {
        if closeCount > 0 { eventsAfterClose += 1 }
        endCount += 1
        onEnd?(self, connection)
    }

    func connection(_ connection: TCPConnection, didFail error: UVError) {
        if closeCount > 0 { eventsAfterClose += 1 }
        failures.append(error)
        onFail?(self, connection, error)
    }

    func connectionDidDrain(_ connection: TCPConnection) {
        if closeCount > 0 { eventsAfterClose += 1 }
        drainCount += 1
        onDrain?(self, connection)
    }

    func connectionDidClose(_ connection: TCPConnection) {
        if closeCount > 0 { eventsAfterClose += 1 }
        closeCount += 1
        onClose?(self, connection)
    }
}

/// A byte stream that is easy to check incrementally: byte i is i % 251 (a prime, so chunk seams show up).
/// Built and compared from a precomputed window with memcmp, so multi-MiB transfers stay fast in debug builds.
enum Pattern {
    private static let period = 251
    private static let segment = 64 * 1024
    /// period + segment bytes: any segment of the stream is a contiguous slice of this window.
    private static let window: [UInt8] = (0..<(period + segment)).map { UInt8($0 % period) }

    static func bytes(from start: Int, count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var position = start
        while out.count < count {
            let n = min(segment, count - out.count)
            let phase = position % period
            out.append(contentsOf: window[phase..<(phase + n)])
            position += n
        }
        return out
    }

    /// Checks `bytes` as the continuation of the stream at `offset`; returns the new offset or nil on a mismatch.
    static func check(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int? {
        var done = 0
        while done < bytes.count {
            let n = min(segment, bytes.count - done)
            let phase = (offset + done) % period
            let equal = window.withUnsafeBytes { memcmp(bytes.baseAddress! + done, $0.baseAddress! + phase, n) == 0 }
            if !equal { return nil }
            done += n
        }
        return offset + bytes.count
    }
}

/// Whether ::1 can be bound here (some containers have no IPv6 loopback).
func ipv6LoopbackAvailable() -> Bool {
    guard let loop = try? EventLoop() else { return false }
    defer { _ = loop.close() }
    guard let listener = try? TCPListener(loop: loop, host: "::1", port: 0, reusePort: false, onConnection: { _ in })
    else { return false }
    listener.close()
    return true
}
