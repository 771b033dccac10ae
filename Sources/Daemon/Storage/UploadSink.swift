// One upload on its way to disk: decrypted chunks are hashed and written to a `.part` file in the staging directory as
// they arrive; `finish` commits it atomically (docs: README "Storage").
//
//   prepare:  mkdir -p <root>/<identity>/<dirs>, refuse an existing final name (unless overwriting),
//             open <root>/<staging>/<id>.part with O_CREAT|O_EXCL (and O_DIRECT: see "Direct I/O" below)
//   append:   decrypted into the pending batch; full batches go to the thread pool, where two chains run them in
//             file order — the SHA-256 updates one after another, the pwrites one after another — so the hash of one
//             batch runs while the disk still writes the one before (see "Batches" below)
//   finish:   wait for the writes → compare digests → fsync → close → link (or rename when overwriting) to the final
//             name → unlink the .part → fsync the directory → only then report success
//             (storage.fsync = false skips both fsyncs: the name still appears atomically and only after the digest
//             check, but durability is left to the page cache, as with sftp/scp)
//
// A failure at any step, a dropped connection or a crash leaves at most a .part file in staging, never a file under the
// final name: the final name appears only through the atomic link/rename, after the data is durable.
//
// Direct I/O (storage.direct_io, default on): the .part file is opened with O_DIRECT, so pwrite hands the batch to the
// device instead of copying it into the page cache, which then has to write it back (and, with fsync, be waited for).
// That copy and its page-cache bookkeeping were most of ferryd's CPU per GB on ext4 (docs/PERFORMANCE.md). O_DIRECT
// wants the buffer, the file offset and the length aligned to the device's block: buffers are page-aligned
// (IOBuffer), and each batch is cut at a multiple of `directAlignment`, its remainder carried into the next batch;
// the file's last partial block is written after clearing O_DIRECT (fcntl). A file system that refuses O_DIRECT at
// open (EINVAL), or a write it refuses, falls back to buffered writes for that file.
//
// Batches: an upload owns `slots` buffers: one filling with decrypted records (`pending`) and up to `slots - 1`
// handed to the thread pool. Each batch needs two jobs, its SHA-256 update and its pwrite; the hashes run one at a
// time in file order (the digest is sequential) and so do the writes, but the two chains are independent:
//
//   batch 1:  [hash]        [write......]
//   batch 2:         [hash]              [write......]     ← hashed while batch 1 is still on its way to the disk
//   batch 3:                [hash]                    [write…
//
// A batch's buffer comes back when both of its jobs are done. With one batch at a time (before), every batch took
// the longer of its hash and its write while the other chain waited: on ext4 here an O_DIRECT pwrite outlasted the
// hash of its batch in 9 batches of 10, and the hashes waited 0.4–0.5 s for the disk in a 4 s upload of 2 GiB; one
// upload takes 10–15 % less time since (docs/PERFORMANCE.md, "History", session 5).
import EventLoop
import Foundation
import Protocol

final class UploadSink {
    /// An upload holds at most `highWater` bytes that are not on disk yet: a `slots`th of it in the batch filling and
    /// the rest in batches being hashed and written. The socket is read while batches are written (`isFull` pauses it
    /// when the filling batch holds its share, `onDrained` resumes it when that batch goes to the pool), so the
    /// network, the hash and the disk overlap instead of taking turns. One upload may hold up to `maximumHighWater`,
    /// but all uploads of a worker together about `workerBudget`: with many at once each gets its share (never below
    /// `minimumHighWater`), so the daemon's memory stays flat when the disk is slower than the network, however many
    /// clients upload (issue #7).
    ///
    /// A lone upload may use the whole budget: its batches must be long enough to cover a write's latency. With 4 MiB
    /// (2 MiB halves, one batch at a time) the filling half was full before the write in flight returned (an O_DIRECT
    /// pwrite of 2 MiB took 2.4 ms on average with both cores busy, p99 5 ms, against 1.1 ms idle), so the session
    /// stopped reading for part of every batch; with 16 MiB (8 MiB halves) the filling half never filled, and one
    /// upload to ext4 took 8–13 % less time and less CPU on both sides (docs/PERFORMANCE.md, "History", session 4).
    static let workerBudget = 16 << 20
    static let maximumHighWater = workerBudget
    static let minimumHighWater = 256 << 10

