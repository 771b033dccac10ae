// One client session without its socket: the protocol's server state machine (ServerConnection) and the operation
// handlers (UploadHandler; ServerSession+Store with StoreRequestHandler for the store's requests; ServerSession+Get).
// Bytes, the store's answers, timer expiries and `now` in; SessionActions out (flush, pause or resume reading, close,
// watch a writer, run a store job), which the driver (Runtime/SessionDriver.swift) performs. Tests drive it with no socket (Tests/DaemonTests/ServerSessionTests.swift).
//
//   handshaking ──ClientHello…Finished──► established ──(operations)──► closed: Goodbye, an error, a timeout, shutdown
//        │ handshake timeout / error                                       (the driver writes what is queued and closes)
//        └──────────────────────────────────────────────────────────────► closed
//
// While the store is behind (`pausedForStore`), records already received stay undecrypted in the receive buffer:
// decrypting them would pass the upload's share by up to a whole socket read. `resumeReading` processes them first.
import Foundation
import Logging
import Protocol
import Store

final class ServerSession {
    let id: UInt64
    var connection: ServerConnection
    var upload: UploadHandler
    var storeRequests = StoreRequestHandler()
    /// The Get being served (ServerSession+Get), and what the socket held queued at the last flush or drain.
    var getTransfer: GetTransfer?
    var outputBacklog = 0
    private(set) var logger: Logger
    let metrics: DaemonMetrics
    /// Process-wide counters (bytesReceived, for systemd's STATUS=).
    let shared: DaemonShared?
    private(set) var settings: RuntimeSettings
    private(set) var identity: String?
    /// The client as the handshake verified it, checked again when the trust or access rules change.
    private var peer: VerifiedPeer?
    private(set) var closing = false
    /// The daemon is shutting down: finish the operation in flight, start no other, then say Goodbye.
    private var draining = false
    private(set) var pausedForStore = false
    /// The handshake's outcome was counted (ok or failed): exactly once per session.
    private var handshakeCounted = false
    /// Counts what moves the session forward — the handshake, a request, file bytes, an operation's end, the store's
    /// answers — but not traffic alone: zero-length Data and stale RotateRequests hold no session open (the idle
    /// timeout restarts only when this changes, SessionDriver.armTimers).
    var progress: UInt64 = 0
    private var rotationsFromClient = 0
    private var rotationsToClient = 0
    private let startedAt = Date()

    init(id: UInt64, settings: RuntimeSettings, upload: UploadHandler.Environment, logger: Logger,
         metrics: DaemonMetrics, shared: DaemonShared? = nil) {
        self.id = id
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
        self.shared = shared
        connection = ServerConnection(configuration: settings.protocolConfiguration)
        self.upload = UploadHandler(environment: upload, logger: logger, metrics: metrics)
    }

    // MARK: Input

    func receive(_ bytes: UnsafeRawBufferPointer) { connection.receive(bytes) }

    /// Room to read the socket into (straight into the receive buffer) while an operation streams data; nil otherwise
    /// (idle sessions read into the loop's shared buffer and keep no memory of their own).
    func receiveSpace(minimum: Int, preferredCapacity: Int) -> UnsafeMutableRawBufferPointer? {
        guard upload.isBusy, !closing else { return nil }
        return connection.receiveSpace(minimum: minimum, preferredCapacity: preferredCapacity)
    }

    func didReceive(count: Int) { connection.didReceive(count: count) }

    /// Decrypts and handles what was received (unless paused for the store).
    func process(now: Now) -> [SessionAction] {
        var actions: [SessionAction] = []
        // Data is decrypted straight into the upload's batch (one pass over each byte; no copy after it).
        let dataInto: (Int) -> UnsafeMutableRawBufferPointer? = { [unowned self] length in
            upload.isReceivingPipelined ? upload.pipelinedReserve(length) : upload.reserve(length)
        }
        do {
            while !closing, !pausedForStore, let event = try connection.nextEvent(now: now, dataInto: dataInto) {
                actions += handle(event, now: now)
            }
        } catch {
            log(error)
            count(error)
            return actions + close()
        }
        if !upload.isBusy, getTransfer == nil { connection.releaseIdleBuffers() }
        // A RotateReply read just now may let a Get's blocks be sealed again.
        if getTransfer != nil, !closing { actions += pumpGet(now: now) }
        return actions + flush()
    }

