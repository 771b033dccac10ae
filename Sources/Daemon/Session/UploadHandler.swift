// The upload operation of a session: the protocol's upload events and the store's answers in, actions out. It owns
// the UploadWriter of the upload in flight and never touches the socket or the protocol state: ServerSession applies
// what it returns (accept, reject, commit, fail on ServerConnection; pause, resume, watch for the driver).
//
//   idle ──Open──► preparing ──store .ready(offset)──► receiving ──Close──► (the writer commits) ──.committed──► idle
//                     │                                 │  Data…                                └──.failed────► idle
//                     ├──store .failed──► idle          ├──store .failed (a write) ──► idle (fail: the client stops sending)
//                     └──store .alreadyStored──► idle (Committed at once: Open's digest is the stored file's, §8.7)
//                                                       ├──Abort ──► idle (the writer drops the partial)
//                                                       └──connection end ──► idle (the writer keeps it for resume)
//
// `.ready` accepts at the writer's `resumedAt`: the offset of the partial an interrupted upload of the same file by the
// same identity left (PROTOCOL.md §8.3), 0 for a fresh one.
//
// Where the next operations go: a handler like this one per operation (download, list, delete), beside it.
import Logging
import Platform
import Protocol
import Store

struct UploadHandler {
    enum Action: Equatable {
        case accept(offset: UInt64)
        case reject(UploadFailure)
        case commit(UploadReceipt)
        case alreadyStored(UploadReceipt)
        case fail(UploadFailure)
        case pauseReading
        case resumeReading
        case watch(UploadWriter)

        static func == (lhs: Action, rhs: Action) -> Bool {
            switch (lhs, rhs) {
            case (.pauseReading, .pauseReading), (.resumeReading, .resumeReading): true
            case (.accept(let a), .accept(let b)): a == b
            case (.reject(let a), .reject(let b)), (.fail(let a), .fail(let b)): a == b
            case (.commit(let a), .commit(let b)), (.alreadyStored(let a), .alreadyStored(let b)): a == b
            case (.watch(let a), .watch(let b)): a === b
            default: false
            }
        }
    }

    /// What the handler needs of the daemon: the store, where its blocking work runs, the worker's buffers, and the
    /// settings in force (a reload changes them for the next upload).
    struct Environment {
        let store: Store
        let executor: BlockingExecutor
        let buffers: IOBufferPool
        var settings: RuntimeSettings
        var draining = false
    }

    private enum State {
        case idle
        /// Open received; the store is preparing (directories, name checks, the .part file).
        case preparing(UploadWriter, UploadRequest)
        /// Accepted: Data goes to the writer; after Close it commits.
        case receiving(UploadWriter, UploadRequest)
    }

    var environment: Environment
    private var state = State.idle
    var logger: Logger
    let metrics: DaemonMetrics
    /// Uploads opened in this session (the "session closed" line).
    var opened: UInt64 = 0
    /// Requests refused in this session (the "session closed" line), and their log lines: at most one per error code
    /// every 10 s, the rest counted (a client repeating a refused Open must not flood the log).
    var refused: UInt64 = 0
    let refusalLog = RateLimitedLog()
    /// The pipelined uploads of the session (UploadHandler+Pipelined.swift).
    var pipelined = PipelinedUploads()

    init(environment: Environment, logger: Logger, metrics: DaemonMetrics) {
        self.environment = environment
        self.logger = logger
        self.metrics = metrics
    }

    var writer: UploadWriter? {
        switch state {
        case .idle: nil
        case .preparing(let writer, _), .receiving(let writer, _): writer
        }
    }

    var isBusy: Bool { writer != nil }

    mutating func setClient(_ identity: String) { logger[metadataKey: "client"] = "\(identity)" }

    // MARK: Protocol events

