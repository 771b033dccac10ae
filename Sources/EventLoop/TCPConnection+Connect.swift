// Outgoing connections: uv_tcp_connect with a per-attempt uv_connect_t whose context retains the connection and
// the completion until the connect callback.
//
//     connect() ─▶ parse ─▶ uv_tcp_connect ─▶ (callback) status 0 ─▶ completion(.success)
//        │            │            │                     status < 0 ─▶ close(), completion(.failure)
//        │            └──EINVAL────┴──(sync error)──▶ close(); completion(.failure) from the close callback
//
// The completion therefore always runs from a libuv callback on the loop thread, never inside `connect` itself.
internal import CLibUV

extension TCPConnection {
    /// Connects to host:port (an IPv4 or IPv6 literal). The completion runs once, on the loop thread, in a later
    /// loop iteration; on failure (ECONNREFUSED, ETIMEDOUT, EINVAL for a bad literal, ECANCELED when the loop is
    /// closed first) the half-made connection has already been closed.
    public static func connect(loop: EventLoop, host: String, port: UInt16,
                               completion: @escaping (Result<TCPConnection, UVError>) -> Void) {
        let address: SocketAddress
        do {
            address = try SocketAddress(host: host, port: port)
        } catch {
            return TCPConnection(loop: loop).closeFailingConnect(error, completion)
        }
        connect(loop: loop, socketAddress: address, completion: completion)
    }

    /// Connects to an address a name resolved to (AddressResolver); the completion as for `connect(loop:host:port:)`.
    /// Returns the connection being made: closing it before the completion ran (a connect timeout) ends the attempt,
    /// and the completion then reports ECANCELED.
    @discardableResult
    public static func connect(loop: EventLoop, address: ResolvedAddress,
                               completion: @escaping (Result<TCPConnection, UVError>) -> Void) -> TCPConnection {
        connect(loop: loop, socketAddress: address.socketAddress, completion: completion)
    }

    @discardableResult
    private static func connect(loop: EventLoop, socketAddress address: SocketAddress,
                                completion: @escaping (Result<TCPConnection, UVError>) -> Void) -> TCPConnection {
        let connection = TCPConnection(loop: loop)
        let request = UnsafeMutablePointer<uv_connect_t>.allocate(capacity: 1)
        let context = Unmanaged.passRetained(ConnectContext(connection: connection, completion: completion))
        request.pointee.data = context.toOpaque()
        let rc = address.withSockaddr { uv_tcp_connect(request, connection.tcp, $0, connectionDidConnect) }
        if rc < 0 {
            context.release()
            request.deallocate()
            connection.closeFailingConnect(uvError(rc, "uv_tcp_connect"), completion)
        }
        return connection
    }

    private func closeFailingConnect(_ error: UVError,
                                     _ completion: @escaping (Result<TCPConnection, UVError>) -> Void) {
        deferredConnectFailure = (completion, error)
        close()
    }
}

private final class ConnectContext {
    let connection: TCPConnection
    let completion: (Result<TCPConnection, UVError>) -> Void

    init(connection: TCPConnection, completion: @escaping (Result<TCPConnection, UVError>) -> Void) {
        self.connection = connection
        self.completion = completion
    }
}

private func connectionDidConnect(_ request: UnsafeMutablePointer<uv_connect_t>?, _ status: Int32) {
    let context = Unmanaged<ConnectContext>.fromOpaque(request!.pointee.data!).takeRetainedValue()
    request!.deallocate()
    let connection = context.connection
    if status == 0, !connection.isClosed {
        _ = connection.peerDescription  // cache it while the socket is connected
        context.completion(.success(connection))
    } else {
        connection.close()  // idempotent: already closing when status is ECANCELED
        context.completion(.failure(uvError(status == 0 ? UV_ECANCELED.rawValue : status, "uv_tcp_connect")))
    }
}
