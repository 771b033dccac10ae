// One client connection on a worker loop: the socket, the protocol's server state machine, the upload being stored,
// and the session's timers. The read callback appends bytes and drains events — nothing else (STYLE.md §2).
//
//   accepted ──handshake (timeout: limits.handshake_timeout)──► established ──uploads…──► goodbye / error / idle timeout
//                                                                                             │
//                                                                      flush output, close; .part of an unfinished upload removed
//
// Upload scope, beside the protocol's own (ServerConnection): Open → the store prepares (`preparing`): its `.ready`
// accepts and its `.failed` rejects; Data flows into the writer (`receiving`) until Close, then its `.committed` or
// `.failed` answers. A failure during the data is sent at once (ServerConnection discards the rest).
import EventLoop
import Foundation
import Logging
import Platform
import Protocol
import Store

final class SessionDriver: TCPConnectionDelegate {
    let id: UInt64
    private let loop: EventLoop
    private let tcp: TCPConnection
    private var protocolState: ServerConnection
    private var settings: RuntimeSettings
    private let store: Store
    /// The worker's upload buffers (each UploadWriter takes four).
    private let buffers: IOBufferPool
    private var logger: Logger
    private let handshakeTimer: LoopTimer
    private let idleTimer: LoopTimer
    private let rotationTimer: LoopTimer
    private var rotationDeadline: UInt64?
    private var identity: String?
    private enum Upload {
        case none
        /// Open received; the store is preparing (directories, name checks, the .part file).
        case preparing(UploadWriter)
        /// Accepted: Data goes to the writer, then Close commits.
        case receiving(UploadWriter)
    }
    private var upload = Upload.none
    private var writer: UploadWriter? {
        switch upload {
        case .none: nil
        case .preparing(let writer), .receiving(let writer): writer
        }
    }
    private var uploadCounter: UInt64 = 0
    /// Rotations of each direction in this session (the per-session count in the "session closed" line).
    private var rotationsFromClient = 0
    private var rotationsToClient = 0
    private var closing = false
    /// The daemon is shutting down: finish the upload in flight, start no other, then say Goodbye.
    private var draining = false
    /// Reading paused because the disk is behind.
    private var pausedForDisk = false
    private let onClose: (SessionDriver) -> Void
    let startedAt = Date()
    /// Process-wide counters (bytesReceived, for systemd's STATUS=); set by the Worker that accepted the connection.
    var shared: DaemonShared?
    private let metrics: DaemonMetrics
    /// The handshake's outcome was counted (ok or failed): exactly once per session.
    private var handshakeCounted = false

    init(id: UInt64, loop: EventLoop, tcp: TCPConnection, settings: RuntimeSettings, store: Store,
         buffers: IOBufferPool, logger: Logger, metrics: DaemonMetrics, onClose: @escaping (SessionDriver) -> Void) {
        self.id = id
        self.buffers = buffers
        self.metrics = metrics
        self.loop = loop
        self.tcp = tcp
        self.settings = settings
        self.store = store
        self.onClose = onClose
        var logger = logger
        logger[metadataKey: "session"] = "\(id)"
        logger[metadataKey: "peer"] = "\(tcp.peerDescription)"
        self.logger = logger
        protocolState = ServerConnection(configuration: settings.protocolConfiguration)
        handshakeTimer = LoopTimer(loop: loop)
        idleTimer = LoopTimer(loop: loop)
        rotationTimer = LoopTimer(loop: loop)
    }

    func start() {
        tcp.delegate = self
        tcp.setNoDelay(true)
        handshakeTimer.start(afterMilliseconds: settings.handshakeTimeoutSeconds * 1000) { [weak self] in
            guard let self, !self.protocolState.isEstablished else { return }
            self.logger.notice("handshake timeout", metadata: ["after_s": "\(self.settings.handshakeTimeoutSeconds)"])
            self.countHandshake(failed: .timeout)
            self.protocolState.close(.closedByPeer, reason: "handshake timeout")
            self.flushAndClose()
        }
        tcp.startReading()
    }

