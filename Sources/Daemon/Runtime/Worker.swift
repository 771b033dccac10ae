// One worker: a thread with its own libuv loop, its own listening sockets (the same ports as every other worker,
// through SO_REUSEPORT, so the kernel spreads new connections across workers) and the sessions it accepted.
// Other threads reach it only through `LoopWaker` plus a locked command queue.
import EventLoop
import Foundation
import Logging
import Platform
import Protocol
import Store
import Synchronization

/// State shared by all workers: the global session count and session ids.
final class DaemonShared: Sendable {
    let activeSessions = Atomic<Int>(0)
    let totalSessions = Atomic<UInt64>(0)
    /// Upload payload bytes received (decrypted Data chunks, counted by SessionDriver), for systemd's STATUS=.
    let bytesReceived = Atomic<UInt64>(0)
    private let nextSessionID = Atomic<UInt64>(1)
    /// What each source address may cost (limits.*_per_source).
    let sourceLimits = SourceLimits()
    /// The process's Prometheus metrics (Metrics/DaemonMetrics.swift), served by the main loop's MetricsServer.
    let metrics = DaemonMetrics()

    func makeSessionID() -> UInt64 { nextSessionID.add(1, ordering: .relaxed).oldValue }

    /// Reserves a session slot; false when the global limit is reached.
    func reserveSession(limit: Int) -> Bool {
        let previous = activeSessions.add(1, ordering: .relaxed).oldValue
        if previous >= limit {
            activeSessions.subtract(1, ordering: .relaxed)
            return false
        }
        totalSessions.add(1, ordering: .relaxed)
        return true
    }

    func releaseSession() { activeSessions.subtract(1, ordering: .relaxed) }

    /// Gets streaming now, over every worker (limits.max_downloads): each holds up to its read-ahead and its socket's
    /// queue (5 MiB), so their number bounds what downloads cost the daemon's memory.
    let activeGets = Atomic<Int>(0)

    /// A slot for one Get, given back when the returned object goes (with the transfer that holds it); nil when
    /// `limit` are streaming.
    func reserveGet(limit: Int) -> GetSlot? {
        guard activeGets.add(1, ordering: .relaxed).oldValue < limit else {
            activeGets.subtract(1, ordering: .relaxed)
            return nil
        }
        return GetSlot(self)
    }
}

/// One Get's share of limits.max_downloads, released when the transfer holding it is freed (every way it ends).
final class GetSlot: Sendable {
    private let shared: DaemonShared

    fileprivate init(_ shared: DaemonShared) { self.shared = shared }

    deinit { shared.activeGets.subtract(1, ordering: .relaxed) }
}

enum WorkerCommand: Sendable {
    /// Stop accepting; let uploads in flight finish for the grace period, then close the rest.
    case drain(graceSeconds: UInt64)
    /// Close everything now.
    case stopNow
    /// New settings (SIGHUP): for new sessions, and the rotation policy of the running ones.
    case reload(RuntimeSettings)
}

final class Worker: @unchecked Sendable {
    // @unchecked: everything but `commands` and `waker` is touched only on this worker's loop thread; `commands` is
    // behind a Mutex and `waker` is libuv's thread-safe uv_async_t.
    let index: Int
    private var settings: RuntimeSettings
    private let shared: DaemonShared
    /// Everything below the storage root, shared by every worker (opened and locked at start, before them).
    private let store: Store
    private let logger: Logger
    private let commands = Mutex<[WorkerCommand]>([])
    private var waker: LoopWaker?
    private var loop: EventLoop?
    private var listeners: [TCPListener] = []
    private var sessions: [UInt64: SessionDriver] = [:]
    private var graceTimer: LoopTimer?
    /// Upload buffers shared by this worker's sessions, and the timer that frees them when no upload used them for a
    /// whole period.
    private let uploadBuffers = Store.makeUploadBufferPool()
    private var trimTimer: LoopTimer?
    static let bufferTrimMilliseconds: UInt64 = 10_000
    private var draining = false
    private let finished = DispatchSemaphore(value: 0)
    /// Refused connections and accept failures, logged at most once per kind every 10 s.
    private let refusalLog = RateLimitedLog()

    init(index: Int, settings: RuntimeSettings, shared: DaemonShared, store: Store, logger: Logger) {
        self.index = index
        self.store = store
        self.settings = settings
        self.shared = shared
        var logger = logger
        logger[metadataKey: "worker"] = "\(index)"
        self.logger = logger
    }

    /// Starts the thread; returns once every listener is accepting, or throws the first bind/listen error.
    func start() throws {
        let ready = DispatchSemaphore(value: 0)
        let startupError = Mutex<Error?>(nil)
        let thread = Thread { [self] in
            do {
                try self.setUp()
            } catch {
                startupError.withLock { $0 = error }
                ready.signal()
                self.finished.signal()
                return
            }
            ready.signal()
            self.loop?.run()
            _ = self.loop?.close()
            self.finished.signal()
        }
        thread.name = "ferryd-worker-\(index)"
        thread.start()
        ready.wait()
        if let error = startupError.withLock({ $0 }) { throw error }
    }

    /// Waits until the worker's loop has ended.
    func join() { finished.wait() }

