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

/// What a session waits for, and since when: `check`, called every second with the clock and the bytes moved so far,
/// says which timeout expired, if any. Pure (the session reads the clock and performs the expiry).
struct StallWatch {
    enum Phase: Equatable {
        case connecting(since: UInt64)
        case handshaking(since: UInt64)
        /// Established: `mark` is the bytes moved when they last moved, at `since`.
        case flowing(mark: UInt64, since: UInt64)
    }

    enum Expiry: Equatable {
        /// The connection attempt took too long: close it (the next address is tried).
        case connect
        /// End the session with this message.
        case end(String)
    }

    /// What the session is in now; nil once it ended.
    var phase: Phase?
    let timeouts: ClientTimeouts

    /// `now` in nanoseconds; `moved` the bytes read plus the bytes whose write completed; `committingSize` the size of
    /// the file whose Close was sent and whose answer is awaited; `hashingLocally` while the client reads and hashes
    /// its file with nothing to send (a resumed file's prefix, or the whole file to ask whether it is already stored):
    /// no byte moves, by design. `serverReading`: `committingSize` is a file the server reads before it answers
    /// (Verify, PROTOCOL.md §14.10), given the same time.
    mutating func check(now: UInt64, moved: UInt64, committingSize: UInt64?, hashingLocally: Bool,
                        serverReading: Bool = false) -> Expiry? {
        func over(_ since: UInt64, _ seconds: UInt64) -> Bool { now &- since >= seconds * 1_000_000_000 }
        switch phase {
        case nil:
            return nil
        case .connecting(let since):
            return over(since, timeouts.connect) ? .connect : nil
        case .handshaking(let since):
            guard over(since, timeouts.handshake) else { return nil }
            return .end("the server did not complete the handshake within \(timeouts.handshake) s (--handshake-timeout)")
        case .flowing(let mark, let since):
            if moved != mark || hashingLocally {
                phase = .flowing(mark: moved, since: now)
                return nil
            }
            if let size = committingSize {
                let limit = timeouts.commitWait(size: size)
                guard over(since, limit) else { return nil }
                if serverReading {
                    return .end("the server did not answer within \(limit) s (--timeout, extended by the file's size for "
                        + "the server to read it)")
                }
                return .end("the server did not confirm the file within \(limit) s of the last byte (--timeout, "
                    + "extended by the file's size for the server to make it durable)")
            }
            guard over(since, timeouts.progress) else { return nil }
            return .end("no data moved for \(timeouts.progress) s (--timeout): the connection stalled")
        }
    }
}
