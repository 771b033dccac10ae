// One client connection on a worker loop: the socket and the session's timers around a ServerSession, which does
// everything else without the socket (Session/ServerSession.swift). The driver only moves bytes in, performs the
// SessionActions that come back (write, pause or resume reading, close, route a writer's events), and arms timers.
// The read callback appends bytes and processes them — nothing else (STYLE.md §2).
//
//   accepted ──handshake (timeout: limits.handshake_timeout)──► established ──operations…──► goodbye / error / idle timeout
//                                                                                               │
//                                                                               write what is queued, close
import EventLoop
import Foundation
import Logging
import Platform
import Protocol
import Store

final class SessionDriver: TCPConnectionDelegate {
    let id: UInt64
    private let tcp: TCPConnection
    private let session: ServerSession
    private let handshakeTimer: LoopTimer
    private let idleTimer: LoopTimer
    private let rotationTimer: LoopTimer
    private var rotationDeadline: UInt64?
    /// The session's progress when the idle timer was last started: it restarts only when that moved.
    private var idleArmedAt: UInt64?
    /// Reading stopped because the client does not read its answers (`maximumPendingOutput` queued).
    private var pausedForOutput = false
    /// Whether the session itself wants the socket read (false while it waits for the store).
    private var sessionWantsReading = true
    private var closed = false
    private let onClose: (SessionDriver) -> Void
    /// Where the store's jobs run (libuv's pool), their completions back on this loop.
    private let executor: LoopExecutor
    /// The peer's address, for its source's limits (SourceLimits).
    private let source: [UInt8]
    private let shared: DaemonShared?
    /// The handshake completed: the source's slot moved from handshaking to sessions.
    private(set) var wasAuthenticated = false

    init(id: UInt64, loop: EventLoop, tcp: TCPConnection, settings: RuntimeSettings, store: Store,
         buffers: IOBufferPool, logger: Logger, metrics: DaemonMetrics, shared: DaemonShared?, source: [UInt8] = [],
         onClose: @escaping (SessionDriver) -> Void) {
        self.id = id
        self.tcp = tcp
        self.onClose = onClose
        self.source = source
        self.shared = shared
        var logger = logger
        logger[metadataKey: "session"] = "\(id)"
        logger[metadataKey: "peer"] = "\(tcp.peerDescription)"
        executor = LoopExecutor(loop: loop)
        session = ServerSession(
            id: id, settings: settings,
            upload: UploadHandler.Environment(store: store, executor: executor, buffers: buffers,
                                              settings: settings),
            logger: logger, metrics: metrics, shared: shared)
        handshakeTimer = LoopTimer(loop: loop)
        idleTimer = LoopTimer(loop: loop)
        rotationTimer = LoopTimer(loop: loop)
    }

    func start() {
        tcp.delegate = self
        tcp.setNoDelay(true)
        handshakeTimer.start(afterMilliseconds: session.settings.handshakeTimeoutSeconds * 1000) { [weak self] in
            guard let self else { return }
            perform(session.handshakeTimedOut())
        }
        tcp.startReading()
    }