    /// What the store says of an operation's writer.
    func storeEvent(_ event: UploadWriter.Event, from writer: UploadWriter, now: Now) -> [SessionAction] {
        guard !closing else { return [] }
        progress &+= 1
        var actions = apply(upload.storeEvent(event, from: writer), now: now) + flush()
        if draining, !isBusy { actions += shutdown(force: true, now: now) }
        return actions
    }

    /// A pipelined upload's store job ended (PROTOCOL.md §8.10): its answer queued (sent in turn), reading resumed
    /// once the session holds less than its bounds. Also after the connection closed: then only logged and counted.
    func pipelinedStored(id: UInt64, _ file: WholeFileUpload, _ outcome: WholeFileUpload.Outcome, now: Now) -> [SessionAction] {
        pipelinedAnswered(id: id, upload.pipelinedStored(id: id, file, outcome), now: now)
    }

    /// A probe's lookup ended: as `pipelinedStored`.
    func pipelinedProbed(id: UInt64, _ probe: StoredFileProbe, _ outcome: StoredFileProbe.Outcome, now: Now) -> [SessionAction] {
        pipelinedAnswered(id: id, upload.pipelinedProbed(id: id, probe, outcome), now: now)
    }

    private func pipelinedAnswered(id: UInt64, _ answer: PipelinedAnswer, now: Now) -> [SessionAction] {
        guard !closing else { return [] }
        progress &+= 1
        connection.answerPipelined(id: id, answer, now: now)
        var actions = flush()
        if pausedForStore, !mustPauseForPipelining { actions += resumeReading(now: now) }
        return actions + drainedNow(now)
    }

    /// Shutting down and nothing left in flight: Goodbye now.
    func drainedNow(_ now: Now) -> [SessionAction] {
        draining && !isBusy ? shutdown(force: true, now: now) : []
    }

    /// Pipelined uploads past the session's bounds (PipelinedUploads): stop reading until some are stored.
    private var mustPauseForPipelining: Bool {
        connection.unansweredPipelined >= PipelinedUploads.maximumUnanswered
            || upload.pipelined.heldBytes >= PipelinedUploads.maximumHeldBytes
    }

    private func pauseForPipelining() -> [SessionAction] {
        guard mustPauseForPipelining, !pausedForStore else { return [] }
        pausedForStore = true
        return [.pauseReading]
    }

    /// The reader may go on: process what was received meanwhile, then read the socket again (unless that paused).
    func resumeReading(now: Now) -> [SessionAction] {
        guard pausedForStore, !closing else { return [] }
        pausedForStore = false
        let actions = process(now: now)
        return actions + (pausedForStore || closing ? [] : [.resumeReading])
    }

