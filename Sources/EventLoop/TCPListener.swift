// A listening TCP socket (uv_tcp_t + uv_listen).
//
//     init: parse ─▶ uv_tcp_init_ex(family) ─▶ [SO_REUSEPORT] ─▶ uv_tcp_bind ─▶ uv_listen ─▶ open
//     open ──close()──▶ closing ──close callback──▶ closed (handle freed, self released, onConnection dropped)
//
// libuv defers bind errors (EADDRINUSE) to uv_listen (src/unix/tcp.c, `delayed_error`), so a taken port is reported
// by the listen step. Either way init throws, and the half-made handle is closed through the normal close callback.
internal import CLibUV

public final class TCPListener: LoopHandleOwner {
    private enum State { case open, closing, closed }

    private let loop: EventLoop
    private let tcp: UnsafeMutablePointer<uv_tcp_t>
    private var state = State.open
    private var onConnection: ((TCPConnection) -> Void)?
    /// The bound port, read once after listen (0 after close).
    public private(set) var localPort: UInt16 = 0
    /// Called when libuv reports an accept failure (e.g. EMFILE; libuv already applies its emfile trick).
    public var onAcceptError: ((UVError) -> Void)?

    /// Binds and listens. `host` is an IPv4 or IPv6 literal ("127.0.0.1", "::1", "0.0.0.0", "::"); port 0 picks a
    /// free port (see `localPort`). With `reusePort`, SO_REUSEPORT is set before bind so several listeners (one per
    /// loop thread) can share the port; libuv 1.44 has no UV_TCP_REUSEPORT, hence the shim.
    public init(loop: EventLoop, host: String, port: UInt16, reusePort: Bool, backlog: Int32 = 511,
                onConnection: @escaping (TCPConnection) -> Void) throws(UVError) {
        precondition(!loop.isClosed, "TCPListener on a closed EventLoop")
        let address = try SocketAddress(host: host, port: port)
        let tcp = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        let initRC = uv_tcp_init_ex(loop.raw, tcp, UInt32(address.family))
        if initRC < 0 {
            tcp.deallocate()  // uv_tcp_init_ex unregisters the handle itself when socket() fails
            throw uvError(initRC, "uv_tcp_init_ex")
        }
        self.loop = loop
        self.tcp = tcp
        self.onConnection = onConnection
        tcp.pointee.data = Unmanaged.passRetained(self).toOpaque()  // released in listenerDidClose

        do {
            if reusePort { try uvCheck(clibuv_tcp_set_reuseport(tcp), "clibuv_tcp_set_reuseport") }
            try uvCheck(address.withSockaddr { uv_tcp_bind(tcp, $0, 0) }, "uv_tcp_bind")
            try uvCheck(uv_listen(asStream(tcp), backlog, listenerDidReceiveConnection), "uv_listen")
        } catch {
            close()  // frees the handle in the close callback, on the loop's next iteration
            throw error
        }
        localPort = SocketAddress(tcp: tcp, peer: false)?.port ?? 0
    }

    /// Stops listening. Idempotent; the handle is freed in its close callback. Connections already accepted stay open.
    public func close() {
        guard case .open = state else { return }
        state = .closing
        uv_close(asHandle(tcp), listenerDidClose)
    }

    public var isClosed: Bool {
        if case .open = state { return false }
        return true
    }

    fileprivate func acceptOne(status: Int32) {
        guard case .open = state else { return }
        if status < 0 {
            onAcceptError?(uvError(status, "uv_listen"))
            return
        }
        let connection = TCPConnection(loop: loop)
        let rc = uv_accept(asStream(tcp), connection.stream)
        if rc < 0 {
            connection.close()
            onAcceptError?(uvError(rc, "uv_accept"))
            return
        }
        _ = connection.peerDescription  // cache it while the socket is connected
        onConnection?(connection)
    }

    fileprivate func didClose() {
        state = .closed
        localPort = 0
        onConnection = nil  // break the cycle a closure capturing the listener would form
        onAcceptError = nil
        tcp.deallocate()
    }
}

private func listenerDidReceiveConnection(_ server: UnsafeMutablePointer<uv_stream_t>?, _ status: Int32) {
    guard let server, let data = server.pointee.data else { return }
    Unmanaged<TCPListener>.fromOpaque(data).takeUnretainedValue().acceptOne(status: status)
}

private func listenerDidClose(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let handle, let data = handle.pointee.data else { return }
    let listener = Unmanaged<TCPListener>.fromOpaque(data).takeRetainedValue()  // the +1 from init
    listener.didClose()
}