    /// Open: refused at once when it breaks a rule this session can check; otherwise the store prepares it.
    mutating func requested(_ request: UploadRequest, identity: String) -> [Action] {
        let settings = environment.settings
        let path: StoredPath
        switch admit(request, identity: identity) {
        case .failure(let failure): return refuse(request, failure)
        case .success(let admitted): path = admitted
        }
        opened += 1
        let writer = UploadWriter(
            store: environment.store, path: path, size: request.size, expectedDigest: request.expectedDigest,
            settings: UploadWriter.Settings(overwrite: request.overwrite, durable: settings.fsync, directIO: settings.directIO,
                                            reserve: settings.reserve, checkpointBytes: settings.resumeInterval),
            executor: environment.executor, buffers: environment.buffers, uploader: path.identity == identity ? nil : identity,
            quota: settings.quotas.quota(for: path.identity))
        writer.onBacklogChange = { [metrics] delta in metrics.backlogChanged(by: delta) }
        state = .preparing(writer, request)
        return [.watch(writer)]
    }

    /// The checks of an Open this session can make without the store (draining, the size limit, overwriting, the
    /// name's rules, whether the identity may write into the namespace it names: AccessPolicy), and the stored path
    /// when they pass.
    func admit(_ request: UploadRequest, identity: String) -> Result<StoredPath, UploadFailure> {
        let settings = environment.settings
        if environment.draining { return .failure(UploadFailure(.busy, "the server is shutting down; retry later")) }
        if settings.maxFileSize > 0, request.size > settings.maxFileSize {
            return .failure(UploadFailure(.tooLarge, "\(request.size) bytes exceeds the server's limit of \(settings.maxFileSize)"))
        }
        if request.overwrite, !settings.allowOverwrite {
            return .failure(UploadFailure(.exists, "this server does not allow overwriting files"))
        }
        let namespace = request.namespace.isEmpty ? identity : request.namespace
        if let refusal = StoreRequestHandler.namespaceRefusal(namespace, identity: identity, rules: environment.store.rules) {
            return .failure(refusal)
        }
        let path: StoredPath
        do { path = try environment.store.rules.storedPath(identity: namespace, relativePath: request.path) } catch {
            return .failure(UploadFailure(.badPath, "\(error)"))
        }
        if let refusal = settings.access.refusal(identity, .write, namespace: namespace, path: path.relativePath) {
            return .failure(refusal)
        }
        return .success(path)
    }

    /// Room for the next Data chunk, decrypted straight into the writer's batch; nil when no upload receives.
    func reserve(_ length: Int) -> UnsafeMutableRawBufferPointer? { writer?.reserve(length) }

    /// A Data chunk of `length` bytes was decrypted into `reserve`'s room (`chunk` nil) or arrives as a copy.
    mutating func received(_ length: Int, chunk: ArraySlice<UInt8>? = nil) -> [Action] {
        metrics.received(bytes: length)
        guard case .receiving(let writer, _) = state else { return [] }
        if let chunk { writer.append(chunk) } else { writer.appendWritten(length) }
        return writer.isFull ? [.pauseReading] : []
    }

    /// Close: the writer commits once its batches are written, if the digest matches.
    mutating func finished(digest: [UInt8], times: FileTimes? = nil) -> [Action] {
        writer?.finish(clientDigest: digest, times: times)
        return []
    }

    /// The client aborted: the writer drops the upload.
    mutating func aborted(_ failure: UploadFailure) -> [Action] {
        logger.notice("upload aborted by the client", metadata: ["path": "\(writer?.path.relativePath ?? "")", "reason": "\(failure.message)"])
        metrics.uploadFailed(failure.code)
        writer?.abandon()
        state = .idle
        return [.resumeReading]
    }

    /// The session is being closed because its client may no longer connect: the upload in flight is dropped with
    /// what it wrote (nothing kept for resume). A commit already running completes: the file was whole and verified
    /// before the client lost its access. Returns the dropped upload's path.
    mutating func discardInFlight() -> String? {
        guard let writer else { return nil }
        state = .idle
        metrics.uploadFailed(.aborted)
        writer.abandon()
        return writer.path.relativePath
    }

