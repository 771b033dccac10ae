// The events of one TCPConnection, delivered on the loop thread.
//
// Order: any number of didRead / didDrain, at most one didReachEnd, at most one didFail, then exactly one
// connectionDidClose (after uv_close's callback), which is the last call. Every TCPConnection method may be called
// from inside any of these (close() from didRead, write() from didRead, close() from didDrain, ...).
// No default implementations on purpose: a misspelt method would otherwise silently fall back to a no-op.

public protocol TCPConnectionDelegate: AnyObject {
    /// Bytes from the peer. The buffer is the loop's shared read buffer (EventLoop.readBuffer): valid only during the
    /// call, so whatever is not consumed must be copied before returning.
    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer)
    /// EOF from the peer (it shut down or closed its side). Reading has stopped; writing still works.
    func connectionDidReachEnd(_ connection: TCPConnection)
    /// A read or write error (ECONNRESET, EPIPE, ...). The connection then closes itself.
    func connection(_ connection: TCPConnection, didFail error: UVError)
    /// `pendingWriteBytes` fell to 0: every queued write has completed.
    func connectionDidDrain(_ connection: TCPConnection)
    /// The handle is closed and freed; the last call for this connection.
    func connectionDidClose(_ connection: TCPConnection)
    /// Room of the delegate's own for the next read, or nil for the loop's shared read buffer (the default). A read
    /// into it is reported by `connection(_:didReadInPlace:)` instead of `didRead`: a delegate that keeps what it
    /// reads anyway (the daemon's uploading sessions) saves copying it out of the shared buffer.
    func readBuffer(for connection: TCPConnection) -> UnsafeMutableRawBufferPointer?
    /// `count` bytes from the peer, read into the room `readBuffer(for:)` returned.
    func connection(_ connection: TCPConnection, didReadInPlace count: Int)
}

extension TCPConnectionDelegate {
    public func readBuffer(for connection: TCPConnection) -> UnsafeMutableRawBufferPointer? { nil }

    public func connection(_ connection: TCPConnection, didReadInPlace count: Int) {
        preconditionFailure("a read in place without a readBuffer(for:)")
    }
}