    private func handle(_ event: ServerEvent, now: Now) -> [SessionAction] {
        switch event {
        case .uploadData(let chunk) where chunk.isEmpty: break
        case .uploadDataWritten(0), .rotated: break
        default: progress &+= 1
        }
        switch event {
        case .handshakeCompleted(let parameters):
            if !handshakeCounted {
                handshakeCounted = true
                metrics.handshakeSucceeded()
            }
            identity = parameters.peerIdentity
            peer = parameters.peer
            logger[metadataKey: "client"] = "\(parameters.peerIdentity)"
            upload.setClient(parameters.peerIdentity)
            logger.info("session established", metadata: [
                "cipher": "\(parameters.cipherSuite.name)", "group": "\(parameters.group.name)",
                "hash": "\(parameters.hash.name)", "client_sig": "\(parameters.clientSignature.name)",
                "server_sig": "\(parameters.serverSignature.name)",
            ])
            return []
        case .uploadRequested(let request):
            guard let identity else { return [] }
            upload.environment.draining = draining
            return apply(upload.requested(request, identity: identity), now: now)
        case .uploadData(let chunk):
            shared?.bytesReceived.add(UInt64(chunk.count), ordering: .relaxed)  // systemd STATUS=
            if upload.isReceivingPipelined {
                upload.pipelinedReceived(chunk.count, chunk: chunk)
                return []
            }
            return apply(upload.received(chunk.count, chunk: chunk), now: now)
        case .uploadDataWritten(let length):
            shared?.bytesReceived.add(UInt64(length), ordering: .relaxed)
            if upload.isReceivingPipelined {
                upload.pipelinedReceived(length, chunk: nil)
                return []
            }
            return apply(upload.received(length), now: now)
        case .pipelinedRequested(let request, let id):
            guard let identity else { return [] }
            upload.environment.draining = draining
            if let refusal = upload.pipelinedRequested(request, id: id, identity: identity) {
                connection.answerPipelined(id: id, refusal, now: now)
            }
            return pauseForPipelining()
        case .pipelinedFinished(let id, let digest, let times):
            guard let file = upload.pipelinedFinished(id: id) else { return drainedNow(now) }  // refused at Open
            return [.storePipelined(id: id, file, digest: digest, times: times)]
        case .pipelinedAborted(let id):
            upload.pipelinedAborted(id: id)
            return drainedNow(now)
        case .pipelinedProbed(let request, let id):
            guard let identity else { return [] }
            upload.environment.draining = draining
            switch upload.pipelinedProbe(request, id: id, identity: identity) {
            case .failure(let refusal):
                connection.answerPipelined(id: id, .failed(refusal), now: now)
                return pauseForPipelining() + drainedNow(now)
            case .success(let probe):
                return [.probePipelined(id: id, probe)] + pauseForPipelining()
            }
        case .storeRequested(.get(let get)):
            guard let identity else { return [] }
            upload.environment.draining = draining
            if let failure = StoreRequestHandler.refusal(.get(get), identity: identity, environment: upload.environment) {
                return refuseGet(get, failure)
            }
            return startGet(get, identity: identity, now: now)
        case .storeRequested(let request):
            guard let identity else { return [] }
            upload.environment.draining = draining
            return requestStore(request, identity: identity, now: now)
        case .uploadFinished(let digest, let times):
            return apply(upload.finished(digest: digest, times: times), now: now)
        case .uploadAborted(let failure):
            return apply(upload.aborted(failure), now: now)
        case .rotated(let rotation):
            if rotation.direction == .send { rotationsToClient += 1 } else { rotationsFromClient += 1 }
            metrics.rotated(rotation.direction)
            logger.info("keys rotated", metadata: [
                "direction": "\(rotation.direction == .send ? "server->client" : "client->server")",
                "epoch": "\(rotation.epoch)", "bytes": "\(rotation.bytesUnderOldKeys)",
                "seconds": "\(String(format: "%.3f", rotation.secondsUnderOldKeys))", "reason": "\(rotation.reason)",
            ])
            return []
        case .peerClosed:
            logger.info("client said goodbye")
            return close()
        }
    }

    /// An operation's actions: the protocol's answers applied here, the reading and watching passed to the driver.
    private func apply(_ actions: [UploadHandler.Action], now: Now) -> [SessionAction] {
        var out: [SessionAction] = []
        for action in actions {
            switch action {
            case .accept(let offset): connection.accept(offset: offset, now: now)
            case .reject(let failure): connection.reject(failure, now: now)
            case .commit(let receipt): connection.commit(receipt, now: now)
            case .alreadyStored(let receipt): connection.alreadyStored(receipt, now: now)
            case .fail(let failure): connection.fail(failure, now: now)
            case .watch(let writer): out.append(.watch(writer))
            case .pauseReading:
                guard !pausedForStore else { continue }
                pausedForStore = true
                out.append(.pauseReading)
            case .resumeReading:
                out += resumeReading(now: now)
            }
        }
        return out
    }

    // MARK: Output

    /// Sends what the protocol queued; closes when the protocol did.
    func flush() -> [SessionAction] {
        if connection.isClosed, !closing { return close() }
        return [.flush]
    }

    func drainOutput(_ body: (UnsafeRawBufferPointer) -> Void) { connection.drainOutput(body) }

    func takeOutput() -> [UInt8] { connection.takeOutput() }

    private func close() -> [SessionAction] {
        guard !closing else { return [] }
        closing = true
        return [.close]
    }

    // MARK: Timers, shutdown, reload, end

    var isEstablished: Bool { connection.isEstablished }
    var nextDeadline: UInt64? { connection.nextDeadline }
    var isBusy: Bool { upload.isBusy || upload.pipelined.isBusy || storeRequests.inFlight || getTransfer != nil }

    func handshakeTimedOut() -> [SessionAction] {
        guard !connection.isEstablished, !closing else { return [] }
        logger.notice("handshake timeout", metadata: ["after_s": "\(settings.handshakeTimeoutSeconds)"])
        countHandshake(failed: .timeout)
        connection.close(.closedByPeer, reason: "handshake timeout")
        return close()
    }