    /// The connection ended (dropped, closed, timed out): an upload in flight is kept for resume — unless its commit
    /// already runs, which completes; its outcome is then logged and counted here, as no client will hear it.
    mutating func connectionEnded() {
        guard let writer else { return }
        state = .idle
        guard writer.suspend() else {
            logger.info("upload interrupted; kept for resume", metadata: ["path": "\(writer.path.relativePath)",
                                                                          "received": "\(writer.received)"])
            return metrics.uploadFailed(.aborted)
        }
        writer.onEvent = { [logger, metrics] event in
            switch event {
            case .committed(let receipt):
                logger.info("upload committed after the connection closed", metadata: [
                    "path": "\(receipt.storedName)", "bytes": "\(receipt.size)", "sha256": "\(hex(receipt.digest))",
                ])
                metrics.uploadCommitted()
            case .failed(let failure):
                logger.error("upload failed after the connection closed", metadata: [
                    "path": "\(writer.path.relativePath)", "code": "\(failure.failure.code.name)", "detail": "\(failure.detail)",
                ])
                metrics.uploadFailed(failure.failure.code)
            case .ready, .room, .alreadyStored:
                break
            }
        }
    }

    // MARK: Store events

    mutating func storeEvent(_ event: UploadWriter.Event, from writer: UploadWriter) -> [Action] {
        guard writer === self.writer else { return [] }  // an upload this handler already let go of
        switch (event, state) {
        case (.ready, .preparing(_, let request)):
            if writer.resumedAt > 0 {
                logger.info("upload resumed", metadata: ["path": "\(request.path)", "size": "\(request.size)",
                                                         "offset": "\(writer.resumedAt)"])
                metrics.uploadResumed(bytes: writer.resumedAt)
            } else {
                logger.info("upload started", metadata: ["path": "\(request.path)", "size": "\(request.size)"])
            }
            state = .receiving(writer, request)
            return [.accept(offset: writer.resumedAt)]
        case (.room, _):
            return [.resumeReading]
        case (.committed(let receipt), _):
            state = .idle
            logger.info("upload committed", metadata: [
                "path": "\(receipt.storedName)", "bytes": "\(receipt.size)", "sha256": "\(hex(receipt.digest))",
            ])
            metrics.uploadCommitted()
            return [.commit(receipt), .resumeReading]
        case (.alreadyStored(let receipt), .preparing):
            state = .idle
            logger.info("upload already stored", metadata: [
                "path": "\(receipt.storedName)", "bytes": "\(receipt.size)", "sha256": "\(hex(receipt.digest))",
            ])
            return [.alreadyStored(receipt)]
        case (.failed(let failure), .preparing(_, let request)):
            state = .idle
            if failure.isSuspicious {
                refused += 1
                refusalLog.log(logger, .warning, kind: "suspicious-\(failure.failure.code)", "upload refused",
                               metadata: Self.metadata(request, failure))
                metrics.uploadFailed(failure.failure.code)
                return [.reject(failure.failure)]
            }
            return refuse(request, failure.failure, detail: failure.detail == failure.failure.message ? nil : failure.detail)
        case (.failed(let failure), .receiving(_, let request)):
            state = .idle
            if failure.isSuspicious {
                refusalLog.log(logger, .warning, kind: "suspicious-\(failure.failure.code)", "upload refused",
                               metadata: Self.metadata(request, failure))
            } else {
                logger.error("upload failed", metadata: Self.metadata(request, failure))
            }
            metrics.uploadFailed(failure.failure.code)
            return [.fail(failure.failure), .resumeReading]
        case (.ready, _), (.failed, .idle), (.alreadyStored, _):
            preconditionFailure("store event \(event) in state \(state)")
        }
    }

    /// `detail`: what the operator needs beyond the client's text (the server path and the system error of a storage
    /// failure), logged with it; such a refusal is the server's problem, so it is a warning rather than a notice.
    mutating func refuse(_ request: UploadRequest, _ failure: UploadFailure, detail: String? = nil) -> [Action] {
        refused += 1
        var metadata: Logger.Metadata = ["path": "\(request.path)", "code": "\(failure.code.name)", "reason": "\(failure.message)"]
        if let detail { metadata["detail"] = "\(detail)" }
        let serverSide = failure.code == .storageFailure || failure.code == .permissionDenied
        refusalLog.log(logger, serverSide ? .warning : .notice, kind: "\(failure.code)", "upload refused", metadata: metadata)
        metrics.uploadFailed(failure.code)
        return [.reject(failure)]
    }

    static func metadata(_ request: UploadRequest, _ failure: StoreFailure) -> Logger.Metadata {
        ["path": "\(request.path)", "code": "\(failure.failure.code.name)", "reason": "\(failure.failure.message)",
         "detail": "\(failure.detail)"]
    }
}