    /// Buffers per upload: the one filling and three batches on the thread pool (the hash of one beside the write of
    /// another, the third waiting for either chain). Three buffers gave one upload to ext4 ~10 % less time than two
    /// (one batch at a time); four another ~5 % (pairs of alternating runs: medians 0.93 and 0.95); six no more.
    static let slots = 4

    /// This upload's pause threshold now, from how many uploads share the worker's buffer pool (all of the budget,
    /// `maximumHighWater`, for a lone upload).
    var highWater: Int {
        let uploads = max(1, buffers.outstanding / Self.slots)
        return max(Self.minimumHighWater, Self.workerBudget / uploads)
    }

    var lowWater: Int { highWater / 4 }

    /// The filling batch holds its share of `highWater`: stop reading until it goes to the pool.
    var isFull: Bool { pending.count >= highWater / Self.slots }

    private let loop: EventLoop
    let request: UploadRequest
    let relativePath: String
    let partURL: URL
    let finalURL: URL
    private let directories: [URL]
    private let overwrite: Bool
    /// fsync the file and its directory before reporting success (storage.fsync).
    private let durable: Bool
    /// Open the .part with O_DIRECT (storage.direct_io); `direct` says whether the file is written that way (the open
    /// succeeded with it, and no write has fallen back to buffered).
    private let directIO: Bool
    private(set) var direct = false
    /// O_DIRECT's alignment for offsets and lengths: 4096 covers 512-byte and 4 KiB logical blocks (the exact figure,
    /// statx's STATX_DIOALIGN, is at most the page size on the file systems Linux supports O_DIRECT on).
    static let directAlignment = 4096

    private var fd: Int32?
    /// Decrypted bytes waiting for the pool (the filling batch), the batches on the pool in file order, and the
    /// buffers free for the next batch: `slots` buffers taken from the worker's pool for the upload's lifetime and
    /// written in place (no copy, no allocation per batch).
    private var pending: IOBuffer
    private var batches: [Batch] = []
    private var free: [IOBuffer]
    private let buffers: IOBufferPool
    /// Bytes in `batches` (hashed and written or not).
    private var writing = 0
    /// A hash job, a write job running on the pool (each chain runs one job at a time).
    private var hashing = false
    private var writingBatch = false
    /// An fsync or close of the descriptor on the thread pool.
    private var syncing = false
    /// Where the next batch goes in the file.
    private var offset: Int64 = 0
    /// Where the next early writeback starts (durable uploads only).
    private var writebackFrom: Int64 = 0
    static let writebackStep: Int64 = 8 << 20
    private let digest = DigestContext(.sha256)
    private(set) var received: UInt64 = 0
    private var failure: UploadFailure?
    private var finishWaiter: (() -> Void)?
    private var abandoned = false
    private var discarded = false

    /// Called when there is room again (resume reading if paused on `isFull`): the filling batch went to the pool, or a
    /// job finished and the upload is not full (its share may have grown). May come while not paused.
    var onDrained: (() -> Void)?
    /// Called once if a write fails mid-stream.
    var onFailure: ((UploadFailure) -> Void)?
    /// Called with the change of `backlog` each time it moves (metrics: the daemon-wide write backlog). The deltas
    /// sum to 0 over the sink's life: it is kept after `abandon()` so a write still in flight is reported when it
    /// completes, and `deinit` reports whatever is left.
    var onBacklogChange: ((Int) -> Void)?
    /// The backlog as last reported through `onBacklogChange`.
    private var reportedBacklog = 0

    init(loop: EventLoop, request: UploadRequest, relativePath: String, partURL: URL, finalURL: URL,
         directories: [URL], overwrite: Bool, durable: Bool = true, directIO: Bool = true,
         buffers: IOBufferPool) {
        self.buffers = buffers
        pending = buffers.take()
        free = (1..<Self.slots).map { _ in buffers.take() }
        self.loop = loop
        self.request = request
        self.relativePath = relativePath
        self.partURL = partURL
        self.finalURL = finalURL
        self.directories = directories
        self.overwrite = overwrite
        self.durable = durable
        self.directIO = directIO
    }

    /// Bytes accepted but not yet on disk.
    var backlog: Int { pending.count + writing }

    /// Bytes in the filling batch (not handed to the thread pool yet).
    var pendingBytes: Int { pending.count }

    deinit {
        if reportedBacklog != 0 { onBacklogChange?(-reportedBacklog) }
        // Last reference gone (on the loop thread): no job holds the buffers any more.
        buffers.give(pending)
        for buffer in free { buffers.give(buffer) }
        for batch in batches { buffers.give(batch.buffer) }
    }

