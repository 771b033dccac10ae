// Starting a client session on a freshly connected socket, shared by `ferry upload` and `ferry loadtest`.
import EventLoop
import Protocol

extension ClientConnection {
    /// A new session on `tcp`: Nagle off (records go out whole, in batches, and the handshake is latency-bound), the
    /// ClientHello queued. The caller sets the socket's delegate and starts reading.
    static func open(on tcp: TCPConnection, configuration: ClientConfiguration) throws -> ClientConnection {
        tcp.setNoDelay(true)
        var connection = try ClientConnection(configuration: configuration)
        tcp.write(connection.takeOutput())
        return connection
    }
}
