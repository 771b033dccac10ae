// One session of an upload run: connect, handshake, then files one after another, each streamed from disk in 1 MiB
// blocks cut into Data records, never more than `highWater` bytes queued on the socket (so memory stays bounded
// whatever the file size).
//
// Data path per block: a thread-pool job preads it into one of the file's two blocks and updates the SHA-256 there
// (off the loop thread), while the loop seals the other block straight into pooled socket write buffers,
// `recordsPerWrite` records per uv_write: each byte is read from the block once and written once, encrypted.
//
//   connecting ─► handshaking ─► idle ─► (Open) awaitingAccept ─► sending ─► (Close) awaitingCommit ─► idle … ─► Goodbye
//
// That is a v1 upload: a file over 1 MiB, or any file when the server did not agree to pipelining. Smaller files are
// pipelined (ClientSession+Pipelined.swift, PROTOCOL.md §8.10): read whole, probed or sent without waiting, answered
// in order; a large file waits until they are answered. Sealing v1 Data: ClientSession+Sealing.swift.
//
// A session that ends early (the connection lost, a timeout, the server busy) tells the engine why (SessionFailure)
// and hands back the file it was sending; the engine decides whether to retry it (RetryPolicy). A failure that is the
// file's alone (the server refusing it, the source changing) fails that file and the session goes on.
//
// Interrupted (`interrupt`, the user's Ctrl-C through UploadEngine.stop), a session lets a file whose Close is sent
// be committed, and cuts any other: no Abort — the server drops the partial of an aborted upload (PROTOCOL.md §8.3,
// §8.6) — but Goodbye after the Data sealed so far, so the server keeps everything it received for the next run.
import EventLoop
import Platform
import Foundation
import Protocol

final class ClientSession: TCPConnectionDelegate {
    /// Stop reading the file while this much is queued on the socket.
    static let highWater = 4 << 20
    static let readSize = 1 << 20
    /// Data records sealed into one socket write: a whole 1 MiB block per syscall, into one pooled write buffer
    /// (WriteBufferPool: with `highWater` queued that is 4 or 5 buffers in flight, all reused; smaller writes took
    /// more buffers than the pool keeps, and fresh ones cost page faults).
    static let recordsPerWrite = readSize / Limits.maxDataChunk

    unowned let engine: UploadEngine
    /// The engine's slot this session fills (its retry budget is the slot's).
    let slot: Int
    private(set) var tcp: TCPConnection?
    var connection: ClientConnection?
    private(set) var current: FileInFlight?
    /// Pipelined files (PROTOCOL.md §8.10; ClientSession+Pipelined.swift), and one the server answered busy.
    var pipeline = ClientPipeline()
    var answeredBusy: [PipelinedFile] = []
    /// We said Goodbye (or gave the connection up): its end is no failure.
    private(set) var closing = false
    /// `interrupt` cut the file in flight: Goodbye follows its Data, and the connection closes once both are written.
    var cutting = false
    private(set) var established = false
    private let rotationTimer: LoopTimer
    /// Wakes sealing up again after --bwlimit held it back.
    let bandwidthTimer: LoopTimer
    var bandwidthTimerArmed = false

    init(engine: UploadEngine, slot: Int) {
        self.engine = engine
        self.slot = slot
        rotationTimer = LoopTimer(loop: engine.loop)
        bandwidthTimer = LoopTimer(loop: engine.loop)
        watchdog = LoopTimer(loop: engine.loop)
        watch = StallWatch(phase: nil, timeouts: engine.target.timeouts)
    }

    /// Connects to the server's addresses in turn (the first that accepts), then starts the handshake.
    func start() {
        watchdog.start(afterMilliseconds: Self.watchdogTick, repeatMilliseconds: Self.watchdogTick) { [self] in check() }
        connect()
    }

    // MARK: Timeouts (ClientTimeouts, StallWatch)

