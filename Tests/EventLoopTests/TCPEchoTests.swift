// Round trips through a real loopback socket: echo over IPv4 and IPv6, EOF, ECONNREFUSED, bad literals.
import XCTest
import EventLoop

final class TCPEchoTests: XCTestCase {
    /// Client sends a message, the server echoes it, the client closes once it has everything back; the server sees
    /// EOF and closes; the listener closes when the client has gone. Every callback runs exactly once.
    private func echoRoundTrip(host: String, expectedPeerPrefix: String) throws {
        let loop = try EventLoop()
        let message = Array("ferry echo \(host) ".utf8) + Pattern.bytes(from: 0, count: 3_000)

        let serverDelegate = RecordingDelegate()
        serverDelegate.onRead = { _, connection, bytes in connection.write(Array(bytes)) }  // write from didRead
        serverDelegate.onEnd = { _, connection in connection.closeAfterPendingWrites() }
        var accepted: [TCPConnection] = []
        let listener = try TCPListener(loop: loop, host: host, port: 0, reusePort: false) { connection in
            accepted.append(connection)
            connection.delegate = serverDelegate
            connection.startReading()
        }
        let port = listener.localPort
        XCTAssertNotEqual(port, 0)

        let clientDelegate = RecordingDelegate()
        clientDelegate.onRead = { delegate, connection, _ in
            if delegate.received.count >= message.count { connection.close() }
        }
        clientDelegate.onClose = { _, _ in listener.close() }
        var connectCalls = 0
        var client: TCPConnection?
        TCPConnection.connect(loop: loop, host: host, port: port) { result in
            connectCalls += 1
            switch result {
            case .success(let connection):
                client = connection
                connection.delegate = clientDelegate
                connection.startReading()
                XCTAssertTrue(connection.isReading)
                connection.write(message)
                XCTAssertEqual(connection.pendingWriteBytes, message.count)
            case .failure(let error):
                XCTFail("connect failed: \(error)")
                listener.close()
            }
        }
        XCTAssertEqual(connectCalls, 0, "completion must not run inside connect()")

        runLoop(loop)

        XCTAssertEqual(connectCalls, 1)
        XCTAssertEqual(accepted.count, 1)
        XCTAssertEqual(clientDelegate.received, message)
        XCTAssertEqual(serverDelegate.received, message)
        XCTAssertEqual(clientDelegate.closeCount, 1)
        XCTAssertEqual(serverDelegate.closeCount, 1)
        XCTAssertEqual(serverDelegate.endCount, 1)
        XCTAssertEqual(clientDelegate.drainCount, 1)
        XCTAssertEqual(clientDelegate.failures, [])
        XCTAssertEqual(serverDelegate.failures, [])
        XCTAssertEqual(clientDelegate.eventsAfterClose + serverDelegate.eventsAfterClose, 0)
        XCTAssertEqual(client?.peerDescription, "\(expectedPeerPrefix):\(port)")  // cached, still there after close
        XCTAssertEqual(listener.localPort, 0, "a closed listener reports no port")
        XCTAssertTrue(client?.isClosed ?? false)
        XCTAssertTrue(accepted.first?.peerDescription.hasPrefix(expectedPeerPrefix + ":") ?? false,
                      accepted.first?.peerDescription ?? "none")
        XCTAssertEqual(loop.activeHandleCount, 0)
        XCTAssertTrue(loop.close())
    }

    func testEchoRoundTripIPv4() throws {
        try echoRoundTrip(host: "127.0.0.1", expectedPeerPrefix: "127.0.0.1")
    }

    func testEchoRoundTripIPv6() throws {
        try XCTSkipUnless(ipv6LoopbackAvailable(), "no IPv6 loopback")
        try echoRoundTrip(host: "::1", expectedPeerPrefix: "[::1]")
    }

