// One upload on its way to disk: decrypted chunks are hashed and written to a `.part` file in the staging directory as
// they arrive, and `finish` commits it atomically once its SHA-256 equals the client's (the steps: UploadJobs.swift).
// A failure at any step, a dropped connection or a crash leaves no file under the final name. Every `checkpointBytes`
// (and at most every `checkpointSpacing`) the .part is made durable and its record updated (PartialJobs), so a crash
// keeps what was written up to there; a dropped connection (`suspend`: what was received is written first) or a full
// disk keeps all that was written, for the next Open of the file to resume (a resumed upload reads its kept prefix
// back into the digest meanwhile: `prefixHashing`). Any other failure, a digest mismatch or the client's Abort leaves
// no .part and none of the directories the upload created (HeldDirectory).
//
//   preparing ──prepared──► receiving ──finish()──► flushing ──(all batches written)──► committing (digest differs: discard)
//       │  └─already stored──► ended (.alreadyStored)                                                     │
//       │                      │                       │                                                  │
//       │ refused              │ a write failed        │ a write failed                                    ├─► ended (.committed)
//       ▼                      ▼                       ▼                                                  └─► ended (.failed)
//     ended (.failed)        failing ◄─────────────────┘
//                              │ (the jobs in flight end)
//                              ▼
//                          discarding (or keeping) ──► ended
//
// abandon() (the client aborted) and suspend() (the connection ended) silence the events and, from preparing,
// receiving or flushing, drop or keep the upload: through failing/discarding once the prepare or the jobs in flight
// are done — a write or checkpoint still running owns the descriptor, so closing it sooner could let the number be
// reused and the write land in another file. A commit already running completes (the file was whole and verified) and
// still reports its outcome.
//
// Runs on one thread (the session's loop); its blocking work goes to the BlockingExecutor it is given. Events reach
// `onEvent` only from the completions of those jobs, never from inside a call the owner makes (so the owner is never
// re-entered while it feeds or finishes the writer).
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public final class UploadWriter {
    public enum Event: Equatable {
        /// Ready for data: accept the upload.
        case ready
        /// The filling batch went to disk or the upload's share grew: resume reading if paused on `isFull`. May come
        /// while not paused.
        case room
        /// Stored under its final name, durable (when the store syncs).
        case committed(UploadReceipt)
        /// Refused before data, failed during it, or not committed; what remains is being cleaned up.
        case failed(StoreFailure)
        /// Instead of `.ready`: the file is stored already, with the SHA-256 the client announced (PROTOCOL.md §8.7).
        case alreadyStored(UploadReceipt)
    }

    public struct Settings: Sendable {
        public var overwrite: Bool
        /// fsync the file and its directory before reporting success (storage.fsync).
        public var durable: Bool
        /// Open the .part with O_DIRECT (storage.direct_io) where the file system allows it.
        public var directIO: Bool
        /// Free space no upload may take (storage.reserve).
        public var reserve: UInt64
        /// Bytes between two durable resume points (storage.resume_interval).
        public var checkpointBytes: UInt64

        public init(overwrite: Bool, durable: Bool = true, directIO: Bool = true, reserve: UInt64 = 0,
                    checkpointBytes: UInt64 = UploadWriter.defaultCheckpointBytes) {
            self.overwrite = overwrite
            self.durable = durable
            self.directIO = directIO
            self.reserve = reserve
            self.checkpointBytes = checkpointBytes
        }
    }

    /// The upload's open file and its batches: exists from prepared to the end of the discard or commit.
    private final class Open {
        let prepared: PreparedUpload
        let pipeline: BatchPipeline
        let descriptor: Int32

        init(prepared: PreparedUpload, pipeline: BatchPipeline, descriptor: Int32) {
            self.prepared = prepared
            self.pipeline = pipeline
            self.descriptor = descriptor
        }
    }

    private enum LetGo { case keep, drop }

    private enum State {
        /// The prepare job is on the pool; `letGo` once abandoned (`.drop`) or suspended (`.keep`) meanwhile.
        case preparing(letGo: LetGo?)
        case receiving(Open)
        case flushing(Open, clientDigest: [UInt8])
        /// The commit job is on the pool.
        case committing
        /// Failed or dropped: waiting for the jobs in flight, then discarding — or keeping the partial for resume.
        case failing(Open, keep: Bool)
        /// The discard job is on the pool.
        case discarding
        case ended
    }

    public let path: StoredPath
    private let context: UploadJobs.Context
    private let executor: BlockingExecutor
    private let buffers: IOBufferPool
    private let checkpointBytes: UInt64
    private let digest = DigestContext(.sha256)
    /// A resumed upload's kept prefix is being read back into the digest: no batch is hashed, and nothing committed,
    /// until it is done. It runs while the client hashes its own copy of the prefix (Accepted is not held back for it).
    private var prefixHashing = false
    private var state: State
    /// Bytes of the file the server holds or was sent (from the resume offset on).
    private(set) public var received: UInt64 = 0
    /// Where the upload resumed (0: from the start); known once `.ready`.
    private(set) public var resumedAt: UInt64 = 0
    /// Bytes written to the .part from its start (contiguous: writes go in file order), and the last durable point.
    private var written: UInt64 = 0
    private var checkpointed: UInt64 = 0
    private var checkpointRunning = false
    /// When the last resume point was made (monotonic ns; 0: none yet).
    private var lastCheckpointAt: UInt64 = 0
    /// Suspended: the batches received are written before the partial is kept (cleared when a write fails: nothing
    /// after a failed write may be written, or the kept bytes would have a hole).
    private var flushBeforeKeeping = false

    /// A durable resume point every 64 MiB, but not more often than every `checkpointSpacing`: each is an fdatasync,
    /// a journal commit that stalls the upload's writes for tens of ms here (one per 64 MiB cost 40% of a 2 GiB
    /// upload's time at 450 MB/s; docs/PERFORMANCE.md). A crash costs what was written since the last one (at most the
    /// larger of 64 MiB and 2 s of data) and what was in flight.
    public static let defaultCheckpointBytes: UInt64 = 64 << 20
    static let checkpointSpacing: UInt64 = 2_000_000_000

    /// Where events go; nil once abandoned.
    public var onEvent: ((Event) -> Void)?
    /// The change of `backlog` each time it moves (the daemon-wide write backlog). The deltas sum to 0 over the
    /// writer's life: kept after abandon() so a write still in flight is reported when it completes.
    public var onBacklogChange: ((Int) -> Void)?
    private var reportedBacklog = 0
    /// What Close said of the source's times (set by `finish`), applied at commit.
    private var fileTimes: FileTimes?

    /// Starts preparing at once; `.ready` or `.failed` follows (never before this returns).
    /// `uploader`: the identity storing it, when not the namespace's own (`path.identity`); `quota`: the namespace's.
    public init(store: Store, path: StoredPath, size: UInt64, expectedDigest: [UInt8]? = nil, settings: Settings,
                executor: BlockingExecutor, buffers: IOBufferPool, uploader: String? = nil, quota: StoreQuota? = nil) {
        self.path = path
        context = UploadJobs.Context(store: store, path: path,
                                     partName: store.rules.partName(identity: path.identity, relativePath: path.relativePath),
                                     size: size, expectedDigest: expectedDigest, overwrite: settings.overwrite, durable: settings.durable,
                                     reserve: settings.reserve, uploader: uploader, quota: quota)
        checkpointBytes = max(settings.checkpointBytes, UInt64(BatchPipeline.directAlignment))
        self.executor = executor
        self.buffers = buffers
        state = .preparing(letGo: nil)
        let context = self.context, directIO = settings.directIO
        executor.run({ UploadJobs.prepare(context, directIO: directIO) }, then: { [self] result in prepared(result) })
    }

    deinit {
        if reportedBacklog != 0 { onBacklogChange?(-reportedBacklog) }
    }

    // MARK: Data

    /// Bytes accepted and not on disk yet.
    public var backlog: Int {
        switch state {
        case .receiving(let open), .flushing(let open, _), .failing(let open, _): open.pipeline.backlog
        case .preparing, .committing, .discarding, .ended: 0
        }
    }

    /// The filling batch holds its share of the worker's budget: stop reading until `.room`.
    public var isFull: Bool {
        guard case .receiving(let open) = state else { return false }
        return open.pipeline.isFull
    }

    /// This upload's share of the worker's budget now (it moves with the number of uploads on the worker).
    public var highWater: Int {
        guard case .receiving(let open) = state else { return BatchPipeline.maximumHighWater }
        return open.pipeline.highWater
    }

    /// Room for the next decrypted chunk of `length` bytes at the end of the filling batch (the protocol decrypts
    /// straight into it); nil unless receiving. The bytes count only with `appendWritten`.
    public func reserve(_ length: Int) -> UnsafeMutableRawBufferPointer? {
        guard case .receiving(let open) = state else { return nil }
        return open.pipeline.reserve(length)
    }

    /// Counts in a chunk of `length` bytes decrypted into the room `reserve` gave.
    public func appendWritten(_ length: Int) {
        guard case .receiving(let open) = state else { return }
        received += UInt64(length)
        open.pipeline.didAppend(length)
        pump(open)
    }

    /// Queues one chunk (copied).
    public func append(_ chunk: ArraySlice<UInt8>) {
        guard let room = reserve(chunk.count) else { return }
        chunk.withUnsafeBytes { room.copyMemory(from: $0) }
        appendWritten(chunk.count)
    }

    /// Every byte arrived: commit once the batches are written, if the file's SHA-256 is `clientDigest`; with the
    /// file's modification time and executable bit when the client sent them (PROTOCOL.md §8.9).
    public func finish(clientDigest: [UInt8], times: FileTimes? = nil) {
        guard case .receiving(let open) = state else { return }
        fileTimes = times
        state = .flushing(open, clientDigest: clientDigest)
        pump(open)
    }

    /// Drops the upload (no more events) — unless its commit job is already running: that one completes (the file was
    /// whole and verified), its outcome still reaches `onEvent` (the caller may point it elsewhere), and this returns
    /// true. Idempotent.
    @discardableResult
    public func abandon() -> Bool { letGo(keep: false) }

    /// As `abandon`, but what was written is kept for the next Open of the file to resume (the connection ended: the
    /// client may come back).
    @discardableResult
    public func suspend() -> Bool { letGo(keep: true) }

    private func letGo(keep: Bool) -> Bool {
        switch state {
        case .committing:
            return true
        case .preparing:
            state = .preparing(letGo: keep ? .keep : .drop)
        case .receiving(let open), .flushing(let open, _):
            fail(open, nil, keep: keep)
        case .failing, .discarding, .ended:
            break
        }
        onEvent = nil
        return false
    }

    // MARK: Steps

    private func prepared(_ result: Result<UploadJobs.Prepared, StoreFailure>) {
        guard case .preparing(let letGo) = state else { preconditionFailure("prepared in state \(state)") }
        switch result {
        case .failure(let failure):
            state = .ended
            emit(.failed(failure))
        case .success(.alreadyStored(let receipt)):
            state = .ended
            emit(.alreadyStored(receipt))
        case .success(.upload(let prepared, let direct)):
            guard let descriptor = prepared.part else { preconditionFailure("prepared without a .part") }
            resumedAt = prepared.offset
            received = prepared.offset
            written = prepared.offset
            checkpointed = prepared.offset
            let pipeline = BatchPipeline(buffers: buffers, direct: direct, durable: context.durable, startingAt: prepared.offset)
            let open = Open(prepared: prepared, pipeline: pipeline, descriptor: descriptor)
            if let letGo { return fail(open, nil, keep: letGo == .keep) }
            state = .receiving(open)
            if prepared.offset > 0 { hashPrefix(open) }
            emit(.ready)
        }
    }

    /// Cuts batches, starts the jobs whose chains are idle, and moves on when the upload is flushed or failed.
    private func pump(_ open: Open) {
        let pipeline = open.pipeline
        switch state {
        case .receiving, .flushing:
            let finishing = if case .flushing = state { true } else { false }
            while pipeline.cutBatch(finishing: finishing) != nil {}
            startJobs(open)
            reportBacklog()
            if case .flushing(_, let clientDigest) = state, pipeline.isEmpty, !checkpointRunning, !prefixHashing {
                commit(open, clientDigest)
            }
        case .failing(_, let keep):
            if flushBeforeKeeping {
                // Suspended: what was received is authentic and in order; write it before keeping the partial.
                while pipeline.cutBatch(finishing: true) != nil {}
                startJobs(open)
            } else {
                pipeline.dropIdle()
            }
            reportBacklog()
            guard !pipeline.hasJobRunning, !checkpointRunning, !prefixHashing, !flushBeforeKeeping || pipeline.isEmpty else { return }
            pipeline.giveBuffersBack()
            state = .discarding
            reportBacklog()
            let context = self.context, prepared = open.prepared, written = self.written
            executor.run({ () -> Void in
                if keep { _ = UploadJobs.keep(context, prepared, written: written) } else { UploadJobs.discard(context, prepared) }
            }, then: { [self] in state = .ended })
        case .preparing, .committing, .discarding, .ended:
            break
        }
    }

    private func startJobs(_ open: Open) {
        let pipeline = open.pipeline
        if !prefixHashing, let batch = pipeline.nextHash() {
            let digest = self.digest, buffer = batch.buffer, length = batch.length
            executor.run({ UploadJobs.hash(digest, buffer, length: length) }, then: { [self] in
                batch.hash = .done
                jobFinished(open)
            })
        }
        if let batch = pipeline.nextWrite() {
            let fd = open.descriptor, buffer = batch.buffer, length = batch.length, offset = batch.offset
            let direct = batch.direct, writeback = batch.writeback
            executor.run({
                UploadJobs.write(fd: fd, buffer, length: length, offset: offset, direct: direct, writeback: writeback)
            }, then: { [self] (result, fellBack) in
                batch.write = .done
                if fellBack { pipeline.direct = false }  // buffered from now on
                switch result {
                case .success:
                    written = UInt64(batch.offset) + UInt64(length)
                    checkpointIfDue(open)
                case .failure(let error):
                    flushBeforeKeeping = false
                    // A full disk keeps what was written: the client resumes once there is room again.
                    let full = error.number == ENOSPC || error.number == EDQUOT
                    fail(open, .system(error, while: "writing '\(path.relativePath)'", at: UploadJobs.stagingPath(context)), keep: full)
                }
                jobFinished(open)
            })
        }
    }

    private func jobFinished(_ open: Open) {
        open.pipeline.retireFinished()
        pump(open)
        // A reader paused on `isFull` must hear of room even when no batch goes out now: the upload's share moves with
        // the number of uploads on the worker, and once others end, what filled the old share can be under both the
        // new share and the batch floor — no batch would ever leave, and no more data come to fill one.
        if case .receiving = state, !open.pipeline.isFull { emit(.room) }
    }

    /// Every batch is written: the commit job, or the discard when the digests differ (in a job too, so the failure
    /// reaches `onEvent` from a completion like every other event, never from inside `finish`).
    private func commit(_ open: Open, _ clientDigest: [UInt8]) {
        let computed = digest.snapshot()
        open.pipeline.giveBuffersBack()
        state = .committing
        reportBacklog()
        let context = self.context, prepared = open.prepared, size = received, name = path.relativePath
        let times = fileTimes
        let mismatch = constantTimeEqual(computed, clientDigest) ? nil : StoreFailure(UploadFailure(
            .digestMismatch, "SHA-256 mismatch for '\(name)': the server computed \(hex(computed))"))
        executor.run({ () -> Result<Void, StoreFailure> in
            if let mismatch {
                UploadJobs.discard(context, prepared)
                return .failure(mismatch)
            }
            return UploadJobs.commit(context, prepared, digest: computed, times: times)
        }, then: { [self] result in
            state = .ended
            switch result {
            case .success: emit(.committed(UploadReceipt(storedName: name, size: size, digest: computed)))
            case .failure(let failure): emit(.failed(failure))
            }
        })
    }

    /// Reads the kept prefix back into the digest (PartialJobs.hashPrefix). If it cannot be read, the upload fails and
    /// the partial goes: the next attempt starts from 0.
    private func hashPrefix(_ open: Open) {
        prefixHashing = true
        let digest = self.digest, name = open.prepared.partName, staging = context.store.staging, length = resumedAt
        executor.run({ PartialJobs.hashPrefix(name, length: length, in: staging, into: digest) }, then: { [self] result in
            prefixHashing = false
            if case .failure(let error) = result {
                fail(open, .system(error, while: "reading back the kept part of '\(path.relativePath)'",
                                   at: UploadJobs.stagingPath(context)))
            }
            pump(open)
        })
    }

    /// A durable resume point once `checkpointBytes` more were written and `checkpointSpacing` passed since the last
    /// (one at a time; not while flushing: the commit syncs anyway).
    private func checkpointIfDue(_ open: Open) {
        guard case .receiving = state, !checkpointRunning, written - checkpointed >= checkpointBytes else { return }
        let now = SystemClock.monotonicNanoseconds()
        guard lastCheckpointAt == 0 || now - lastCheckpointAt >= Self.checkpointSpacing else { return }
        lastCheckpointAt = now
        checkpointRunning = true
        let part = open.descriptor, name = open.prepared.partName, staging = context.store.staging
        let record = PartialRecord(identity: path.identity, path: path.relativePath, size: context.size, offset: written)
        let partials = context.store.partials, durable = context.durable
        executor.run({ () -> SystemError? in
            let error = PartialJobs.checkpoint(part, name, record, in: staging, durable: durable)
            if error == nil { partials.progress(name, offset: record.offset, now: SystemClock.unixSeconds()) }
            return error
        }, then: { [self] error in
            checkpointRunning = false
            if error == nil { checkpointed = record.offset }  // a failed one is tried again at the next write
            pump(open)
        })
    }

    /// Drops the upload (failure nil: abandoned, nothing to tell), or keeps it for resume. The discard waits for the
    /// jobs in flight.
    private func fail(_ open: Open, _ failure: StoreFailure?, keep: Bool = false) {
        switch state {
        case .receiving, .flushing: break
        case .preparing(letGo: .some): break
        default: return  // already failing or past it: the first failure is the one reported
        }
        state = .failing(open, keep: keep)
        flushBeforeKeeping = keep && failure == nil
        if let failure { emit(.failed(failure)) }
        pump(open)
    }

    private func emit(_ event: Event) { onEvent?(event) }

    private func reportBacklog() {
        let current = backlog
        guard current != reportedBacklog else { return }
        let delta = current - reportedBacklog
        reportedBacklog = current
        onBacklogChange?(delta)
    }

    /// For tests: the writer reached its end (committed, or failed and cleaned up).
    public var hasEnded: Bool {
        if case .ended = state { return true }
        return false
    }
}