    func idleTimedOut() -> [SessionAction] {
        guard !closing else { return [] }
        logger.notice("idle timeout", metadata: ["after_s": "\(settings.idleTimeoutSeconds)"])
        connection.close(.closedByPeer, reason: "idle timeout")
        return close()
    }

    /// A rotation deadline passed.
    func deadlinePassed(now: Now) -> [SessionAction] {
        guard !closing else { return [] }
        do throws(ProtocolError) { try connection.handleTimer(now: now) } catch {
            log(error)
            count(error)
        }
        return flush()
    }

    /// Graceful shutdown: Goodbye now unless an operation is in flight (it finishes first, unless `force`).
    func shutdown(force: Bool, now: Now) -> [SessionAction] {
        guard !closing else { return [] }
        draining = true
        upload.environment.draining = true
        guard force || !isBusy else { return [] }
        if connection.isEstablished { connection.goodbye(now: now) }
        return close()
    }

    /// A configuration reload: the client checked again under the new trust and access rules (closed at once, its
    /// upload in flight discarded, when no longer admitted); the new rotation policy from the next record on, the
    /// new limits for what comes next.
    func apply(_ new: RuntimeSettings, now: Now) -> [SessionAction] {
        guard !closing else { return [] }
        if let peer, let refusal = new.protocolConfiguration.recheck(peer, unixTime: now.unixSeconds) {
            return revoke(refusal)
        }
        let old = settings.protocolConfiguration.rotation
        settings.maxFileSize = new.maxFileSize
        settings.allowOverwrite = new.allowOverwrite
        settings.fsync = new.fsync
        settings.directIO = new.directIO
        settings.reserve = new.reserve
        settings.partialTTLSeconds = new.partialTTLSeconds
        settings.resumeInterval = new.resumeInterval
        settings.idleTimeoutSeconds = new.idleTimeoutSeconds
        settings.access = new.access
        settings.quotas = new.quotas
        settings.protocolConfiguration.rotation = new.protocolConfiguration.rotation
        upload.environment.settings = settings
        if old != new.protocolConfiguration.rotation {
            connection.updateRotationPolicy(new.protocolConfiguration.rotation)
            logger.info("rotation policy updated", metadata: [
                "rotate_after_bytes": "\(new.protocolConfiguration.rotation.afterBytes ?? 0)",
                "rotate_after_seconds": "\(new.protocolConfiguration.rotation.afterSeconds ?? 0)",
            ])
        }
        return flush()
    }

    /// The client may no longer connect (revoked, denied, its CA removed): what it was uploading is discarded, not
    /// kept for resume, and the session ends with the alert that says why.
    private func revoke(_ refusal: ProtocolError) -> [SessionAction] {
        var metadata: Logger.Metadata = ["alert": "\(refusal.alert.name)", "detail": "\(refusal.detail)"]
        if let failure = refusal.certificateFailure { metadata["certificate"] = "\(failure)" }
        if let path = upload.discardInFlight() { metadata["discarded_upload"] = "\(path)" }
        logger.warning("session closed: the client is no longer admitted", metadata: metadata)
        metrics.sessionError(refusal.alert)
        connection.close(refusal.alert, reason: refusal.detail)  // the reason travels for access_denied only
        return close()
    }

    /// The client closed its side while the session was open.
    func peerEnded() {
        if isBusy { logger.warning("connection closed by the client during an upload") }
        closing = true
    }

    /// The connection failed (reset, or a write error).
    func connectionFailed(_ description: String) {
        logger.warning("connection error", metadata: ["error": "\(description)"])
        metrics.connectionError()
        closing = true
    }

    /// The socket is closed: an operation in flight is dropped, the session's outcome counted and logged once.
    func connectionClosed() {
        closing = true
        countHandshake(failed: .disconnected)  // no-op once counted
        if identity != nil {
            logger.info("session closed", metadata: [
                "uploads": "\(upload.opened)", "refused": "\(upload.refused + storeRequests.refused)",
                "store_requests": "\(storeRequests.answered)", "rotations_client_to_server": "\(rotationsFromClient)",
                "rotations_server_to_client": "\(rotationsToClient)",
                "seconds": "\(String(format: "%.3f", Date().timeIntervalSince(startedAt)))",
            ])
        }
        upload.connectionEnded()
        upload.pipelinedConnectionEnded()
        getConnectionEnded()
    }

    // MARK: Counting and logging protocol errors

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
            logger.warning(connection.isEstablished || identity != nil ? "session error" : "handshake failed", metadata: metadata)
        }
    }
}
