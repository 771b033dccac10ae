// SO_REUSEPORT through the shim: two listeners share a port, a third without the option is refused.
import XCTest
import EventLoop

final class TCPListenerTests: XCTestCase {
    func testReusePortAllowsTwoListenersAndRefusesAThirdWithoutIt() throws {
        let loop = try EventLoop()
        let first = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: true) { $0.close() }
        let port = first.localPort
        XCTAssertNotEqual(port, 0)
        let second = try TCPListener(loop: loop, host: "127.0.0.1", port: port, reusePort: true) { $0.close() }
        XCTAssertEqual(second.localPort, port)
        XCTAssertThrowsError(try TCPListener(loop: loop, host: "127.0.0.1", port: port, reusePort: false) { _ in }) {
            let error = $0 as? UVError
            XCTAssertEqual(error?.code, UVError.addressInUse, "\(String(describing: error))")
            XCTAssertEqual(error?.name, "EADDRINUSE")
            // libuv defers the bind error to uv_listen (src/unix/tcp.c, delayed_error).
            XCTAssertTrue(error?.function == "uv_listen" || error?.function == "uv_tcp_bind")
        }
        XCTAssertEqual(loop.activeHandleCount, 2, "the failed listener is closing and no longer counts")
        first.close()
        second.close()
        first.close()  // idempotent
        runLoop(loop)
        XCTAssertTrue(first.isClosed && second.isClosed)
        XCTAssertTrue(loop.close())
    }

    func testIPv6AnyAcceptsIPv6LoopbackConnections() throws {
        try XCTSkipUnless(ipv6LoopbackAvailable(), "no IPv6 loopback")
        let loop = try EventLoop()
        var accepted = 0
        var listener: TCPListener?
        listener = try TCPListener(loop: loop, host: "::", port: 0, reusePort: false, backlog: 16) { connection in
            accepted += 1
            connection.close()
            listener?.close()
        }
        var connected = 0
        TCPConnection.connect(loop: loop, host: "::1", port: listener!.localPort) { result in
            if case .success(let connection) = result { connected += 1; connection.close() }
        }
        runLoop(loop)
        XCTAssertEqual(accepted, 1)
        XCTAssertEqual(connected, 1)
        XCTAssertTrue(loop.close())
    }

    /// Connections accepted but never handed a delegate, and a listener never closed: EventLoop.close() closes them.
    func testLoopCloseClosesEverythingLeftOpen() throws {
        let loop = try EventLoop()
        var accepted: [TCPConnection] = []
        var clients: [TCPConnection] = []
        let listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: false) { connection in
            accepted.append(connection)
            if !clients.isEmpty { loop.stop() }
        }
        let clientDelegate = RecordingDelegate()
        TCPConnection.connect(loop: loop, host: "127.0.0.1", port: listener.localPort) { result in
            guard case .success(let connection) = result else { return XCTFail("connect") }
            connection.delegate = clientDelegate
            connection.startReading()
            connection.write([1, 2, 3])
            clients.append(connection)
            if !accepted.isEmpty { loop.stop() }
        }
        let timer = LoopTimer(loop: loop)
        timer.start(afterMilliseconds: 60_000) { XCTFail("never") }
        let waker = try LoopWaker(loop: loop) {}
        let watcher = try SignalWatcher(loop: loop, signal: SIGUSR2) { _ in }
        runLoop(loop)  // returns once both ends exist (stop())
        XCTAssertEqual(accepted.count, 1)
        XCTAssertGreaterThanOrEqual(loop.activeHandleCount, 6)  // listener, 2 connections, timer, waker, watcher
        XCTAssertTrue(loop.close())
        XCTAssertEqual(loop.activeHandleCount, 0)
        XCTAssertTrue(listener.isClosed && accepted[0].isClosed)
        XCTAssertEqual(clientDelegate.closeCount, 1, "didClose runs for connections closed by EventLoop.close()")
        XCTAssertFalse(timer.isActive)
        waker.wake()  // after close: a no-op, not a crash
        watcher.close()
        XCTAssertTrue(loop.close(), "idempotent")
    }
}
