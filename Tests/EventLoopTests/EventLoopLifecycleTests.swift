// The loop itself and the error choke point.
import XCTest
@testable import EventLoop

final class EventLoopLifecycleTests: XCTestCase {
    func testEmptyLoopRunsAndClosesCleanly() throws {
        let loop = try EventLoop()
        XCTAssertEqual(loop.activeHandleCount, 0)
        loop.run()  // nothing to do: returns at once
        XCTAssertTrue(loop.close())
        XCTAssertTrue(loop.isClosed)
        XCTAssertTrue(loop.close(), "idempotent")
        XCTAssertEqual(loop.activeHandleCount, 0)
        loop.stop()  // no-op after close
    }

    /// The internal deferral used for synchronous libuv errors runs later, once, on the loop thread.
    func testEnqueuedCallRunsLaterExactlyOnce() throws {
        let loop = try EventLoop()
        var calls: [Int] = []
        loop.enqueue { calls.append(1) }
        loop.enqueue { calls.append(2) }
        XCTAssertEqual(calls, [])
        runLoop(loop)
        XCTAssertEqual(calls.sorted(), [1, 2])
        XCTAssertTrue(loop.close())
    }

    /// A pending request is finished, not abandoned, by close(): its completion runs exactly once.
    func testCloseWaitsForPendingFileRequests() throws {
        let loop = try EventLoop()
        var results: [Result<FileStatus?, UVError>] = []
        FileIO.stat(loop, path: "/") { results.append($0) }
        XCTAssertTrue(loop.close())
        XCTAssertEqual(results.count, 1)
        XCTAssertEqual(try results.first?.get()?.isDirectory, true)
    }

    func testClocks() throws {
        let loop = try EventLoop()
        let before = loop.nowMilliseconds
        let start = EventLoop.hrtimeNanoseconds
        usleep(20_000)
        XCTAssertGreaterThanOrEqual(EventLoop.hrtimeNanoseconds - start, 19_000_000)
        XCTAssertEqual(loop.nowMilliseconds, before, "uv_now is cached until the loop updates it")
        loop.updateTime()
        XCTAssertGreaterThanOrEqual(loop.nowMilliseconds, before + 19)
        XCTAssertTrue(loop.close())
    }

    func testErrorNamesMessagesAndChokePoint() {
        let refused = UVError(code: UVError.connectionRefused, function: "uv_tcp_connect")
        XCTAssertEqual(refused.name, "ECONNREFUSED")
        XCTAssertEqual(refused.message, "connection refused")
        XCTAssertEqual(refused.description, "uv_tcp_connect: ECONNREFUSED (connection refused)")
        XCTAssertEqual(UVError(code: UVError.endOfFile, function: "uv_read").name, "EOF")
        XCTAssertTrue(UVError(code: -99_999, function: "x").name.contains("99999"))  // unknown codes: no leak, no crash

        XCTAssertNoThrow(try uvCheck(0, "uv_ok"))
        XCTAssertNoThrow(try uvCheck(7, "uv_positive"))
        XCTAssertThrowsError(try uvCheck(UVError.addressInUse, "uv_listen")) {
            XCTAssertEqual($0 as? UVError, UVError(code: UVError.addressInUse, function: "uv_listen"))
        }
        XCTAssertEqual(try uvResult(42, "uv_fs_write").get(), 42)
        // EBADF from a request (a caller's fd) is reported, not trapped.
        XCTAssertEqual(uvResult(Int(UVError.badFileDescriptor), "uv_fs_close"),
                       .failure(UVError(code: UVError.badFileDescriptor, function: "uv_fs_close")))
    }
}
