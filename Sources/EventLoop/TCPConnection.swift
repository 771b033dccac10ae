// One TCP stream (uv_tcp_t), accepted by a TCPListener or made by `TCPConnection.connect`.
//
//     open ──closeAfterPendingWrites()──▶ shuttingDown ──(uv_shutdown callback)──┐
//      │                                       │                                 ▼
//      └──close() / read or write error──────▶ closing ◀──────close()─────────────┘
//                                              │
//                                  uv_close callback: didFail (if deferred), didClose; handle and buffer freed
//                                              ▼
//                                           closed
//
// Lifetime: `handle.data` holds a +1 on self from init until the close callback, so a connection outlives every
// libuv callback for it even if the delegate drops it (libuv calls pending write/shutdown/connect callbacks with
// ECANCELED before the close callback: uv__stream_destroy). Delegate events come only from libuv callbacks, never
// from inside a public method: an error returned synchronously (uv_write, uv_read_start) is kept and reported from
// the close callback, just before connectionDidClose.
internal import CLibUV

public final class TCPConnection: LoopHandleOwner {
    enum State { case open, shuttingDown, closing, closed }

    public weak var delegate: TCPConnectionDelegate?
    let loop: EventLoop
    let tcp: UnsafeMutablePointer<uv_tcp_t>
    var stream: UnsafeMutablePointer<uv_stream_t> { asStream(tcp) }
    private(set) var state = State.open
    private var sawEndOfFile = false
    /// An error returned synchronously by a libuv call; reported from the close callback.
    private var deferredError: UVError?
    /// A connect that failed before uv_tcp_connect could take it; completed from the close callback.
    var deferredConnectFailure: ((Result<TCPConnection, UVError>) -> Void, UVError)?
    private var cachedPeerDescription: String?
    private var cachedPeerAddress: [UInt8]?

    public private(set) var isReading = false
    /// Bytes passed to `write` whose write callbacks have not run yet.
    public private(set) var pendingWriteBytes = 0
    /// Bytes whose write completed (handed to the kernel): with the bytes read, what a stall detector watches.
    public private(set) var writtenBytes: UInt64 = 0

    /// uv_tcp_init on a fresh heap handle; the caller accepts into it or connects it.
    init(loop: EventLoop) {
        precondition(!loop.isClosed, "TCPConnection on a closed EventLoop")
        self.loop = loop
        tcp = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        let rc = uv_tcp_init(loop.raw, tcp)  // AF_UNSPEC: creates no socket and cannot fail
        precondition(rc == 0, "uv_tcp_init failed: \(rc)")
        tcp.pointee.data = Unmanaged.passRetained(self).toOpaque()  // released in connectionDidCloseHandle
    }

    public var isClosed: Bool { state == .closing || state == .closed }

    // MARK: Reading

    /// uv_read_start into the connection's reusable buffer. No-op when already reading, after EOF or after close.
    public func startReading() {
        guard state == .open, !isReading, !sawEndOfFile else { return }
        let rc = uv_read_start(stream, connectionAllocate, connectionDidReadCallback)
        if rc < 0 { return closeReportingLater(uvError(rc, "uv_read_start")) }
        isReading = true
    }

    /// uv_read_stop: the peer's data then queues in the kernel and, once that fills, TCP flow control stops it.
    public func stopReading() {
        guard isReading, state == .open || state == .shuttingDown else { return }
        isReading = false
        _ = uv_read_stop(stream)  // always 0
    }

    /// alloc_cb: every connection of a loop reads into the loop's one buffer (libuv calls read_cb right after the
    /// read, before any other connection's alloc_cb), so an idle connection holds no read memory at all.
    /// Whether the read in progress goes into the delegate's own room (`readBuffer(for:)`).
    private var readingInPlace = false

    fileprivate func nextReadBuffer() -> UnsafeMutableRawBufferPointer {
        if let room = delegate?.readBuffer(for: self), room.count > 0 {
            readingInPlace = true
            return room
        }
        readingInPlace = false
        return loop.readBuffer
    }

