// Bulk transfer, write-queue accounting, read backpressure, and closing from inside delegate callbacks.
import XCTest
import EventLoop

final class TCPFlowTests: XCTestCase {
    /// Opens a listener whose accepted connections get `serverDelegate` and start reading, then connects a client
    /// and hands it to `connected`. The listener closes after the first accept.
    private func connectPair(_ loop: EventLoop, serverDelegate: RecordingDelegate, startServerReading: Bool = true,
                             serverSetup: ((TCPConnection) -> Void)? = nil,
                             connected: @escaping (TCPConnection) -> Void) throws {
        var listener: TCPListener?
        listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: false) { connection in
            connection.delegate = serverDelegate
            serverSetup?(connection)
            if startServerReading { connection.startReading() }
            listener?.close()
        }
        TCPConnection.connect(loop: loop, host: "127.0.0.1", port: listener!.localPort) { result in
            switch result {
            case .success(let connection): connected(connection)
            case .failure(let error): XCTFail("connect: \(error)"); listener?.close()
            }
        }
    }

    /// 1 MiB in 64 pieces of varying size arrives byte-exact; pendingWriteBytes goes 1 MiB → 0 with one didDrain.
    func testOneMebibyteInPiecesArrivesExactlyWithOneDrain() throws {
        let loop = try EventLoop()
        let total = 1 << 20
        let serverDelegate = RecordingDelegate()
        serverDelegate.keepsBytes = false
        var serverOffset: Int? = 0
        serverDelegate.onRead = { _, _, bytes in serverOffset = serverOffset.flatMap { Pattern.check(bytes, at: $0) } }
        serverDelegate.onEnd = { _, connection in connection.close() }

        let clientDelegate = RecordingDelegate()
        var pendingAtDrain: Int?
        var pendingAfterQueueing = 0
        clientDelegate.onDrain = { _, connection in
            pendingAtDrain = connection.pendingWriteBytes
            connection.closeAfterPendingWrites()  // nothing pending: closes now, the server sees EOF
        }
        try connectPair(loop, serverDelegate: serverDelegate) { connection in
            connection.delegate = clientDelegate
            var offset = 0
            var piece = 1
            while offset < total {
                let count = min(piece * 531 % 32_768 + 1, total - offset)
                connection.write(Pattern.bytes(from: offset, count: count))
                offset += count
                piece += 1
            }
            pendingAfterQueueing = connection.pendingWriteBytes
        }
        runLoop(loop)
        XCTAssertEqual(pendingAfterQueueing, total)
        XCTAssertEqual(pendingAtDrain, 0)
        XCTAssertEqual(clientDelegate.drainCount, 1)
        XCTAssertEqual(serverOffset, total, "bytes arrived out of pattern or incomplete")
        XCTAssertEqual(serverDelegate.endCount, 1)
        XCTAssertEqual(serverDelegate.closeCount, 1)
        XCTAssertEqual(clientDelegate.closeCount, 1)
        XCTAssertEqual(serverDelegate.failures + clientDelegate.failures, [])
        XCTAssertTrue(loop.close())
    }

    /// The server stops reading after its first read: nothing is delivered while paused and the client's writes
    /// queue up (pendingWriteBytes stays > 0). After startReading everything arrives in order.
    func testStopReadingPausesDeliveryAndStartReadingResumes() throws {
        let loop = try EventLoop()
        let total = 8 << 20
        let pauseMilliseconds: UInt64 = 300
        let serverDelegate = RecordingDelegate()
        serverDelegate.keepsBytes = false
        var serverOffset: Int? = 0
        var paused = false
        var readsWhilePaused = 0
        var receivedAtPause = 0
        var receivedAtResume = 0
        var clientPendingAtResume = 0
        var client: TCPConnection?
        let resumeTimer = LoopTimer(loop: loop)

        serverDelegate.onRead = { delegate, connection, bytes in
            if paused { readsWhilePaused += 1 }
            serverOffset = serverOffset.flatMap { Pattern.check(bytes, at: $0) }
            guard delegate.readCount == 1 else { return }
            connection.stopReading()  // backpressure, from inside didRead
            XCTAssertFalse(connection.isReading)
            paused = true
            receivedAtPause = serverOffset ?? -1
            resumeTimer.start(afterMilliseconds: pauseMilliseconds) {
                paused = false
                receivedAtResume = serverOffset ?? -1
                clientPendingAtResume = client?.pendingWriteBytes ?? -1
                connection.startReading()
                resumeTimer.close()
            }
        }
        serverDelegate.onEnd = { _, connection in connection.close() }

        let clientDelegate = RecordingDelegate()
        clientDelegate.onDrain = { _, connection in connection.close() }
        try connectPair(loop, serverDelegate: serverDelegate, serverSetup: { server in
            server.setSocketBufferSizes(send: nil, receive: 64 * 1024)
        }) { connection in
            client = connection
            connection.delegate = clientDelegate
            connection.setSocketBufferSizes(send: 64 * 1024, receive: nil)
            connection.setNoDelay(true)
            for offset in stride(from: 0, to: total, by: 64 * 1024) {
                connection.write(Pattern.bytes(from: offset, count: 64 * 1024))
            }
        }
        runLoop(loop, timeoutMilliseconds: 20_000)
        XCTAssertEqual(readsWhilePaused, 0, "didRead while paused")
        XCTAssertEqual(receivedAtResume, receivedAtPause, "bytes were delivered while paused")
        XCTAssertGreaterThan(clientPendingAtResume, 0, "the client's writes should have queued up")
        XCTAssertLessThan(receivedAtPause, total)
        XCTAssertEqual(serverOffset, total)
        XCTAssertEqual(clientDelegate.drainCount, 1)
        XCTAssertEqual(serverDelegate.endCount, 1)
        XCTAssertEqual(serverDelegate.failures + clientDelegate.failures, [])
        XCTAssertTrue(loop.close())
    }

    /// close() from inside didRead: no read after it, exactly one didClose, and the peer sees the close.
    func testCloseFromInsideDidRead() throws {
        let loop = try EventLoop()
        let serverDelegate = RecordingDelegate()
        serverDelegate.onRead = { _, connection, bytes in
            for _ in 0..<3 { connection.write(Array(bytes)) }
        }
        serverDelegate.onEnd = { _, connection in connection.close() }
        serverDelegate.onFail = { _, connection, _ in connection.close() }  // ECONNRESET is fine too

        let clientDelegate = RecordingDelegate()
        var closedInsideRead = 0
        clientDelegate.onRead = { _, connection, _ in
            connection.close()
            connection.close()  // idempotent
            connection.write([1, 2, 3])  // no-op after close
            connection.startReading()  // no-op after close
            closedInsideRead += 1
        }
        try connectPair(loop, serverDelegate: serverDelegate) { connection in
            connection.delegate = clientDelegate
            connection.startReading()
            connection.write(Pattern.bytes(from: 0, count: 100_000))
        }
        runLoop(loop)
        XCTAssertEqual(closedInsideRead, 1)
        XCTAssertEqual(clientDelegate.readCount, 1)
        XCTAssertEqual(clientDelegate.closeCount, 1)
        XCTAssertEqual(clientDelegate.eventsAfterClose, 0)
        XCTAssertEqual(clientDelegate.failures, [])
        XCTAssertEqual(serverDelegate.closeCount, 1)
        XCTAssertTrue(loop.close())
    }

    /// close() from inside didDrain, on both sides. Two connections so that no side closes with unread data
    /// (which would reset the other): on the first the client is the sender, on the second the server is.
    /// Closing after the drain still delivers everything: the bytes are in the kernel, followed by FIN.
    func testCloseFromInsideDidDrain() throws {
        let loop = try EventLoop()
        let size = 256 * 1024
        let sink = RecordingDelegate()  // server side of connection 1
        sink.onEnd = { _, connection in connection.close() }
        let source = RecordingDelegate()  // server side of connection 2
        source.onDrain = { _, connection in connection.close() }
        var acceptedCount = 0
        var listener: TCPListener?
        listener = try TCPListener(loop: loop, host: "127.0.0.1", port: 0, reusePort: false) { connection in
            acceptedCount += 1
            if acceptedCount == 1 {
                connection.delegate = sink
                connection.startReading()
            } else {
                connection.delegate = source
                connection.write(Pattern.bytes(from: 0, count: size))
                listener?.close()
            }
        }
        let port = listener!.localPort

        let sender = RecordingDelegate()  // client side of connection 1
        sender.onDrain = { _, connection in
            XCTAssertEqual(connection.pendingWriteBytes, 0)
            connection.close()
        }
        let receiver = RecordingDelegate()  // client side of connection 2
        receiver.onEnd = { _, connection in connection.close() }
        TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port) { result in
            guard case .success(let connection) = result else { return XCTFail("connect 1") }
            connection.delegate = sender
            connection.write(Pattern.bytes(from: 0, count: size))
            // The second connection starts only after the first is accepted, so the roles cannot swap.
            TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port) { result in
                guard case .success(let connection) = result else { return XCTFail("connect 2") }
                connection.delegate = receiver
                connection.startReading()
            }
        }
        runLoop(loop)
        XCTAssertEqual(sender.drainCount, 1)
        XCTAssertEqual(source.drainCount, 1)
        XCTAssertEqual(sink.received, Pattern.bytes(from: 0, count: size))
        XCTAssertEqual(receiver.received, Pattern.bytes(from: 0, count: size))
        XCTAssertEqual(sink.endCount + receiver.endCount, 2)
        for delegate in [sender, source, sink, receiver] {
            XCTAssertEqual(delegate.closeCount, 1)
            XCTAssertEqual(delegate.eventsAfterClose, 0)
            XCTAssertEqual(delegate.failures, [])
        }
        XCTAssertTrue(loop.close())
    }

    /// Writing to a peer that has gone: the write fails (EPIPE or ECONNRESET; SIGPIPE is ignored by the loop),
    /// didFail runs once, the connection closes itself and the remaining writes are cancelled quietly.
    func testWriteErrorReportsOnceAndClosesTheConnection() throws {
        let loop = try EventLoop()
        let serverDelegate = RecordingDelegate()
        let clientDelegate = RecordingDelegate()
        let writer = LoopTimer(loop: loop)
        var pendingAtClose = -1
        clientDelegate.onClose = { _, connection in pendingAtClose = connection.pendingWriteBytes }
        clientDelegate.onEnd = { _, connection in
            // The peer closed; keep writing until the kernel reports the broken connection.
            writer.start(afterMilliseconds: 0, repeatMilliseconds: 5) {
                if connection.isClosed { return writer.close() }
                for _ in 0..<4 { connection.write(Pattern.bytes(from: 0, count: 16 * 1024)) }
            }
        }
        try connectPair(loop, serverDelegate: serverDelegate, serverSetup: { $0.close() }) { connection in
            connection.delegate = clientDelegate
            connection.startReading()
        }
        runLoop(loop)
        XCTAssertEqual(clientDelegate.endCount, 1)
        XCTAssertEqual(clientDelegate.failures.count, 1, "\(clientDelegate.failures)")
        let code = clientDelegate.failures.first?.code
        XCTAssertTrue(code == UVError.brokenPipe || code == UVError.connectionReset, "\(clientDelegate.failures)")
        XCTAssertEqual(clientDelegate.failures.first?.function, "uv_write")
        XCTAssertEqual(clientDelegate.closeCount, 1)
        XCTAssertEqual(clientDelegate.eventsAfterClose, 0)
        XCTAssertEqual(pendingAtClose, 0)
        XCTAssertEqual(serverDelegate.closeCount, 1)
        XCTAssertTrue(loop.close())
    }

    /// close() with writes still queued: they are cancelled silently (no didFail, no didDrain), the accounting
    /// returns to 0, and the connection object outlives the cancelled write callbacks even though nobody holds it.
    func testCloseWithQueuedWritesCancelsThemQuietly() throws {
        let loop = try EventLoop()
        let serverDelegate = RecordingDelegate()
        serverDelegate.onFail = { _, connection, _ in connection.close() }
        serverDelegate.onEnd = { _, connection in connection.close() }
        let clientDelegate = RecordingDelegate()
        var pendingBeforeClose = 0
        var pendingAfterClose = -1
        clientDelegate.onClose = { _, connection in pendingAfterClose = connection.pendingWriteBytes }
        let closer = LoopTimer(loop: loop)
        try connectPair(loop, serverDelegate: serverDelegate, startServerReading: false, serverSetup: { server in
            server.setSocketBufferSizes(send: nil, receive: 32 * 1024)
            server.startReading()
            server.stopReading()
        }) { connection in
            connection.delegate = clientDelegate
            connection.setSocketBufferSizes(send: 32 * 1024, receive: nil)
            for offset in stride(from: 0, to: 4 << 20, by: 32 * 1024) {
                connection.write(Pattern.bytes(from: offset, count: 32 * 1024))
            }
            closer.start(afterMilliseconds: 100) { [unowned connection] in
                pendingBeforeClose = connection.pendingWriteBytes
                connection.close()
                closer.close()
            }
        }
        runLoop(loop)  // the server connection is idle (not reading), so the loop ends after the client closes
        XCTAssertGreaterThan(pendingBeforeClose, 0)
        XCTAssertEqual(pendingAfterClose, 0)
        XCTAssertEqual(clientDelegate.failures, [])
        XCTAssertEqual(clientDelegate.drainCount, 0)
        XCTAssertEqual(clientDelegate.closeCount, 1)
        XCTAssertTrue(loop.close())  // also closes the server connection, which was never told to close
        XCTAssertEqual(serverDelegate.closeCount, 1)
    }
}