    private let watchdog: LoopTimer
    private var watch: StallWatch
    /// Connecting to the server's addresses in turn; nil once connected or failed.
    private var dialer: AddressDialer?
    private var bytesRead: UInt64 = 0
    /// When the TCP connection was made (ns), for -v's handshake time.
    private var connectedAt: UInt64 = 0
    /// One second: the granularity of every timeout.
    static let watchdogTick: UInt64 = 1000

    private func check() {
        let moved = bytesRead + (tcp?.writtenBytes ?? 0)
        let committing = current.flatMap { $0.sentDigest != nil ? $0.file.size : nil } ?? unansweredPipelinedBytes
        switch watch.check(now: EventLoop.hrtimeNanoseconds, moved: moved, committingSize: committing,
                           hashingLocally: current?.hashingLocally == true || !pipeline.reading.isEmpty) {
        case nil: break
        case .connect:
            dialer?.timeOut()
        case .end(let message):
            tcp?.close()  // a Goodbye stuck behind writes that no longer move is not waited for either
            end(SessionFailure(.timedOut, message))
        }
    }

    private func connect() {
        let dialer = AddressDialer(loop: engine.loop, host: engine.target.host, port: engine.target.port,
                                   timeouts: engine.target.timeouts, addresses: engine.addresses)
        self.dialer = dialer
        dialer.dial(attempting: { [self] in watch.phase = .connecting(since: EventLoop.hrtimeNanoseconds) },
                    connected: { [self] tcp, address in
            self.dialer = nil
            guard !endedReported else { return tcp.close() }
            self.tcp = tcp
            tcp.delegate = self
            connectedAt = EventLoop.hrtimeNanoseconds
            engine.detail(1, "session \(slot + 1): connected to \(address)")
            watch.phase = .handshaking(since: EventLoop.hrtimeNanoseconds)
            do {
                connection = try ClientConnection.open(on: tcp, configuration: engine.target.configuration)
                tcp.startReading()
            } catch {
                end(SessionFailure(.local, "\(error)"))
            }
        }, failed: { [self] failure in
            self.dialer = nil
            end(failure)
        })
    }