    func testPeerDescriptionFormats() throws {
        let loop = try EventLoop()
        for (host, prefix) in [("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")] {
            if host == "::1", !ipv6LoopbackAvailable() { continue }
            var listener: TCPListener?
            listener = try TCPListener(loop: loop, host: host, port: 0, reusePort: false) { connection in
                connection.close()
            }
            let port = listener!.localPort
            var description = ""
            TCPConnection.connect(loop: loop, host: host, port: port) { result in
                guard case .success(let connection) = result else { return XCTFail("connect \(host)") }
                description = connection.peerDescription
                connection.close()
                listener?.close()
            }
            runLoop(loop)
            XCTAssertEqual(description, "\(prefix):\(port)")
        }
        XCTAssertTrue(loop.close())
    }

    /// The client sends and then closes after its writes; the server gets the bytes, then EOF exactly once.
    func testEndOfFileIsDelivered() throws {
        let loop = try EventLoop()
        let serverDelegate = RecordingDelegate()
        var readingAfterEnd: Bool?
        serverDelegate.onEnd = { _, connection in
            readingAfterEnd = connection.isReading
            connection.close()
        }
        var listener: TCPListener?
        listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: false) { connection in
            connection.delegate = serverDelegate
            connection.startReading()
            listener?.close()
        }
        let clientDelegate = RecordingDelegate()
        TCPConnection.connect(loop: loop, host: "127.0.0.1", port: listener!.localPort) { result in
            guard case .success(let connection) = result else { return XCTFail("connect") }
            connection.delegate = clientDelegate
            connection.write(Array("hello".utf8))
            connection.closeAfterPendingWrites()  // shutdown after the write, then close
            connection.write(Array("ignored".utf8))  // after closeAfterPendingWrites: dropped
        }
        runLoop(loop)
        XCTAssertEqual(serverDelegate.received, Array("hello".utf8))
        XCTAssertEqual(serverDelegate.endCount, 1)
        XCTAssertEqual(readingAfterEnd, false)
        XCTAssertEqual(serverDelegate.failures, [])
        XCTAssertEqual(serverDelegate.closeCount, 1)
        XCTAssertEqual(clientDelegate.closeCount, 1)
        XCTAssertEqual(clientDelegate.drainCount, 0, "no didDrain once closeAfterPendingWrites was asked")
        XCTAssertTrue(loop.close())
    }

    func testConnectToClosedPortFailsWithConnectionRefused() throws {
        let loop = try EventLoop()
        // Find a port nobody listens on: bind one, then close it.
        let probe = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: false) { _ in }
        let port = probe.localPort
        probe.close()
        runLoop(loop)

        var results: [Result<TCPConnection, UVError>] = []
        TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port) { results.append($0) }
        runLoop(loop)
        XCTAssertEqual(results.count, 1)
        if case .failure(let error) = results.first {
            XCTAssertEqual(error.code, UVError.connectionRefused)
            XCTAssertEqual(error.name, "ECONNREFUSED")
            XCTAssertEqual(error.function, "uv_tcp_connect")
            XCTAssertFalse(error.message.isEmpty)
        } else {
            XCTFail("expected ECONNREFUSED, got \(String(describing: results.first))")
        }
        XCTAssertEqual(loop.activeHandleCount, 0)
        XCTAssertTrue(loop.close())
    }

    func testConnectToMalformedLiteralFailsAsynchronously() throws {
        let loop = try EventLoop()
        var results: [Result<TCPConnection, UVError>] = []
        TCPConnection.connect(loop: loop, host: "localhost", port: 1) { results.append($0) }
        TCPConnection.connect(loop: loop, host: "::zz", port: 1) { results.append($0) }
        XCTAssertEqual(results.count, 0)
        runLoop(loop)
        XCTAssertEqual(results.count, 2)
        for result in results {
            guard case .failure(let error) = result else { XCTFail("expected EINVAL"); continue }
            XCTAssertEqual(error.code, UVError.invalidArgument, "\(error)")
        }
        XCTAssertTrue(loop.close())
    }

    func testListenerRejectsMalformedLiteral() throws {
        let loop = try EventLoop()
        XCTAssertThrowsError(try TCPListener(loop: loop, host: "not-an-ip", port: 0, reusePort: false) { _ in }) {
            XCTAssertEqual(($0 as? UVError)?.code, UVError.invalidArgument)
        }
        XCTAssertEqual(loop.activeHandleCount, 0)
        XCTAssertTrue(loop.close())
    }
}
