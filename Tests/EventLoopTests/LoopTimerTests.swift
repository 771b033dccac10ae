// Timers: ordering, stop, repeat, restart and close from inside the callback.
import XCTest
import EventLoop

final class LoopTimerTests: XCTestCase {
    func testTimersFireInOrderAndAStoppedTimerDoesNot() throws {
        let loop = try EventLoop()
        var fired: [Int] = []
        var timers: [LoopTimer] = []
        for delay in [30, 10, 20] {
            let timer = LoopTimer(loop: loop)
            timer.start(afterMilliseconds: UInt64(delay)) {
                fired.append(delay)
                timer.close()
            }
            timers.append(timer)
        }
        let stopped = LoopTimer(loop: loop)
        stopped.start(afterMilliseconds: 15) { fired.append(-1) }
        XCTAssertTrue(stopped.isActive)
        stopped.stop()
        XCTAssertFalse(stopped.isActive)
        let start = EventLoop.hrtimeNanoseconds
        runLoop(loop)  // the stopped timer is open but inactive: it does not keep the loop running
        let elapsedMilliseconds = (EventLoop.hrtimeNanoseconds - start) / 1_000_000
        XCTAssertEqual(fired, [10, 20, 30])
        XCTAssertGreaterThanOrEqual(elapsedMilliseconds, 29)
        XCTAssertEqual(loop.activeHandleCount, 1, "the stopped timer is still open")
        stopped.close()
        XCTAssertEqual(loop.activeHandleCount, 0)
        XCTAssertTrue(loop.close())
        XCTAssertTrue(timers.allSatisfy { !$0.isActive })
    }

    func testRepeatingTimerAndRestartFromCallback() throws {
        let loop = try EventLoop()
        var ticks = 0
        var restarted = 0
        let timer = LoopTimer(loop: loop)
        let before = loop.nowMilliseconds
        timer.start(afterMilliseconds: 5, repeatMilliseconds: 5) {
            ticks += 1
            guard ticks == 3 else { return }
            timer.start(afterMilliseconds: 1) {  // replaces callback and schedule from inside the callback
                restarted += 1
                timer.close()
                timer.start(afterMilliseconds: 1) { XCTFail("start after close must be a no-op") }
            }
        }
        runLoop(loop)
        XCTAssertEqual(ticks, 3)
        XCTAssertEqual(restarted, 1)
        XCTAssertGreaterThanOrEqual(loop.nowMilliseconds, before + 15)
        XCTAssertTrue(loop.close())
    }

    func testStopFromAnotherTimerCallback() throws {
        let loop = try EventLoop()
        var lateFired = 0
        let late = LoopTimer(loop: loop)
        late.start(afterMilliseconds: 40) { lateFired += 1 }
        let early = LoopTimer(loop: loop)
        early.start(afterMilliseconds: 5) {
            late.stop()
            early.close()
        }
        runLoop(loop)
        XCTAssertEqual(lateFired, 0)
        XCTAssertTrue(loop.close())  // closes `late`, still open
    }
}