    // MARK: TCPConnectionDelegate

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        bytesRead += UInt64(bytes.count)
        self.connection?.receive(bytes)
        drain()
    }

    func connectionDidReachEnd(_ connection: TCPConnection) {
        lost(established ? "the server closed the connection" : "the server closed the connection during the handshake")
    }

    func connection(_ connection: TCPConnection, didFail error: UVError) {
        lost("connection error: \(error.message)")
    }

    func connectionDidDrain(_ connection: TCPConnection) {
        pump()
        sendPipelined()
    }

    func connectionDidClose(_ connection: TCPConnection) { end(nil) }

    /// The connection ended: no failure once we said Goodbye with nothing in flight.
    private func lost(_ message: String) {
        end(closing && current == nil && pipeline.isEmpty ? nil : SessionFailure(.connectionLost, message))
    }

    // MARK: Protocol events

    private func drain() {
        guard var connection else { return }
        self.connection = nil
        let (events, failure) = connection.nextEvents(now: Clock.now())
        self.connection = connection
        for event in events { handle(event) }
        if failure == nil { startNextFile() }  // a file held back while an abort was answered
        flush()
        if let failure { return end(SessionFailure.from(failure, advice: engine.target.advice)) }
        armRotationTimer()
    }

    private func handle(_ event: ClientEvent) {
        switch event {
        case .handshakeCompleted:
            established = true
            if let parameters = connection?.parameters {
                let milliseconds = Double(EventLoop.hrtimeNanoseconds - connectedAt) / 1e6
                engine.detail(1, "session \(slot + 1): authenticated \(parameters.peerIdentity) in "
                    + String(format: "%.1f ms", milliseconds) + ": \(parameters.cipherSuite.name), "
                    + "\(parameters.group.name), \(parameters.hash.name), server signed with "
                    + "\(parameters.serverSignature.name), we with \(parameters.clientSignature.name)")
            }
            watch.phase = .flowing(mark: bytesRead + (tcp?.writtenBytes ?? 0), since: EventLoop.hrtimeNanoseconds)
            if !engine.target.namespace.isEmpty, connection?.storeAgreed != true {
                // An Open naming a namespace needs the store feature (PROTOCOL.md §8.1): not a failure a retry passes.
                return end(SessionFailure(.local, "the server does not take uploads into another namespace (--namespace; "
                    + "a ferryd older than this ferry): ask its operator to upgrade it"))
            }
            startNextFile()
        case .uploadAccepted(let offset):
            guard let current, current.stage == .awaitingAccept else { return }
            current.acceptedOffset = offset
            current.sent = offset
            current.readOffset = offset
            engine.accepted(current.index, offset: offset, slot: slot)
            engine.detail(2, "session \(slot + 1): \(current.file.remotePath): accepted at byte \(offset)")
            current.open(loop: engine.loop, earlier: engine.fingerprint(current.index)) { [self] failure in
                guard self.current === current, !current.closed else { return }
                if let failure { return abort(current, reason: failure) }
                if let opened = current.opened { engine.opened(current.index, fingerprint: opened) }
                pump()
            }
        case .uploadCommitted(let receipt):
            guard let current else { return }
            // The server commits only when its digest equals the one Close carried; a receipt that says otherwise is a
            // server fault the user must see, not a hash to print as the file's.
            let mismatch = receipt.digest == current.sentDigest ? nil : "the server committed the file with SHA-256 "
                + "\(hex(receipt.digest)), not the file's \(hex(current.sentDigest ?? []))"
            complete(current, stored: receipt.storedName, digest: current.sentDigest, error: mismatch)
            startNextFile()
        case .uploadFailed(let failure):
            guard let current else { return }
            switch failure.code {
            case .busy:
                // Another session holds the file, or the server is draining: the engine tries again later, on a new
                // session (RetryPolicy).
                return endPolitely(SessionFailure(.busy, "server busy: \(failure.message)"))
            case .digestMismatch where current.acceptedOffset > 0 && engine.mayRestartAfterMismatch(current.index):
                // The prefix the server kept was not this file's: it dropped it, and the file starts over, once.
                self.current = nil
                current.close(loop: engine.loop)
                engine.restartAfterMismatch(current.index, sent: current.sentThisAttempt)
            case .exists where !engine.target.overwrite && !current.askedWhetherStored && current.stage == .awaitingAccept:
                askWhetherStored(current)
                return
            case .exists where engine.target.ignoreExisting:
                complete(current, stored: nil, digest: nil, error: nil,
                         skipped: "it exists on the server with other content (--ignore-existing)")
            default:
                complete(current, stored: nil, digest: nil,
                         error: UploadErrorWording.message(failure, path: current.file.remotePath,
                                                           overwriteAsked: engine.target.overwrite))
            }
            startNextFile()
        case .uploadAlreadyStored(let receipt):
            guard let current else { return }
            complete(current, stored: receipt.storedName, digest: receipt.digest, error: nil, alreadyStored: true)
            startNextFile()
        case .pipelinedAnswered(_, let answer):
            pipelinedAnswered(answer)
        case .storeAnswered, .getStarted, .getData, .getFinished:
            break  // an upload sends no store request (PROTOCOL.md §14): the protocol delivers none
        case .rotated:
            // Counted through `connection.rotations` for the file's result.
            let sent = connection?.rotations.sent ?? 0, received = connection?.rotations.received ?? 0
            engine.detail(1, "session \(slot + 1): keys rotated (\(sent) by us, \(received) by the server so far)")
        case .peerClosed:
            // The server ended the session (a drain, a restart): whatever was in flight or still queued is retried.
            let idle = current == nil && pipeline.isEmpty
            if closing && idle { return end(nil) }
            end(SessionFailure(.connectionLost, idle ? "the server ended the session" : "the server said goodbye during the upload"))
        }
    }

    /// The next file, once the protocol allows an Open: after an abort (ours, or the server failing an upload while
    /// we sent it) the server's answer to Abort must come first (PROTOCOL.md §8.4) — `drain` calls this again when it
    /// has. With pipelining (ClientSession+Pipelined.swift) small files flow without waiting, and a large one goes
    /// as a v1 upload once every pipelined one is answered. A file whose name on the server is longer than the
    /// protocol allows fails here, alone. Goodbye once nothing is left.
    func startNextFile() {
        guard current == nil, established, !closing, let connection else { return }
        if pipelines {
            // Stopping: what was not sent goes back (the engine ends it as interrupted); what was sent is answered.
            if engine.stoppedBy != nil, !pipeline.ready.isEmpty || !pipeline.reading.isEmpty || pipeline.heldForV1 != nil {
                releaseUnsentBuffers(includingSealing: false)
                for index in pipeline.takeUnsent() { engine.giveBack(index) }
            }
            fillPipeline()
            sendPipelined()
            guard current == nil, !closing, pipeline.isEmpty else { return }
            if let index = pipeline.heldForV1 {
                guard self.connection?.canStartUpload == true else { return }
                pipeline.heldForV1 = nil
                startV1(index)
                return
            }
            return sayGoodbye()
        }
        if engine.target.dryRun { return finishDryRunUnasked() }
        guard connection.canStartUpload else { return }
        while let index = engine.nextFile() {
            if startV1(index) { return }
        }
        sayGoodbye()
    }

    /// Sends a v1 Open for the file (false when its name cannot be sent: the file failed).
    @discardableResult
    private func startV1(_ index: Int) -> Bool {
        let file = engine.files[index]
        if let problem = Self.pathProblem(file) {
            engine.finished(index, result: failedResult(file, problem), sent: 0, slot: slot)
            return false
        }
        guard let connection else { return false }
        current = FileInFlight(index: index, file: file, rotationsAtStart: connection.rotations.sent, blocks: engine.blocks)
        self.connection?.startUpload(
            UploadRequest(path: file.remotePath, size: file.size, overwrite: engine.target.overwrite,
                          namespace: engine.target.namespace), now: Clock.now())
        engine.opening(index)
        engine.detail(2, "session \(slot + 1): Open \(file.remotePath) (\(file.size) bytes)")
        return true
    }

    func sayGoodbye() {
        connection?.goodbye(now: Clock.now())
        flush()
        closing = true
        tcp?.closeAfterPendingWrites()
    }

    /// Seals what was read, reads the next block, and once everything is sealed checks the source (SourceFingerprint)
    /// and sends Close. Sealing stops while the socket's queue is above the high-water mark or the protocol holds Data
    /// back (`canSendData` is false for at most one round trip while a rotation completes).
    func pump() {
        guard let current, current.stage == .sending, current.fd != nil, tcp != nil, !closing else { return }
        sealReady(current)
        guard connection != nil else { return }
        guard current.sent == current.file.size else {
            return current.readNext(loop: engine.loop) { [self] failure in
                guard self.current === current, !current.closed else { return }
                if let failure { return abort(current, reason: failure) }
                pump()
            }
        }
        // Every byte is sealed: the file must still be what it was when opened, or Abort goes instead of Close.
        current.checkUnchanged(loop: engine.loop) { [self] failure in
            guard self.current === current, !current.closed else { return }
            if let failure { return abort(current, reason: failure) }
            sendClose(current)
        }
    }

    private func sendClose(_ current: FileInFlight) {
        guard var connection else { return }
        self.connection = nil
        let digest = current.digest.snapshot()
        current.sentDigest = digest
        connection.finishUpload(digest: digest, times: engine.target.keepTimes ? current.opened?.times : nil, now: Clock.now())
        self.connection = connection
        current.close(loop: engine.loop)
        flush()
    }

    private func abort(_ current: FileInFlight, reason: String) {
        connection?.abortUpload(now: Clock.now())
        flush()
        complete(current, stored: nil, digest: nil, error: reason)
        startNextFile()
    }

    private func complete(_ current: FileInFlight, stored: String?, digest: [UInt8]?, error: String?,
                          alreadyStored: Bool = false, skipped: String? = nil) {
        current.close(loop: engine.loop)
        self.current = nil
        var result = result(current, stored: stored, digest: digest, error: error)
        result.alreadyStored = alreadyStored
        result.skipped = skipped
        engine.finished(current.index, result: result, sent: current.sentThisAttempt, slot: slot)
    }

    /// The server has a file of that name (`exists`): hash ours and send Open again with the digest. The server then
    /// answers Committed when it holds this very file (reported "already stored": a re-run is harmless), or `exists`
    /// again when the contents differ, with what to do (PROTOCOL.md §8.7).
    private func askWhetherStored(_ current: FileInFlight) {
        current.askedWhetherStored = true
        current.hashWhole(loop: engine.loop) { [self] result in
            guard self.current === current, !current.closed, current.stage == .askingStored else { return }
            switch result {
            case .failure(let problem):
                complete(current, stored: nil, digest: nil, error: problem.message)
                startNextFile()
            case .success(let digest):
                current.stage = .awaitingAccept
                connection?.startUpload(UploadRequest(path: current.file.remotePath, size: current.file.size,
                                                      overwrite: false, expectedDigest: digest,
                                                      namespace: engine.target.namespace), now: Clock.now())
            }
            flush()
        }
    }

    private func result(_ current: FileInFlight, stored: String?, digest: [UInt8]?, error: String?) -> FileResult {
        let seconds = Double(EventLoop.hrtimeNanoseconds - current.started) / 1e9
        let rotations = (connection?.rotations.sent ?? current.rotationsAtStart) - current.rotationsAtStart
        let whole = stored != nil && error == nil
        return FileResult(file: current.file, stored: stored, bytes: whole ? current.file.size : current.sent,
                          sha256: digest.map(hex), seconds: seconds, rotations: rotations, error: error)
    }

    // MARK: Output and teardown

    func flush() {
        guard var connection, let tcp else { return }
        self.connection = nil
        connection.drainOutput { tcp.write($0) }
        self.connection = connection
    }

    private func armRotationTimer() {
        guard let deadline = connection?.nextDeadline else { return rotationTimer.stop() }
        let now = Clock.now().monotonicNanoseconds
        rotationTimer.start(afterMilliseconds: deadline > now ? (deadline - now) / 1_000_000 + 1 : 0) { [self] in
            guard var connection else { return }
            self.connection = nil
            do { try connection.handleTimer(now: Clock.now()) } catch {}
            self.connection = connection
            flush()
            pump()
            sendPipelined()
        }
    }

    /// Ends the session on `failure` with a Goodbye, the connection closed once it is sent (the server answered
    /// busy: nothing is wrong with the session itself).
    func endPolitely(_ failure: SessionFailure) {
        sayGoodbye()
        end(failure)
    }

    /// Ends the session once: hands the file in flight back to the engine with why (nil: nothing was left to do),
    /// frees the timers and the socket.
    func end(_ failure: SessionFailure?) {
        guard !endedReported else { return }
        endedReported = true
        var interrupted = takePipelineBack()
        if let current {
            self.current = nil
            current.close(loop: engine.loop)
            // Cut by `interrupt` and closed without an error: the Data and the Goodbye were all written.
            interrupted.append(UploadEngine.Interrupted(
                index: current.index, result: result(current, stored: nil, digest: nil, error: nil),
                sent: current.sentThisAttempt, flushed: cutting && failure == nil))
        }
        dialer?.cancel()
        dialer = nil
        rotationTimer.close()
        bandwidthTimer.close()
        watchdog.close()
        watch.phase = nil
        if let tcp, !closing {
            closing = true
            tcp.close()
        }
        let failure = failure ?? (interrupted.isEmpty || cutting
            ? nil : SessionFailure(.connectionLost, "the connection closed during the upload"))
        engine.sessionEnded(self, failure: failure, interrupted: interrupted)
    }
    private(set) var endedReported = false
}