    // MARK: TCPConnectionDelegate

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        session.receive(bytes)
        perform(session.process(now: Clock.now()))
    }

    /// While an upload runs, the socket is read straight into the session's receive buffer, where its records are
    /// decrypted into the upload's batch: each byte is copied by the kernel once and decrypted once, and nothing else.
    func readBuffer(for connection: TCPConnection) -> UnsafeMutableRawBufferPointer? {
        session.receiveSpace(minimum: Self.inPlaceReadMinimum, preferredCapacity: Self.inPlaceReadCapacity)
    }

    /// At least one whole Data record of room per read; the buffer holds several, so the one incomplete record at
    /// its end is moved to the front once every few reads (a few % of the bytes) instead of every read being copied.
    static let inPlaceReadMinimum = Limits.maxRecordBodyAfterAuthentication + Limits.recordHeaderLength
    static let inPlaceReadCapacity = 512 << 10

    func connection(_ connection: TCPConnection, didReadInPlace count: Int) {
        session.didReceive(count: count)
        perform(session.process(now: Clock.now()))
    }

    func connectionDidReachEnd(_ connection: TCPConnection) {
        session.peerEnded()
        closeNow()
    }

    func connection(_ connection: TCPConnection, didFail error: UVError) {
        session.connectionFailed("\(error)")
        closeNow()
    }

    /// Every answer was written: a client that had stopped reading them is read again.
    func connectionDidDrain(_ connection: TCPConnection) {
        if pausedForOutput {
            pausedForOutput = false
            if sessionWantsReading, !closed { tcp.startReading() }
        }
        if !closed { perform(session.outputDrained(now: Clock.now())) }  // a Get's next blocks
    }

    /// Answers queued for a client that does not read them, beyond which its requests are not read either: TCP flow
    /// control then holds the client, and the daemon's memory for it stays at this much (plus the socket buffers).
    static let maximumPendingOutput = 256 << 10

    func connectionDidClose(_ connection: TCPConnection) {
        handshakeTimer.close()
        idleTimer.close()
        rotationTimer.close()
        session.connectionClosed()
        onClose(self)
    }

    // MARK: Actions

    private func perform(_ actions: [SessionAction]) {
        for action in actions {
            guard !closed else { return }
            switch action {
            case .flush:
                session.drainOutput { tcp.write($0) }
                session.outputBacklog = tcp.pendingWriteBytes
                if tcp.pendingWriteBytes > Self.maximumPendingOutput, !pausedForOutput {
                    pausedForOutput = true
                    tcp.stopReading()
                }
            case .pauseReading:
                sessionWantsReading = false
                tcp.stopReading()
            case .resumeReading:
                sessionWantsReading = true
                if !pausedForOutput { tcp.startReading() }
            case .close:
                closed = true
                let output = session.takeOutput()
                if !output.isEmpty { tcp.write(output) }
                tcp.closeAfterPendingWrites()
            case .watch(let writer):
                writer.onEvent = { [weak self, unowned writer] event in
                    guard let self else { return }
                    perform(session.storeEvent(event, from: writer, now: Clock.now()))
                }
            case .storePipelined(let id, let file, let digest, let times):
                // The session hears the outcome even once the connection is gone (it logs and counts it).
                file.store(clientDigest: digest, times: times, executor: executor) { [weak self, session] outcome in
                    let actions = session.pipelinedStored(id: id, file, outcome, now: Clock.now())
                    self?.perform(actions)
                }
            case .probePipelined(let id, let probe):
                probe.run(executor: executor) { [weak self, session] outcome in
                    let actions = session.pipelinedProbed(id: id, probe, outcome, now: Clock.now())
                    self?.perform(actions)
                }
            case .lookUp(let lookup):
                lookup.run(executor: executor) { [weak self, session] outcome in
                    let actions = session.storeAnswered(lookup.request, outcome, now: Clock.now())
                    self?.perform(actions)
                }
            case .change(let change):
                // A change once started is made and recorded whatever becomes of the connection meanwhile.
                change.run(executor: executor) { [weak self, session] outcome in
                    let actions = session.storeAnswered(change.request, outcome, now: Clock.now())
                    self?.perform(actions)
                }
            case .verifyStep(let verifier, let request):
                verifier.step(executor: executor) { [weak self, session] step in
                    let actions = session.verifyStepped(verifier, request, step, now: Clock.now())
                    self?.perform(actions)
                }
            case .openForGet(let reader):
                reader.open(executor: executor) { [weak self, session] outcome in
                    let actions = session.getOpened(reader, outcome, now: Clock.now())
                    self?.perform(actions)
                }
            case .readForGet(let reader, let offset, let buffer):
                reader.read(at: offset, into: buffer, executor: executor) { [weak self, session] result in
                    let actions = session.getRead(reader, buffer, result, now: Clock.now())
                    self?.perform(actions)
                }
            case .sealForGet:
                perform(session.sealGet(now: Clock.now()))
            }
        }
        armTimers()
    }

    private func armTimers() {
        guard !closed, session.isEstablished else { return }
        if !wasAuthenticated {
            wasAuthenticated = true
            shared?.sourceLimits.authenticated(source)
        }
        handshakeTimer.stop()
        if idleArmedAt != session.progress {
            idleArmedAt = session.progress
            idleTimer.start(afterMilliseconds: session.settings.idleTimeoutSeconds * 1000) { [weak self] in
                guard let self else { return }
                perform(session.idleTimedOut())
            }
        }
        let deadline = session.nextDeadline
        guard deadline != rotationDeadline else { return }
        rotationDeadline = deadline
        guard let deadline else { return rotationTimer.stop() }
        let now = Clock.now().monotonicNanoseconds
        let delay = deadline > now ? (deadline - now) / 1_000_000 + 1 : 0
        rotationTimer.start(afterMilliseconds: delay) { [weak self] in
            guard let self else { return }
            rotationDeadline = nil
            perform(session.deadlinePassed(now: Clock.now()))
        }
    }

    // MARK: Worker commands

    /// Graceful shutdown: Goodbye to an idle session now; an upload in flight is left to finish (the worker closes the
    /// rest when the grace period ends, with `force`).
    func shutdown(force: Bool) { perform(session.shutdown(force: force, now: Clock.now())) }

    var isUploading: Bool { session.isBusy }

    /// A configuration reload: the client checked again (closed when no longer admitted), the new rotation policy from
    /// the next record on, the new limits for what comes next.
    func apply(_ new: RuntimeSettings) { perform(session.apply(new, now: Clock.now())) }

    private func closeNow() {
        closed = true
        tcp.close()
    }
}
