import EventLoop

/// Connects to a server's resolved addresses in turn, the first that accepts winning, as `ssh` and `curl` do without
/// Happy Eyeballs: an address that refuses or times out (`--connect-timeout`, which the session's StallWatch measures
/// and reports through `timeOut()`) gives way to the next; when none is left the failure names each one's reason.
///
///     dial ─▶ connecting(address i) ──accepted──▶ connected(tcp)        (the dialer is done)
///                   │  refused / timeOut()
///                   ▼
///             connecting(address i+1) … ──none left──▶ failed(message)
///
/// `attempting` runs as each address is tried (the session's connect timeout starts again); `cancel()` at any point
/// closes the attempt in flight, and no callback runs afterwards.
final class AddressDialer {
    private let loop: EventLoop
    private let host: String
    private let port: UInt16
    private let timeouts: ClientTimeouts
    private let addresses: [ResolvedAddress]
    private var attempting: () -> Void = {}
    private var connected: (TCPConnection, ResolvedAddress) -> Void = { tcp, _ in tcp.close() }
    private var failed: (SessionFailure) -> Void = { _ in }
    /// The connection being made; its completion reports ECANCELED once closed by `timeOut()` or `cancel()`.
    private var attempt: TCPConnection?
    private var attemptTimedOut = false
    private var over = false

    init(loop: EventLoop, host: String, port: UInt16, timeouts: ClientTimeouts, addresses: [ResolvedAddress]) {
        self.loop = loop
        self.host = host
        self.port = port
        self.timeouts = timeouts
        self.addresses = addresses
    }

    /// Starts with the first address. The callbacks are let go once the dialer is done (no cycle with their owner).
    func dial(attempting: @escaping () -> Void, connected: @escaping (TCPConnection, ResolvedAddress) -> Void,
              failed: @escaping (SessionFailure) -> Void) {
        self.attempting = attempting
        self.connected = connected
        self.failed = failed
        connect(addresses[...], failures: [])
    }

    /// The connect timeout passed for the address being tried: it is given up (its completion names the timeout).
    func timeOut() {
        guard attempt != nil else { return }
        attemptTimedOut = true
        attempt?.close()
    }

    /// No callback from here on; a connection that completes anyway is closed.
    func cancel() {
        attempt?.close()
        attempt = nil
        finished()
    }

    private func finished() {
        over = true
        attempting = {}
        connected = { tcp, _ in tcp.close() }
        failed = { _ in }
    }

    private func connect(_ remaining: ArraySlice<ResolvedAddress>, failures: [String]) {
        guard let address = remaining.first else {
            let failed = failed
            finished()
            let reason = failures.count == 1 ? ": \(failures[0])"
                : failures.isEmpty ? "" : " (tried \(failures.joined(separator: ", ")))"
            return failed(SessionFailure(.cannotConnect, "cannot connect to \(host):\(port)\(reason)"))
        }
        attemptTimedOut = false
        attempting()
        let attempt = TCPConnection.connect(loop: loop, address: address) { [self] result in
            self.attempt = nil
            guard !over else {
                if case .success(let tcp) = result { tcp.close() }
                return
            }
            switch result {
            case .failure(let error):
                let reason = attemptTimedOut
                    ? "timed out after \(timeouts.connect) s (--connect-timeout)" : error.message
                connect(remaining.dropFirst(), failures: failures + [addresses.count == 1 ? reason : "\(address): \(reason)"])
            case .success(let tcp):
                let connected = connected
                finished()
                connected(tcp, address)
            }
        }
        if !attempt.isClosed { self.attempt = attempt }
    }
}