    func send(_ command: WorkerCommand) {
        commands.withLock { $0.append(command) }
        waker?.wake()
    }

    private func setUp() throws {
        let loop = try EventLoop()
        self.loop = loop
        waker = try LoopWaker(loop: loop) { [self] in runCommands() }
        let trim = LoopTimer(loop: loop)
        trim.keepsLoopAlive = false
        trim.start(afterMilliseconds: Self.bufferTrimMilliseconds, repeatMilliseconds: Self.bufferTrimMilliseconds) { [self] in
            uploadBuffers.trimIfUnused()
        }
        trimTimer = trim
        for address in settings.listen {
            // SO_REUSEPORT: every worker listens on the same addresses. Server.run made sure beforehand that no
            // other process holds them (ListenCheck), since the option would also let one in.
            for host in address.bindHosts {
                let listener = try TCPListener(loop: loop, host: host, port: address.port, reusePort: true) { [self] tcp in
                    accept(tcp, loop: loop)
                }
                // Out of descriptors: libuv's reserve descriptor lets it accept and close the connection (the peer
                // sees a close, not a hang); the operator sees why, once per period.
                listener.onAcceptError = { [self] error in
                    if error.code == UVError.tooManyOpenFiles || error.code == UVError.tooManyOpenFilesInSystem {
                        shared.metrics.sessionRefused(.descriptors)
                    }
                    refusalLog.log(logger, .error, kind: "accept", "cannot accept connections",
                                   metadata: ["error": "\(error)", "hint": "raise LimitNOFILE / ulimit -n, or lower limits.max_sessions"])
                }
                listeners.append(listener)
            }
        }
    }

    private func accept(_ tcp: TCPConnection, loop: EventLoop) {
        let settings = self.settings  // the settings in force when the connection arrived
        guard !draining else {
            shared.metrics.sessionRefused(.draining)
            return tcp.close()
        }
        let source = tcp.peerAddress
        if let refusal = shared.sourceLimits.admit(source, now: SystemClock.monotonicNanoseconds(), settings: settings.sourceLimits) {
            shared.metrics.sessionRefused(DaemonMetrics.Refusal(refusal))
            refusalLog.log(logger, .warning, kind: refusal.rawValue, "connection refused: \(refusal.reason)",
                           metadata: ["peer": "\(tcp.peerDescription)"])
            var refusalAlert = ServerConnection(configuration: settings.protocolConfiguration)
            refusalAlert.close(.tooManySessions, reason: refusal.reason)
            tcp.write(refusalAlert.takeOutput())
            return tcp.closeAfterPendingWrites()
        }
        guard shared.reserveSession(limit: settings.maxSessions) else {
            shared.sourceLimits.ended(source, authenticated: false)
            shared.metrics.sessionRefused(.limit)
            refusalLog.log(logger, .warning, kind: "limit", "session limit reached: connection refused",
                           metadata: ["peer": "\(tcp.peerDescription)", "max_sessions": "\(settings.maxSessions)"])
            // Tell the client why (a plaintext alert, as for any failure before keys exist), then close.
            var refusal = ServerConnection(configuration: settings.protocolConfiguration)
            refusal.close(.tooManySessions, reason: "the server is at its limit of \(settings.maxSessions) sessions")
            tcp.write(refusal.takeOutput())
            return tcp.closeAfterPendingWrites()
        }
        let id = shared.makeSessionID()
        shared.metrics.sessionOpened()
        let driver = SessionDriver(id: id, loop: loop, tcp: tcp, settings: settings, store: store,
                                   buffers: uploadBuffers, logger: logger, metrics: shared.metrics, shared: shared,
                                   source: source) { [self] driver in
            sessions[driver.id] = nil
            shared.releaseSession()
            shared.sourceLimits.ended(source, authenticated: driver.wasAuthenticated)
            shared.metrics.sessionClosed()
            if draining, sessions.isEmpty { finishDrain() }
        }
        sessions[id] = driver
        driver.start()
    }

    private func runCommands() {
        let pending = commands.withLock { list in
            defer { list = [] }
            return list
        }
        for command in pending {
            switch command {
            case .drain(let grace):
                beginDrain(graceSeconds: grace)
            case .stopNow:
                for session in sessions.values { session.shutdown(force: true) }
                beginDrain(graceSeconds: 0)
            case .reload(let new):
                settings = new
                for session in sessions.values { session.apply(new) }
            }
        }
    }

    private func beginDrain(graceSeconds: UInt64) {
        if !draining {
            draining = true
            for listener in listeners { listener.close() }
            listeners = []
            for session in sessions.values { session.shutdown(force: false) }
        }
        guard let loop else { return }
        if sessions.isEmpty { return finishDrain() }
        graceTimer?.close()
        let timer = LoopTimer(loop: loop)
        graceTimer = timer
        timer.start(afterMilliseconds: graceSeconds * 1000) { [self] in
            if !sessions.isEmpty {
                logger.notice("grace period over: closing sessions still uploading", metadata: ["sessions": "\(sessions.count)"])
            }
            for session in sessions.values { session.shutdown(force: true) }
        }
    }

    private func finishDrain() {
        graceTimer?.close()
        graceTimer = nil
        trimTimer?.close()
        trimTimer = nil
        waker?.close()
        waker = nil
    }
}