    fileprivate func didRead(_ nread: Int, _ base: UnsafeMutableRawPointer?) {
        if nread > 0 {
            guard state == .open || state == .shuttingDown else { return }
            if readingInPlace {
                delegate?.connection(self, didReadInPlace: nread)
                return
            }
            delegate?.connection(self, didRead: UnsafeRawBufferPointer(start: base, count: nread))
        } else if nread == 0 {
            return  // EAGAIN: libuv already waits for the next readable event
        } else if nread == Int(UV_EOF.rawValue) {
            isReading = false  // libuv stopped reading itself (uv__stream_eof)
            sawEndOfFile = true
            guard state == .open || state == .shuttingDown else { return }
            delegate?.connectionDidReachEnd(self)
        } else {
            isReading = false
            fail(uvError(Int32(truncatingIfNeeded: nread), "uv_read"))
        }
    }

    // MARK: Writing

    /// Queues `bytes` with uv_write (copied; see WriteRequest). No-op when empty, closing or closed, or after
    /// `closeAfterPendingWrites()`.
    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    /// Queues a copy of `bytes` with uv_write; the buffer may be reused as soon as this returns.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        guard state == .open, !bytes.isEmpty else { return }
        if bytes.count > WriteBufferPool.blockPayload {
            // In pooled pieces: a flush of several MiB (a Get's blocks sealed together) allocated afresh would cost
            // its page faults, and its unmapping, every time.
            var start = 0
            while start < bytes.count {
                let end = min(start + WriteBufferPool.blockPayload, bytes.count)
                write(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                start = end
            }
            return
        }
        let (request, buffer) = WriteRequest.make(copying: bytes, pool: loop.writeBuffers)
        var buffers = buffer  // uv_write copies the uv_buf_t array, not the bytes
        let rc = uv_write(request, stream, &buffers, 1, connectionWriteDidComplete)
        if rc < 0 {
            WriteRequest.free(request, pool: loop.writeBuffers)
            return closeReportingLater(uvError(rc, "uv_write"))
        }
        pendingWriteBytes += bytes.count
    }

    /// Queues a write whose bytes `fill` produces in place, in a buffer of `capacity` bytes that the write then owns
    /// (pooled when large): `fill` returns how many it wrote, and 0 writes nothing. For a sender that makes its bytes
    /// anyway (sealing records), this saves the copy `write(_:)` makes. `fill` is not called when closing or closed.
    public func write(capacity: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Int) {
        guard state == .open, capacity > 0 else { return }
        let (request, payload) = WriteRequest.make(capacity: capacity, pool: loop.writeBuffers)
        let count = fill(payload)
        precondition(count >= 0 && count <= capacity, "filled \(count) of \(capacity) bytes")
        guard count > 0, state == .open else { return WriteRequest.free(request, pool: loop.writeBuffers) }
        var buffers = WriteRequest.finish(request, byteCount: count)
        let rc = uv_write(request, stream, &buffers, 1, connectionWriteDidComplete)
        if rc < 0 {
            WriteRequest.free(request, pool: loop.writeBuffers)
            return closeReportingLater(uvError(rc, "uv_write"))
        }
        pendingWriteBytes += count
    }

    fileprivate func writeDidComplete(byteCount: Int, status: Int32) {
        pendingWriteBytes -= byteCount
        if status >= 0 { writtenBytes += UInt64(byteCount) }
        assert(pendingWriteBytes >= 0)
        if status < 0 {
            // ECANCELED: we are closing and libuv flushed the queue; nothing to report.
            if status != UV_ECANCELED.rawValue { fail(uvError(status, "uv_write")) }
            return
        }
        if pendingWriteBytes == 0, state == .open { delegate?.connectionDidDrain(self) }
    }

    // MARK: Closing

    /// Idempotent. uv_close; the handle is freed, and the +1 on self dropped, in the close callback, which then
    /// calls `connectionDidClose`. Queued writes are cancelled.
    public func close() {
        guard state == .open || state == .shuttingDown else { return }
        state = .closing
        isReading = false
        uv_close(asHandle(tcp), connectionDidCloseHandle)
    }

    /// Stops reading and closes once every queued write has completed (e.g. after sending an alert). Uses
    /// uv_shutdown, which runs after the write queue drains and sends FIN, so the peer reads everything before EOF.
    /// Later writes are ignored.
    public func closeAfterPendingWrites() {
        guard state == .open else { return }
        stopReading()
        if pendingWriteBytes == 0 { return close() }
        state = .shuttingDown
        let request = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
        if uv_shutdown(request, stream, connectionDidShutdown) < 0 {  // ENOTCONN/EPIPE: nothing left to flush to
            request.deallocate()
            close()
        }
    }

