// How long `ferry upload` waits before it gives a connection up, so a server that stops answering or a connection that
// stalls ends with a message instead of hanging. The defaults are far above what a healthy network needs: a
// connection on a continent takes well under a second, a handshake a few round trips, and bytes move constantly while
// a file is sent.
//
// The one wait with no bytes moving by design is the server's commit after Close (its SHA-256 check, fsync, link):
// the progress timeout is then extended by one second per `commitBytesPerSecond` of the file — the time a slow disk
// needs to flush what it still holds of it (with O_DIRECT, nearly nothing) — so a large file is not given up while
// the server legitimately makes it durable.
struct ClientTimeouts: Equatable, Sendable {
    var connect: UInt64
    var handshake: UInt64
    var progress: UInt64

    static let range: ClosedRange<UInt64> = 1...86_400
    static let defaultConnect: UInt64 = 10
    static let defaultHandshake: UInt64 = 20
    static let defaultProgress: UInt64 = 60
    /// A disk that writes at least this fast (a slow HDD's sequential rate) flushes the file within the extension.
    static let commitBytesPerSecond: UInt64 = 50_000_000

    /// The wait for Committed after Close, for a file of `size` bytes.
    func commitWait(size: UInt64) -> UInt64 { progress + size / Self.commitBytesPerSecond }
}