    /// The worker's pool for upload buffers: 256 KiB to start with (they grow up to the upload's share of its
    /// high-water mark and a record, in capacities doubling from 256 KiB: 8 MiB for a lone upload, 4 MiB for each of
    /// two), at most 16 kept, together no more than the worker's budget, none above 4 MiB: a lone upload's full-size
    /// buffers go back to the system when it ends (its next one grows its own), so the daemon's memory after a large
    /// upload is what it was after a small one.
    static func makeBufferPool() -> IOBufferPool {
        IOBufferPool(bufferCapacity: 256 << 10, maximumKept: 16, maximumCapacity: 4 << 20, maximumKeptBytes: workerBudget)
    }

    private func reportBacklog() {
        let current = backlog
        guard current != reportedBacklog else { return }
        let delta = current - reportedBacklog
        reportedBacklog = current
        onBacklogChange?(delta)
    }

    // MARK: Prepare

    func prepare(_ completion: @escaping (Result<Void, UploadFailure>) -> Void) {
        makeDirectories(directories[...]) { [self] result in
            if case .failure(let failure) = result { return completion(.failure(failure)) }
            FileIO.stat(loop, path: finalURL.path) { [self] status in
                switch status {
                case .success(let existing?) where existing.isDirectory:
                    completion(.failure(UploadFailure(.badPath, "'\(relativePath)' is a directory on the server")))
                case .success(.some) where !overwrite:
                    completion(.failure(UploadFailure(.exists, "'\(relativePath)' already exists")))
                case .failure(let error):
                    completion(.failure(Self.storageFailure(error, "checking '\(relativePath)'")))
                case .success:
                    openPart(completion)
                }
            }
        }
    }

    private func makeDirectories(_ remaining: ArraySlice<URL>, _ completion: @escaping (Result<Void, UploadFailure>) -> Void) {
        guard let next = remaining.first else { return completion(.success(())) }
        FileIO.mkdir(loop, path: next.path, mode: 0o750) { [self] result in
            if case .failure(let error) = result, error.name != "EEXIST" {
                return completion(.failure(Self.storageFailure(error, "creating a directory for '\(relativePath)'")))
            }
            makeDirectories(remaining.dropFirst(), completion)
        }
    }

    private func openPart(direct: Bool? = nil, _ completion: @escaping (Result<Void, UploadFailure>) -> Void) {
        let direct = (direct ?? directIO) && BlockingFileIO.directIOFlag != 0
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | (direct ? BlockingFileIO.directIOFlag : 0)
        FileIO.open(loop, path: partURL.path, flags: flags, mode: 0o640) { [self] result in
            switch result {
            case .failure(let error) where direct && error.name == "EINVAL":
                // The file system does not do O_DIRECT (the file was not created: open checks the flag first).
                openPart(direct: false, completion)
            case .success(let descriptor):
                if abandoned {
                    FileIO.close(loop, fd: descriptor) { _ in }
                    FileIO.unlink(loop, path: partURL.path) { _ in }
                    return
                }
                fd = descriptor
                self.direct = direct
                completion(.success(()))
            case .failure(let error):
                completion(.failure(Self.storageFailure(error, "opening a staging file")))
            }
        }
    }

    // MARK: Data

    /// Queues one decrypted chunk (copied: the slice is only valid during the event); it is hashed with its batch.
    func append(_ chunk: ArraySlice<UInt8>) {
        guard let room = reserve(chunk.count) else { return }
        chunk.withUnsafeBytes { room.copyMemory(from: $0) }
        appendWritten(chunk.count)
    }

    /// Room for the next decrypted chunk of `length` bytes at the end of the pending batch (the protocol decrypts
    /// straight into it: ServerConnection.nextEvent(now:dataInto:)); nil once the upload failed or was dropped. The
    /// bytes count only with `appendWritten`.
    func reserve(_ length: Int) -> UnsafeMutableRawBufferPointer? {
        guard failure == nil, !abandoned else { return nil }
        return pending.reserveTail(length)
    }

    /// Counts in a chunk of `length` bytes decrypted into the room `reserve` gave: `append` without the copy.
    func appendWritten(_ length: Int) {
        guard failure == nil, !abandoned else { return }
        received += UInt64(length)
        pending.didAppend(length)
        writeNext()
        reportBacklog()
    }