    /// Reports `error` through the delegate (we are inside a libuv callback) and closes.
    private func fail(_ error: UVError) {
        guard state == .open || state == .shuttingDown else { return }
        delegate?.connection(self, didFail: error)
        close()
    }

    /// Closes now and reports `error` from the close callback (we are inside a public method).
    private func closeReportingLater(_ error: UVError) {
        deferredError = error
        close()
    }

    fileprivate func didCloseHandle() {
        state = .closed
        isReading = false
        tcp.deallocate()
        if let (completion, error) = deferredConnectFailure {
            deferredConnectFailure = nil
            completion(.failure(error))
        }
        if let error = deferredError {
            deferredError = nil
            delegate?.connection(self, didFail: error)
        }
        delegate?.connectionDidClose(self)
    }

    // MARK: Options

    /// uv_tcp_nodelay. Best effort: a failure (the peer already reset) shows up on the next read or write.
    public func setNoDelay(_ on: Bool) {
        guard state == .open else { return }
        _ = uv_tcp_nodelay(tcp, on ? 1 : 0)
    }

    /// uv_send_buffer_size / uv_recv_buffer_size (SO_SNDBUF / SO_RCVBUF; Linux doubles the value). Best effort.
    public func setSocketBufferSizes(send: Int32?, receive: Int32?) {
        guard state == .open else { return }
        if var send, send > 0 { _ = uv_send_buffer_size(asHandle(tcp), &send) }
        if var receive, receive > 0 { _ = uv_recv_buffer_size(asHandle(tcp), &receive) }
    }

    /// "127.0.0.1:54321" or "[::1]:54321"; read once while connected and cached, "?" if it was never available.
    public var peerDescription: String {
        if let cachedPeerDescription { return cachedPeerDescription }
        guard state != .closed, let address = SocketAddress(tcp: tcp, peer: true) else { return "?" }
        cachedPeerDescription = address.description
        cachedPeerAddress = address.addressBytes
        return address.description
    }

    /// The peer's IP address (4 bytes for IPv4 and IPv4-mapped IPv6, 16 for IPv6), read with `peerDescription`;
    /// [] if it was never available.
    public var peerAddress: [UInt8] {
        _ = peerDescription
        return cachedPeerAddress ?? []
    }
}

// MARK: - C callbacks (file scope: no captures, no actor isolation)

private func connection(of handle: UnsafeMutableRawPointer) -> TCPConnection {
    let data = handle.assumingMemoryBound(to: uv_handle_t.self).pointee.data!
    return Unmanaged<TCPConnection>.fromOpaque(data).takeUnretainedValue()
}

private func connectionAllocate(_ handle: UnsafeMutablePointer<uv_handle_t>?, _ suggestedSize: Int,
                                _ buffer: UnsafeMutablePointer<uv_buf_t>?) {
    let readBuffer = connection(of: handle!).nextReadBuffer()
    buffer!.pointee = uv_buf_init(readBuffer.baseAddress!.assumingMemoryBound(to: CChar.self),
                                  UInt32(readBuffer.count))
}

private func connectionDidReadCallback(_ stream: UnsafeMutablePointer<uv_stream_t>?, _ nread: Int,
                                       _ buffer: UnsafePointer<uv_buf_t>?) {
    connection(of: stream!).didRead(nread, buffer.flatMap { UnsafeMutableRawPointer($0.pointee.base) })
}

private func connectionWriteDidComplete(_ request: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    let request = request!
    let byteCount = WriteRequest.byteCount(of: request)
    let connection = connection(of: request.pointee.handle!)
    WriteRequest.free(request, pool: connection.loop.writeBuffers)
    connection.writeDidComplete(byteCount: byteCount, status: status)
}

private func connectionDidShutdown(_ request: UnsafeMutablePointer<uv_shutdown_t>?, _ status: Int32) {
    let stream = request!.pointee.handle!
    request!.deallocate()
    connection(of: stream).close()  // status is 0, or ECANCELED when close() came first: close either way
}

private func connectionDidCloseHandle(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    let connection = Unmanaged<TCPConnection>.fromOpaque(handle!.pointee.data!).takeRetainedValue()  // +1 from init
    connection.didCloseHandle()
}
