// LoopWaker (the only cross-thread entry) and SignalWatcher.
import XCTest
import Foundation
import EventLoop

final class CrossThreadTests: XCTestCase {
    func testWakerWokenFromAnotherThreadRunsOnTheLoopThread() throws {
        let loop = try EventLoop()
        let loopThread = pthread_self()
        var calls = 0
        var onLoopThread = true
        var waker: LoopWaker?
        waker = try LoopWaker(loop: loop) {
            calls += 1
            onLoopThread = onLoopThread && pthread_equal(pthread_self(), loopThread) != 0
            waker?.close()
        }
        let sender = waker!
        let thread = Thread {
            usleep(20_000)
            sender.wake()
        }
        thread.start()
        runLoop(loop)  // the open waker keeps the loop alive until its callback closes it
        XCTAssertEqual(calls, 1)
        XCTAssertTrue(onLoopThread)
        sender.wake()  // after close: no-op
        XCTAssertTrue(loop.close())
    }

    /// Many wakes from several threads coalesce; the callback runs at least once and at most once per wake.
    func testManyWakesCoalesceAndAreSafeDuringClose() throws {
        let loop = try EventLoop()
        let wakesPerThread = 1_000
        var calls = 0
        var waker: LoopWaker?
        waker = try LoopWaker(loop: loop) { calls += 1 }
        let sender = waker!
        let finished = LoopTimer(loop: loop)
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                for _ in 0..<wakesPerThread { sender.wake() }
                group.leave()
            }.start()
        }
        finished.start(afterMilliseconds: 10, repeatMilliseconds: 10) {
            // Close while other threads may still be waking: wake() then sees the closed flag under the lock.
            if calls > 0 {
                waker?.close()
                finished.close()
            }
        }
        runLoop(loop)
        group.wait()
        XCTAssertGreaterThanOrEqual(calls, 1)
        XCTAssertLessThanOrEqual(calls, 4 * wakesPerThread)
        XCTAssertTrue(loop.close())
    }

    func testSignalWatcherFiresOnRaise() throws {
        let loop = try EventLoop()
        var received: [Int32] = []
        var watcher: SignalWatcher?
        watcher = try SignalWatcher(loop: loop, signal: SIGUSR1) { signal in
            received.append(signal)
            watcher?.close()
        }
        XCTAssertEqual(watcher?.signal, SIGUSR1)
        let raiser = LoopTimer(loop: loop)
        raiser.start(afterMilliseconds: 5) {
            raise(SIGUSR1)
            raiser.close()
        }
        runLoop(loop)
        XCTAssertEqual(received, [SIGUSR1])
        XCTAssertTrue(loop.close())
    }

    func testUnreferencedSignalWatcherDoesNotKeepTheLoopAlive() throws {
        let loop = try EventLoop()
        let watcher = try SignalWatcher(loop: loop, signal: SIGUSR2) { _ in XCTFail("no SIGUSR2 was sent") }
        XCTAssertTrue(watcher.keepsLoopAlive)
        watcher.keepsLoopAlive = false
        runLoop(loop, timeoutMilliseconds: 1_000)  // returns at once: nothing referenced is active
        XCTAssertEqual(loop.activeHandleCount, 1)
        XCTAssertTrue(loop.close())
    }

    func testInvalidSignalThrows() throws {
        let loop = try EventLoop()
        XCTAssertThrowsError(try SignalWatcher(loop: loop, signal: 0) { _ in }) {
            XCTAssertEqual(($0 as? UVError)?.code, UVError.invalidArgument)
        }
        XCTAssertTrue(loop.close())
    }
}