    /// A batch goes to the thread pool once it holds `minimumBatch` bytes (or the backlog is past the low-water mark,
    /// or the upload is finishing). Without the floor, a pool that keeps up with the network gets one job per 64 KiB
    /// record: a thread hand-off and a loop wake-up per record, which cost about a third more daemon CPU per GB in
    /// scripts/bench (its "rotate 64 MiB vs 0" pair showed the two modes).
    static let minimumBatch = 256 << 10

    /// One batch on the thread pool: `length` bytes of `buffer` at `offset` in the file, hashed and written by two
    /// jobs (the buffer may hold a few KiB more: O_DIRECT's unaligned remainder, copied into the next batch).
    private final class Batch {
        let buffer: IOBuffer
        let offset: Int64
        let length: Int
        /// The write goes through O_DIRECT (whole blocks; the file's last partial block without it).
        let direct: Bool
        /// Start writeback of this range after the write (durable buffered uploads: sync_file_range).
        let writeback: (offset: Int64, length: Int64)?
        var hashStarted = false, hashed = false
        var writeStarted = false, written = false

        init(buffer: IOBuffer, offset: Int64, length: Int, direct: Bool, writeback: (offset: Int64, length: Int64)?) {
            self.buffer = buffer
            self.offset = offset
            self.length = length
            self.direct = direct
            self.writeback = writeback
        }
    }

    private func writeNext() {
        guard !free.isEmpty, !pending.isEmpty, let fd, failure == nil else { return }
        let finishing = finishWaiter != nil
        guard pending.count >= min(Self.minimumBatch, lowWater) || finishing else { return }
        // O_DIRECT: whole blocks only, the rest waits for the next batch (a few KiB copied); the last batch ends with
        // the file's partial block, which the write job writes without O_DIRECT. That batch is also the only one whose
        // write may clear O_DIRECT on the descriptor: the writes run one at a time, so none is in flight beside it.
        let length = direct && !finishing ? pending.count / Self.directAlignment * Self.directAlignment : pending.count
        assert(!direct || finishing || length % Self.directAlignment == 0, "unaligned O_DIRECT batch of \(length) bytes")
        guard length > 0, let next = free.popLast() else { return }
        let full = pending
        pending = next
        if length < full.count {
            full.withUnsafeBytes { pending.append(UnsafeRawBufferPointer(rebasing: $0[length...])) }
        }
        // A durable upload starts the disk writing every `writebackStep` bytes instead of leaving it all to the final
        // fsync, so the commit waits for the last few MiB only (sync_file_range(2), SYNC_FILE_RANGE_WRITE: starts
        // writeback, does not wait for it, gives no durability by itself — the fsync still does that).
        var writeback: (offset: Int64, length: Int64)?
        let batchEnd = offset + Int64(length)
        if durable, !direct, batchEnd - writebackFrom >= Self.writebackStep {
            writeback = (writebackFrom, batchEnd - writebackFrom)
            writebackFrom = batchEnd
        }
        batches.append(Batch(buffer: full, offset: offset, length: length, direct: direct, writeback: writeback))
        offset = batchEnd
        writing += length
        startJobs(fd: fd)
        // The filling batch is empty again: a reader paused on `isFull` may go on while this one is written.
        if !abandoned, failure == nil { onDrained?() }
    }