    // MARK: TCPConnectionDelegate

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        protocolState.receive(bytes)
        drain()
    }

    /// While an upload runs, the socket is read straight into the session's receive buffer, where its records are
    /// decrypted into the upload's batch: each byte is copied by the kernel once and decrypted once, and nothing else
    /// (issue #7). Idle sessions read into the loop's shared buffer and keep no memory of their own.
    func readBuffer(for connection: TCPConnection) -> UnsafeMutableRawBufferPointer? {
        guard writer != nil, !closing else { return nil }
        return protocolState.receiveSpace(minimum: Self.inPlaceReadMinimum, preferredCapacity: Self.inPlaceReadCapacity)
    }

    /// At least one whole Data record of room per read; the buffer holds several, so the one incomplete record at
    /// its end is moved to the front once every few reads (a few % of the bytes) instead of every read being copied.
    static let inPlaceReadMinimum = Limits.maxRecordBodyAfterAuthentication + Limits.recordHeaderLength
    static let inPlaceReadCapacity = 512 << 10

    func connection(_ connection: TCPConnection, didReadInPlace count: Int) {
        protocolState.didReceive(count: count)
        drain()
    }

    func connectionDidReachEnd(_ connection: TCPConnection) {
        if writer != nil { logger.warning("connection closed by the client during an upload") }
        closeNow()
    }

    func connection(_ connection: TCPConnection, didFail error: UVError) {
        logger.warning("connection error", metadata: ["error": "\(error)"])
        metrics.connectionError()
        closeNow()
    }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection) {
        handshakeTimer.close()
        idleTimer.close()
        rotationTimer.close()
        countHandshake(failed: .disconnected)  // no-op once counted
        if identity != nil {
            logger.info("session closed", metadata: [
                "uploads": "\(uploadCounter)", "rotations_client_to_server": "\(rotationsFromClient)",
                "rotations_server_to_client": "\(rotationsToClient)",
                "seconds": "\(String(format: "%.3f", Date().timeIntervalSince(startedAt)))",
            ])
        }
        if let writer {
            metrics.uploadFailed(.aborted)  // cut by the connection's end
            writer.abandon()
            upload = .none
        }
        onClose(self)
    }

    // MARK: Events

    private func drain() {
        let now = Clock.now()
        // Data is decrypted straight into the upload's pending batch (one pass over each byte; no copy after it).
        let dataInto: (Int) -> UnsafeMutableRawBufferPointer? = { [unowned self] length in writer?.reserve(length) }
        do {
            // Paused for the disk: the records already received wait in the receive buffer (decrypting them would
            // pass the upload's share by up to a whole socket read); `resumeReading` drains them first.
            while !closing, !pausedForDisk, let event = try protocolState.nextEvent(now: now, dataInto: dataInto) {
                handle(event, now: now)
            }
        } catch {
            log(error)
            count(error)
            flushAndClose()
            return
        }
        flush()
        if writer == nil { protocolState.releaseIdleBuffers() }  // an idle session keeps no buffer memory
        armTimers()
    }

    private func handle(_ event: ServerEvent, now: Now) {
        switch event {
        case .handshakeCompleted(let parameters):
            handshakeTimer.stop()
            if !handshakeCounted {
                handshakeCounted = true
                metrics.handshakeSucceeded()
            }
            identity = parameters.peerIdentity
            logger[metadataKey: "client"] = "\(parameters.peerIdentity)"
            logger.info("session established", metadata: [
                "cipher": "\(parameters.cipherSuite.name)", "group": "\(parameters.group.name)",
                "hash": "\(parameters.hash.name)", "client_sig": "\(parameters.clientSignature.name)",
            ])
        case .uploadRequested(let request):
            beginUpload(request)
        case .uploadData(let chunk):
            received(chunk.count) { $0.append(chunk) }
        case .uploadDataWritten(let length):
            received(length) { $0.appendWritten(length) }
        case .uploadFinished(let digest):
            finishUpload(digest: digest)
        case .uploadAborted(let failure):
            logger.notice("upload aborted by the client", metadata: ["path": "\(writer?.path.relativePath ?? "")", "reason": "\(failure.message)"])
            metrics.uploadFailed(failure.code)
            writer?.abandon()
            upload = .none
            resumeReading()
        case .rotated(let rotation):
            if rotation.direction == .send { rotationsToClient += 1 } else { rotationsFromClient += 1 }
            metrics.rotated(rotation.direction)
            logger.info("keys rotated", metadata: [
                "direction": "\(rotation.direction == .send ? "server->client" : "client->server")",
                "epoch": "\(rotation.epoch)", "bytes": "\(rotation.bytesUnderOldKeys)",
                "seconds": "\(String(format: "%.3f", rotation.secondsUnderOldKeys))", "reason": "\(rotation.reason)",
            ])
        case .peerClosed:
            logger.info("client said goodbye")
            flushAndClose()
        }
    }

    private func beginUpload(_ request: UploadRequest) {
        guard let identity else { return }
        let now = Clock.now()
        if draining { return refuse(request, UploadFailure(.busy, "the server is shutting down; retry later"), now) }
        if settings.maxFileSize > 0, request.size > settings.maxFileSize {
            return refuse(request, UploadFailure(.tooLarge, "\(request.size) bytes exceeds the server's limit of \(settings.maxFileSize)"), now)
        }
        if request.overwrite, !settings.allowOverwrite {
            return refuse(request, UploadFailure(.exists, "this server does not allow overwriting files"), now)
        }
        let path: StoredPath
        do { path = try store.rules.storedPath(identity: identity, relativePath: request.path) } catch {
            return refuse(request, UploadFailure(.badPath, "\(error)"), now)
        }
        uploadCounter += 1
        let writer = UploadWriter(
            store: store, path: path, uploadID: id << 20 | uploadCounter,
            settings: UploadWriter.Settings(overwrite: request.overwrite, durable: settings.fsync, directIO: settings.directIO),
            executor: LoopExecutor(loop: loop), buffers: buffers)
        upload = .preparing(writer)
        writer.onBacklogChange = { [metrics] delta in metrics.backlogChanged(by: delta) }
        writer.onEvent = { [weak self, unowned writer] event in self?.handle(event, of: writer, request: request) }
    }

    /// What the store says of the current upload.
    private func handle(_ event: UploadWriter.Event, of writer: UploadWriter, request: UploadRequest) {
        guard !closing, self.writer === writer else { return }
        let now = Clock.now()
        switch event {
        case .ready:
            logger.info("upload started", metadata: ["path": "\(request.path)", "size": "\(request.size)"])
            upload = .receiving(writer)
            protocolState.accept(now: now)
        case .room:
            return resumeReading()
        case .committed(let receipt):
            upload = .none
            logger.info("upload committed", metadata: [
                "path": "\(receipt.storedName)", "bytes": "\(receipt.size)", "sha256": "\(hex(receipt.digest))",
            ])
            protocolState.commit(receipt, now: now)
            metrics.uploadCommitted()
            resumeReading()
        case .failed(let failure):
            let accepted = if case .receiving = upload { true } else { false }
            upload = .none
            let metadata: Logger.Metadata = [
                "path": "\(request.path)", "code": "\(failure.failure.code)", "reason": "\(failure.failure.message)",
                "detail": "\(failure.detail)",
            ]
            if failure.isSuspicious { logger.warning("upload refused", metadata: metadata) }
            if accepted {
                if !failure.isSuspicious { logger.error("upload failed", metadata: metadata) }
                metrics.uploadFailed(failure.failure.code)
                protocolState.fail(failure.failure, now: now)
                resumeReading()
            } else {
                return refuse(request, failure.failure, now, logged: failure.isSuspicious)
            }
        }
        flush()
        if draining, self.writer == nil { shutdown(force: true) }
    }

    private func refuse(_ request: UploadRequest, _ failure: UploadFailure, _ now: Now, logged: Bool = false) {
        if !logged {
            logger.notice("upload refused", metadata: ["path": "\(request.path)", "code": "\(failure.code)", "reason": "\(failure.message)"])
        }
        metrics.uploadFailed(failure.code)
        protocolState.reject(failure, now: now)
        flush()
    }

    private func finishUpload(digest: [UInt8]) {
        writer?.finish(clientDigest: digest)
    }

    /// A Data chunk of `length` bytes for the current upload: counted, handed to the writer, reading (and
    /// decrypting what was read) paused when the writer's filling batch is full.
    private func received(_ length: Int, _ store: (UploadWriter) -> Void) {
        metrics.received(bytes: length)
        shared?.bytesReceived.add(UInt64(length), ordering: .relaxed)  // systemd STATUS=
        guard let writer else { return }
        store(writer)
        if writer.isFull, !pausedForDisk {
            pausedForDisk = true
            tcp.stopReading()
        }
    }

    private func resumeReading() {
        guard pausedForDisk, !closing else { return }
        pausedForDisk = false
        drain()  // what arrived before the pause first; it may fill the batch again
        if !pausedForDisk, !closing { tcp.startReading() }
    }

    // MARK: Output, timers, teardown

    private func flush() {
        protocolState.drainOutput { tcp.write($0) }
        if protocolState.isClosed, !closing { flushAndClose() }
    }

    private func armTimers() {
        guard !closing, protocolState.isEstablished else { return }
        idleTimer.start(afterMilliseconds: settings.idleTimeoutSeconds * 1000) { [weak self] in
            guard let self else { return }
            self.logger.notice("idle timeout", metadata: ["after_s": "\(self.settings.idleTimeoutSeconds)"])
            self.protocolState.close(.closedByPeer, reason: "idle timeout")
            self.flushAndClose()
        }
        let deadline = protocolState.nextDeadline
        guard deadline != rotationDeadline else { return }
        rotationDeadline = deadline
        guard let deadline else { return rotationTimer.stop() }
        let now = Clock.now().monotonicNanoseconds
        let delay = deadline > now ? (deadline - now) / 1_000_000 + 1 : 0
        rotationTimer.start(afterMilliseconds: delay) { [weak self] in
            guard let self else { return }
            self.rotationDeadline = nil
            do throws(ProtocolError) { try self.protocolState.handleTimer(now: Clock.now()) } catch {
                self.log(error)
                self.count(error)
            }
            self.flush()
            self.armTimers()
        }
    }

    /// Sends what is queued (an alert, a goodbye) and closes once it is written.
    func flushAndClose() {
        guard !closing else { return }
        closing = true
        let output = protocolState.takeOutput()
        if !output.isEmpty { tcp.write(output) }
        tcp.closeAfterPendingWrites()
    }

    /// Graceful shutdown: Goodbye to an idle session now; an upload in flight is left to finish (the caller closes the
    /// rest when the grace period ends).
    func shutdown(force: Bool) {
        guard !closing else { return }
        draining = true
        if force || writer == nil {
            if protocolState.isEstablished { protocolState.goodbye(now: Clock.now()) }
            flushAndClose()
        }
    }

    var isUploading: Bool { writer != nil }

    /// A configuration reload: the new rotation policy from the next record on, the new limits for what comes next.
    func apply(_ new: RuntimeSettings) {
        guard !closing else { return }
        let old = settings.protocolConfiguration.rotation
        settings.maxFileSize = new.maxFileSize
        settings.allowOverwrite = new.allowOverwrite
        settings.fsync = new.fsync
        settings.directIO = new.directIO
        settings.idleTimeoutSeconds = new.idleTimeoutSeconds
        settings.protocolConfiguration.rotation = new.protocolConfiguration.rotation
        if old != new.protocolConfiguration.rotation {
            protocolState.updateRotationPolicy(new.protocolConfiguration.rotation)
            logger.info("rotation policy updated", metadata: [
                "rotate_after_bytes": "\(new.protocolConfiguration.rotation.afterBytes ?? 0)",
                "rotate_after_seconds": "\(new.protocolConfiguration.rotation.afterSeconds ?? 0)",
            ])
        }
        flush()
        armTimers()
    }

    private func closeNow() {
        closing = true
        tcp.close()
    }

    /// A handshake that will not complete; counted once (a timeout's alert or a later close adds nothing).
    private func countHandshake(failed failure: DaemonMetrics.HandshakeFailure) {
        guard !handshakeCounted else { return }
        handshakeCounted = true
        metrics.handshakeFailed(failure)
    }

    /// A protocol error: a failed handshake before it completed, a session error after.
    private func count(_ error: ProtocolError) {
        if handshakeCounted {
            metrics.sessionError(error.alert)
        } else {
            countHandshake(failed: .alert(error.alert))
        }
    }

    private func log(_ error: ProtocolError) {
        var metadata: Logger.Metadata = ["alert": "\(error.alert.name)", "detail": "\(error.detail)"]
        if let failure = error.certificateFailure { metadata["certificate"] = "\(failure)" }
        if error.origin == .peer {
            logger.notice("client sent an alert", metadata: metadata)
        } else {
            logger.warning(protocolState.isEstablished || identity != nil ? "session error" : "handshake failed", metadata: metadata)
        }
    }
}
