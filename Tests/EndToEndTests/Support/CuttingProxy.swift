// A TCP proxy on 127.0.0.1 that cuts every connection through it every few seconds: a network path that keeps
// failing (issue #15, Tests: "with a proxy that cuts the connection every few seconds"). Each client it accepts is
// paired with a new connection to the target (a ferryd's 127.0.0.1 port) and bytes are copied both ways; every
// `cutEvery` seconds from its start, every pair open at that moment is reset on both sides, and new clients are
// still accepted. It can also limit each connection's bandwidth (a token bucket per connection, as a per-flow shaper
// would: one connection never starves another), so that the number of cuts an upload meets depends on its size and
// not on how fast loopback is on the machine at hand.
//
// A cut is a reset (SO_LINGER 0, then close: the kernel sends RST and drops whatever is queued), not a FIN: it is what a
// path that fails mid-transfer looks like to both ends (a NAT or firewall that lost the flow's state and answers RST),
// both ends learn of it at once (ECONNRESET on their next read or write, no half-closed connection where one side
// still waits), and what the proxy or the kernel still held in flight is lost, as it would be on the way. A FIN would
// instead deliver the queued bytes and read as an orderly close with work left. A silent path (no RST, no FIN) is the
// client's progress timeout, tested elsewhere (ClientTimeoutTests).
//
// Like RawServer: one background thread, blocking sockets, every wait a poll(2) bounded by the next cut and the
// deadline; the thread ends on `stop` or at the deadline and closes everything. recv and send take MSG_DONTWAIT and run
// only for descriptors poll found ready, so one stalled direction (the daemon not reading while its writes catch up)
// never holds up the other, the cuts or `stop`. The one blocking call is connect(2) to the target, bounded by
// SO_SNDTIMEO. Descriptors are close-on-exec (an accepted one right after accept(2)): the `ferry` and `ferryd`
// children must not inherit them.
import Foundation
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class CuttingProxy: @unchecked Sendable {  // `counts` is shared with the thread under `lock`
    struct Counts: Equatable, CustomStringConvertible {
        /// Clients accepted and paired with a connection to the target.
        var accepted = 0
        /// Pairs reset by a cut.
        var cut = 0
        /// Cuts that found at least one pair open.
        var rounds = 0
        /// Pairs that ended by themselves (both sides closed, or one reset or failed).
        var endedByPeers = 0
        /// Clients closed at once because the target refused them.
        var refused = 0
        /// Bytes copied client → target and target → client.
        var bytesUp: UInt64 = 0
        var bytesDown: UInt64 = 0
        /// The thread reached its deadline before `stop` (a test that overran).
        var deadlinePassed = false
        /// Anything that broke the proxy itself (poll, accept).
        var problems: [String] = []

        var description: String {
            "\(accepted) connections, \(cut) cut in \(rounds) cuts, \(endedByPeers) ended by the peers, \(refused) refused; "
                + "\(bytesUp) bytes up, \(bytesDown) down" + (deadlinePassed ? "; deadline passed" : "")
                + (problems.isEmpty ? "" : "; problems: \(problems)")
        }
    }

    let port: UInt16
    let targetPort: UInt16
    let cutEvery: Double
    /// Bytes per second through each connection, both directions together (nil: unlimited).
    let rate: Double?
    private let listener: Int32
    /// `stop` writes a byte here.
    private let wake: (read: Int32, write: Int32)
    private let ended = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var counts = Counts()

    /// What one direction copies, and the buffer between its read and its write.
    static let bufferSize = 1 << 16
    /// How long connect(2) to the target may block (a listener on 127.0.0.1 answers at once).
    static let connectTimeout = 5

    /// Listens on 127.0.0.1 (an ephemeral port) and forwards to 127.0.0.1:`targetPort`, cutting every `cutEvery`
    /// seconds, each connection at `bytesPerSecond` at most; everything ends `deadline` seconds from now at the latest.
    init(forwardingTo targetPort: UInt16, cutEvery: Double, bytesPerSecond: UInt64? = nil, deadline seconds: Double = 300)
        throws {
        // Our own misuse: a proxy that never lets a connection live or never moves a byte.
        precondition(cutEvery > 0 && bytesPerSecond != 0, "cutting every \(cutEvery) s at \(bytesPerSecond ?? 0) B/s")
        self.targetPort = targetPort
        self.cutEvery = cutEvery
        rate = bytesPerSecond.map { Double($0) }  // not `map(Double.init)`: that picks init(bitPattern:)
        let listening = try LoopbackListener(backlog: 16)
        listener = listening.descriptor
        wake = listening.wake
        port = listening.port

        let start = monotonicSeconds()
        Thread { [self] in run(start: start, until: start + seconds) }.start()
    }

    deinit {  // the thread holds `self` until it ends, so nothing here is still in use
        close(wake.read)
        close(wake.write)
    }

    /// What the proxy did so far.
    var snapshot: Counts { lock.withLock { counts } }

    /// Ends the thread (every connection reset, the listener closed), waits for it (at most `timeout` seconds) and
    /// returns what it did. Idempotent.
    @discardableResult
    func stop(timeout: Double = 10) throws -> Counts {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        guard ended.wait(timeout: .now() + timeout) == .success else {
            throw TestError("the proxy thread did not end within \(timeout) s")
        }
        ended.signal()  // so that a second stop (a defer after the test's own) returns at once
        return snapshot
    }

    private func record(_ change: (inout Counts) -> Void) { lock.withLock { change(&counts) } }

    // MARK: The thread

    /// One direction of a pair: bytes read from `from` wait in `buffer[start..<end]` until `to` takes them.
    private final class Flow {
        enum State {
            case open
            /// `from` said EOF; what is buffered still goes to `to`, then `to` is shut for writing.
            case draining
            /// EOF passed on.
            case finished
        }

        let from: Int32
        let to: Int32
        var buffer = [UInt8](repeating: 0, count: CuttingProxy.bufferSize)
        var start = 0
        var end = 0
        var state = State.open
        var copied: UInt64 = 0

        init(from: Int32, to: Int32) {
            self.from = from
            self.to = to
        }

        var isEmpty: Bool { start == end }
        /// Room to read into (the link decides whether it may).
        var wantsInput: Bool { state == .open && isEmpty }
        var wantsOutput: Bool { !isEmpty }
    }

    private final class Pair {
        let client: Int32
        let target: Int32
        let up: Flow
        let down: Flow
        var link: Link

        init(client: Int32, target: Int32, link: Link) {
            self.client = client
            self.target = target
            up = Flow(from: client, to: target)
            down = Flow(from: target, to: client)
            self.link = link
        }

        var isFinished: Bool { up.state == .finished && down.state == .finished }
        /// Waiting for the link, not for the sockets: how long until it may read (nil: not waiting for it).
        var secondsUntilReadable: Double? {
            (up.wantsInput || down.wantsInput) && !link.canRead ? link.secondsUntilReadable : nil
        }
    }

    /// What copying did to a pair.
    private enum Outcome {
        case goesOn
        /// Both directions passed EOF on: close both sides.
        case finished
        /// A read or write failed (a reset, a broken pipe): reset the other side too.
        case failed
    }

    /// A connection's bandwidth, shared by both its directions: a token bucket of the bytes it may still read.
    private struct Link {
        /// Bytes per second; nil: as fast as the sockets go.
        let rate: Double?
        private var allowance: Double
        private var refilledAt: Double

        /// No read smaller than this while limited (a wakeup per few bytes would only burn the CPU the test needs).
        static let minimumRead = 16 << 10
        /// The most it saves up while idle: 20 ms of its rate, and at least one buffer.
        private var burst: Double { max(Double(CuttingProxy.bufferSize), (rate ?? 0) / 50) }

        init(rate: Double?, now: Double) {
            self.rate = rate
            allowance = 0
            refilledAt = now
            allowance = burst
        }

        mutating func refill(now: Double) {
            guard let rate else { return }
            allowance = min(burst, allowance + rate * (now - refilledAt))
            refilledAt = now
        }

        var canRead: Bool { rate == nil || allowance >= Double(Self.minimumRead) }
        /// The most the next read may take.
        var readLimit: Int { rate == nil ? Int.max : Int(allowance) }
        mutating func spend(_ bytes: Int) { if rate != nil { allowance -= Double(bytes) } }

        /// How long until a read may go ahead (0: now).
        var secondsUntilReadable: Double {
            guard let rate, !canRead else { return 0 }
            return (Double(Self.minimumRead) - allowance) / rate
        }
    }

    /// Why a pair ends.
    private enum Ending {
        case finished, failed, cut, stopped
    }

    private func run(start: Double, until deadline: Double) {
        var pairs: [Pair] = []
        var nextCut = start + cutEvery
        defer {
            for pair in pairs { end(pair, .stopped) }
            close(listener)
            ended.signal()
        }
        while true {
            let now = monotonicSeconds()
            if now >= deadline {
                record { $0.deadlinePassed = true }
                return
            }
            if now >= nextCut {
                if !pairs.isEmpty {
                    for pair in pairs { end(pair, .cut) }
                    record { $0.rounds += 1 }
                    pairs = []
                }
                while nextCut <= now { nextCut += cutEvery }
            }

            for pair in pairs { pair.link.refill(now: now) }
            // poll ignores negative descriptors: a side with nothing to wait for is left out (else its POLLHUP would
            // wake the loop for nothing, again and again).
            var descriptors = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            for pair in pairs {
                descriptors.append(Self.interest(pair.client, reading: pair.up, writing: pair.down, pair.link))
                descriptors.append(Self.interest(pair.target, reading: pair.down, writing: pair.up, pair.link))
            }
            let wait = pairs.compactMap(\.secondsUntilReadable).reduce(min(nextCut, deadline) - now, min)
            let ready = poll(&descriptors, nfds_t(descriptors.count), Int32(wait * 1000) + 1)
            let polledAt = monotonicSeconds()
            for pair in pairs { pair.link.refill(now: polledAt) }
            if ready < 0 {
                if errno == EINTR { continue }
                record { $0.problems.append("poll: errno \(errno)") }
                return
            }
            if descriptors[1].revents != 0 { return }  // stop

            var remaining: [Pair] = []
            for (index, pair) in pairs.enumerated() {
                let clientEvents = descriptors[2 + 2 * index].revents, targetEvents = descriptors[3 + 2 * index].revents
                switch Self.copy(pair, clientEvents: clientEvents, targetEvents: targetEvents) {
                case .goesOn: remaining.append(pair)
                case .finished: end(pair, .finished)
                case .failed: end(pair, .failed)
                }
            }
            pairs = remaining
            if descriptors[0].revents != 0, let pair = acceptClient() { pairs.append(pair) }
        }
    }

    private static func interest(_ fd: Int32, reading: Flow, writing: Flow, _ link: Link) -> pollfd {
        var events: Int32 = 0
        if reading.wantsInput, link.canRead { events |= Int32(POLLIN) }
        if writing.wantsOutput { events |= Int32(POLLOUT) }
        return pollfd(fd: events == 0 ? -1 : fd, events: Int16(events), revents: 0)
    }

    /// Reads and writes what poll found ready.
    private static func copy(_ pair: Pair, clientEvents: Int16, targetEvents: Int16) -> Outcome {
        // Every event counts as "ready": POLLHUP and POLLERR show up as EOF or an error from recv or send.
        let readyUp = (from: clientEvents != 0, to: targetEvents != 0)
        let readyDown = (from: targetEvents != 0, to: clientEvents != 0)
        for (flow, ready) in [(pair.up, readyUp), (pair.down, readyDown)] {
            if ready.from, flow.wantsInput, pair.link.canRead {
                let limit = min(flow.buffer.count, pair.link.readLimit)
                let count = flow.buffer.withUnsafeMutableBytes { recv(flow.from, $0.baseAddress, limit, Int32(MSG_DONTWAIT)) }
                if count > 0 {
                    (flow.start, flow.end) = (0, count)
                    pair.link.spend(count)
                } else if count == 0 {
                    flow.state = .draining
                } else if errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
                    return .failed
                }
            }
            if ready.to, flow.wantsOutput {
                let count = flow.buffer.withUnsafeBytes { raw in
                    let rest = UnsafeRawBufferPointer(rebasing: raw[flow.start..<flow.end])
                    return send(flow.to, rest.baseAddress, rest.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                }
                if count > 0 {
                    flow.start += count
                    flow.copied += UInt64(count)
                } else if count < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
                    return .failed
                }
            }
            if flow.state == .draining, flow.isEmpty {
                shutdown(flow.to, Int32(SHUT_WR))
                flow.state = .finished
            }
        }
        return pair.isFinished ? .finished : .goesOn
    }

    /// Accepts a client and connects it to the target; nil (the client reset) when the target refuses.
    private func acceptClient() -> Pair? {
        // Swift's Glibc has no accept4: close-on-exec right after. A child spawned between the two would inherit the
        // descriptor, but the tests spawn none while the proxy runs (ferry is started before it connects).
        let client = accept(listener, nil, nil)
        guard client >= 0 else {
            if errno != EAGAIN, errno != EINTR, errno != ECONNABORTED { record { $0.problems.append("accept: errno \(errno)") } }
            return nil
        }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        let target = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var timeout = timeval(tv_sec: Self.connectTimeout, tv_usec: 0)
        var address = Self.loopback(port: targetPort)
        let connected = target >= 0
            && setsockopt(target, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0
            && withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(target, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
        guard connected else {
            Self.resetSocket(client)
            if target >= 0 { close(target) }
            record { $0.refused += 1 }
            return nil
        }
        record { $0.accepted += 1 }
        return Pair(client: client, target: target, link: Link(rate: rate, now: monotonicSeconds()))
    }

    /// Closes both sides of `pair` (reset, unless both directions passed EOF on) and counts it.
    private func end(_ pair: Pair, _ ending: Ending) {
        if case .finished = ending {
            close(pair.client)
            close(pair.target)
        } else {
            Self.resetSocket(pair.client)
            Self.resetSocket(pair.target)
        }
        record {
            $0.bytesUp += pair.up.copied
            $0.bytesDown += pair.down.copied
            switch ending {
            case .finished, .failed: $0.endedByPeers += 1
            case .cut: $0.cut += 1
            case .stopped: break
            }
        }
    }

    /// SO_LINGER with a zero timeout: close sends RST at once and drops what is queued.
    private static func resetSocket(_ fd: Int32) {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        close(fd)
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        inetAddress("127.0.0.1", port: port)
    }
}