    /// Starts the next hash and the next write if their chain is idle: each chain takes the oldest batch it has not
    /// done, so the digest sees the file in order and the writes go out in order.
    private func startJobs(fd: Int32) {
        if !hashing, failure == nil, let batch = batches.first(where: { !$0.hashStarted }) {
            // The hash leaves the loop thread: it is the largest per-byte cost after the AEAD.
            hashing = true
            batch.hashStarted = true
            let digest = self.digest, buffer = batch.buffer, length = batch.length
            ThreadPool.run(loop, {
                buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[..<length])) }
            }, then: { [self] in
                hashing = false
                batch.hashed = true
                jobFinished()
            })
        }
        if !writingBatch, failure == nil, let batch = batches.first(where: { !$0.writeStarted }) {
            writingBatch = true
            batch.writeStarted = true
            let buffer = batch.buffer, length = batch.length, position = batch.offset, direct = batch.direct
            let writeback = batch.writeback
            ThreadPool.run(loop, {
                buffer.withUnsafeBytes { all in
                    let bytes = UnsafeRawBufferPointer(rebasing: all[..<length])
                    let (written, fellBack) = direct ? Self.writeDirect(fd: fd, bytes, offset: position) :
                        (BlockingFileIO.write(fd: fd, bytes, offset: position), false)
                    if case .success = written, let writeback {
                        BlockingFileIO.startWriteback(fd: fd, offset: writeback.offset, length: writeback.length)
                    }
                    return (written, fellBack)
                }
            }, then: { [self] (result, fellBack) in
                writingBatch = false
                batch.written = true
                if fellBack { self.direct = false }  // buffered from now on; whole-block batches are harmless then
                if case .failure(let error) = result {
                    fail(Self.storageFailure(error, "writing '\(relativePath)'"))
                }
                jobFinished()
            })
        }
    }

    /// On a pool thread: the whole blocks with O_DIRECT, then the partial block (the end of the file) without it. A
    /// write O_DIRECT refuses (EINVAL: an alignment this file system wants bigger than ours) is retried buffered, and
    /// the file stays buffered from then on (O_DIRECT is a flag of the open file, cleared by fcntl).
    /// Returns the result and whether it fell back.
    private static func writeDirect(fd: Int32, _ bytes: UnsafeRawBufferPointer,
                                    offset: Int64) -> (Result<Int, UVError>, fellBack: Bool) {
        let whole = bytes.count / directAlignment * directAlignment
        if whole > 0 {
            let written = BlockingFileIO.write(fd: fd, UnsafeRawBufferPointer(rebasing: bytes[..<whole]), offset: offset)
            switch written {
            case .failure(let error) where error.name == "EINVAL":
                if let error = BlockingFileIO.setDirectIO(fd: fd, false) { return (.failure(error), true) }
                return (BlockingFileIO.write(fd: fd, bytes, offset: offset), true)
            case .failure:
                return (written, false)
            case .success:
                break
            }
        }
        guard whole < bytes.count else { return (.success(whole), false) }
        if let error = BlockingFileIO.setDirectIO(fd: fd, false) { return (.failure(error), false) }
        let tail = UnsafeRawBufferPointer(rebasing: bytes[whole...])
        return (BlockingFileIO.write(fd: fd, tail, offset: offset + Int64(whole)).map { whole + $0 }, false)
    }

    /// A hash or a write finished: give back the buffers of the batches both chains are done with, then go on (the
    /// next jobs, the next batch, the commit waiting for the last one, or the discard an abandon waited for).
    private func jobFinished() {
        while let first = batches.first, first.hashed, first.written {
            batches.removeFirst()
            writing -= first.length
            first.buffer.removeAll()
            free.append(first.buffer)
        }
        if failure != nil {
            // Jobs already started run to their end; the batches nobody will run are dropped now.
            batches.removeAll { batch in
                guard !batch.hashStarted || batch.hashed, !batch.writeStarted || batch.written else { return false }
                writing -= batch.length
                batch.buffer.removeAll()
                free.append(batch.buffer)
                return true
            }
        }
        reportBacklog()
        let idle = !hashing && !writingBatch
        if abandoned {
            if idle, !syncing { discardFile() }  // abandon() waited for the jobs before closing the descriptor
            return
        }
        if idle, batches.isEmpty, pending.isEmpty || failure != nil, let waiter = finishWaiter {
            finishWaiter = nil
            return waiter()
        }
        guard let fd, failure == nil else { return }
        startJobs(fd: fd)
        writeNext()
        // A reader paused on `isFull` must hear of room even when no batch goes out now: the upload's share moves with
        // the number of uploads on the worker, and once others end, what filled the old share can be under both the
        // new share and the batch floor — no batch would ever leave, and no more data come to fill one.
        if !isFull { onDrained?() }
    }

    private func fail(_ failure: UploadFailure) {
        guard self.failure == nil else { return }
        self.failure = failure
        pending.removeAll()
        reportBacklog()
        if let waiter = finishWaiter {
            finishWaiter = nil
            waiter()
        } else {
            onFailure?(failure)
        }
    }

    // MARK: Commit

    /// Commits the file if its SHA-256 equals `clientDigest`; the completion runs once the result is durable.
    func finish(clientDigest: [UInt8], _ completion: @escaping (Result<UploadReceipt, UploadFailure>) -> Void) {
        let proceed = { [self] in
            if let failure { return fail(completion, failure) }
            let computed = digest.snapshot()
            guard computed == clientDigest else {
                return fail(completion, UploadFailure(.digestMismatch,
                                                      "SHA-256 mismatch for '\(relativePath)': the server computed \(hex(computed))"))
            }
            guard let fd else { return fail(completion, UploadFailure(.storageFailure, "staging file not open")) }
            syncing = true
            syncFile(fd) { [self] result in
                syncing = false
                if abandoned { return discardFile() }  // the connection dropped during the fsync
                if case .failure(let error) = result { return fail(completion, Self.storageFailure(error, "fsync")) }
                syncing = true
                FileIO.close(loop, fd: fd) { [self] _ in
                    syncing = false
                    self.fd = nil
                    if abandoned { return discardFile() }
                    publish { [self] result in
                        switch result {
                        case .failure(let failure): fail(completion, failure)
                        case .success:
                            completion(.success(UploadReceipt(storedName: relativePath, size: received, digest: computed)))
                        }
                    }
                }
            }
        }
        if backlog > 0 {
            finishWaiter = proceed
            writeNext()  // the tail, below minimumBatch, waits for nothing else
        } else {
            proceed()
        }
    }

    private func syncFile(_ fd: Int32, _ completion: @escaping (Result<Void, UVError>) -> Void) {
        if durable { FileIO.fsync(loop, fd: fd, completion) } else { completion(.success(())) }
    }

    private func syncDirectory(_ path: String, _ completion: @escaping (Result<Void, UVError>) -> Void) {
        if durable { FileIO.fsyncDirectory(loop, path: path, completion) } else { completion(.success(())) }
    }

    /// The atomic step: the final name appears, complete, or not at all.
    private func publish(_ completion: @escaping (Result<Void, UploadFailure>) -> Void) {
        let directory = finalURL.deletingLastPathComponent().path
        let synced: (Result<Void, UVError>) -> Void = { [self] result in
            if case .failure(let error) = result { return completion(.failure(Self.storageFailure(error, "fsync of the directory"))) }
            _ = self
            completion(.success(()))
        }
        if overwrite {
            FileIO.rename(loop, from: partURL.path, to: finalURL.path) { [self] result in
                if case .failure(let error) = result { return completion(.failure(Self.storageFailure(error, "rename"))) }
                syncDirectory(directory, synced)
            }
        } else {
            // link(2) fails with EEXIST instead of replacing: no race with another upload of the same name.
            FileIO.link(loop, from: partURL.path, to: finalURL.path) { [self] result in
                if case .failure(let error) = result {
                    if error.name == "EEXIST" {
                        return completion(.failure(UploadFailure(.exists, "'\(relativePath)' already exists")))
                    }
                    return completion(.failure(Self.storageFailure(error, "link")))
                }
                FileIO.unlink(loop, path: partURL.path) { [self] _ in syncDirectory(directory, synced) }
            }
        }
    }

    private func fail(_ completion: (Result<UploadReceipt, UploadFailure>) -> Void, _ failure: UploadFailure) {
        abandon()
        completion(.failure(failure))
    }

    /// Drops the upload: closes and removes the .part file. Idempotent.
    func abandon() {
        guard !abandoned else { return }
        abandoned = true
        pending.removeAll()
        reportBacklog()
        onDrained = nil
        onFailure = nil
        // A write still running on the thread pool owns the descriptor: closing it now could let the number be
        // reused by another open and the write land in another file. The last job's completion discards instead.
        if !hashing, !writingBatch, !syncing { discardFile() }
    }

    /// Closes and removes the .part file, once: a failed write's completion reaches both `abandon()` (through
    /// `onFailure` or the commit waiting on it) and the discard its own job's end does for an abandoned upload.
    private func discardFile() {
        guard !discarded else { return }
        discarded = true
        let path = partURL.path
        let loop = self.loop
        if let fd {
            self.fd = nil
            FileIO.close(loop, fd: fd) { _ in FileIO.unlink(loop, path: path) { _ in } }
        } else {
            FileIO.unlink(loop, path: path) { _ in }
        }
    }

    private static func storageFailure(_ error: UVError, _ what: String) -> UploadFailure {
        switch error.name {
        case "ENOSPC", "EDQUOT": UploadFailure(.noSpace, "no space left on the server while \(what)")
        case "EACCES", "EPERM", "EROFS": UploadFailure(.permissionDenied, "permission denied while \(what)")
        case "ENOTDIR", "EISDIR": UploadFailure(.badPath, "the path conflicts with an existing file while \(what)")
        default: UploadFailure(.storageFailure, "storage error while \(what): \(error.name)")
        }
    }
}
