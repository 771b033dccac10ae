// The batches of one upload on their way to disk, as data: which bytes wait, which batch is hashed or written next,
// which buffers are free. No I/O and no threads here — UploadWriter runs the jobs this hands out and reports them done.
//
// An upload owns `slots` buffers: one filling with decrypted records (`pending`) and up to `slots - 1` batches on the
// thread pool. Each batch needs two jobs, its SHA-256 update and its pwrite; the hashes run one at a time in file
// order (the digest is sequential) and so do the writes, but the two chains are independent:
//
//   batch 1:  [hash]        [write......]
//   batch 2:         [hash]              [write......]     ← hashed while batch 1 is still on its way to the disk
//   batch 3:                [hash]                    [write…
//
// A batch's buffer comes back when both of its jobs are done. One batch at a time would make every batch take the
// longer of its hash and its write while the other chain waits (docs/PERFORMANCE.md, "History").
//
// Direct I/O: O_DIRECT wants the buffer, the file offset and the length aligned to the device's block. Buffers are
// page-aligned (IOBuffer), and each batch is cut at a multiple of `directAlignment`, its remainder carried into the
// next batch; the file's last partial block goes in the last batch, which the writer writes after clearing O_DIRECT.
import Platform

final class BatchPipeline {
    /// An upload holds at most `highWater` bytes that are not on disk yet: a `slots`th of it in the batch filling and
    /// the rest in batches being hashed and written. One upload may hold up to `maximumHighWater`, but all uploads of a
    /// worker together about `workerBudget`: with many at once each gets its share (never below `minimumHighWater`),
    /// so memory stays flat when the disk is slower than the network, however many clients upload. A lone upload may
    /// use the whole budget: its batches must be long enough to cover a write's latency, or the filling batch is full
    /// before the write in flight returns and the session stops reading for part of every batch.
    static let workerBudget = 16 << 20
    static let maximumHighWater = workerBudget
    static let minimumHighWater = 256 << 10

    /// Buffers per upload: the one filling and three batches on the thread pool (the hash of one beside the write of
    /// another, the third waiting for either chain); more did not go faster (docs/PERFORMANCE.md).
    static let slots = 4

    /// A batch goes to the thread pool once it holds `minimumBatch` bytes (or the backlog is past the low-water mark,
    /// or the upload is finishing). Without the floor, a pool that keeps up with the network gets one job per 64 KiB
    /// record: a thread hand-off and a loop wake-up per record, about a third more daemon CPU per GB.
    static let minimumBatch = 256 << 10

    /// O_DIRECT's alignment for offsets and lengths: 4096 covers 512-byte and 4 KiB logical blocks (statx's
    /// STATX_DIOALIGN is at most the page size on the file systems Linux supports O_DIRECT on).
    static let directAlignment = 4096

    /// A durable buffered upload asks the kernel to start writeback every `writebackStep` bytes (sync_file_range), so
    /// the final fsync waits for the last few MiB only.
    static let writebackStep: Int64 = 8 << 20

    /// The worker's pool for upload buffers: 256 KiB to start with (they grow up to the upload's share of its
    /// high-water mark and a record), at most 16 kept, together no more than the worker's budget, none above 4 MiB:
    /// a lone upload's full-size buffers go back to the system when it ends, so the daemon's memory after a large
    /// upload is what it was after a small one.
    static func makeBufferPool() -> IOBufferPool {
        IOBufferPool(bufferCapacity: 256 << 10, maximumKept: 16, maximumCapacity: 4 << 20, maximumKeptBytes: workerBudget)
    }

    /// One batch: `length` bytes of `buffer` at `offset` in the file (the buffer may hold a few KiB more: O_DIRECT's
    /// unaligned remainder, copied into the next batch).
    final class Batch {
        enum Job { case waiting, running, done }
        let buffer: IOBuffer
        let offset: Int64
        let length: Int
        /// Written through O_DIRECT (whole blocks; the file's last partial block without it).
        let direct: Bool
        /// Start writeback of this range after the write (durable buffered uploads).
        let writeback: (offset: Int64, length: Int64)?
        var hash = Job.waiting
        var write = Job.waiting

        init(buffer: IOBuffer, offset: Int64, length: Int, direct: Bool, writeback: (offset: Int64, length: Int64)?) {
            self.buffer = buffer
            self.offset = offset
            self.length = length
            self.direct = direct
            self.writeback = writeback
        }
    }

    private let buffers: IOBufferPool
    private var pending: IOBuffer
    private var free: [IOBuffer]
    private(set) var batches: [Batch] = []
    /// Bytes in `batches`.
    private(set) var writing = 0
    /// Where the next batch goes in the file.
    private var offset: Int64 = 0
    private var writebackFrom: Int64 = 0
    /// Cut batches at block multiples (the file is open with O_DIRECT and no write has fallen back).
    var direct: Bool
    private let durable: Bool
    private var returned = false

    /// `startingAt`: where the first batch goes (a resumed upload's offset; a multiple of `directAlignment`).
    init(buffers: IOBufferPool, direct: Bool, durable: Bool, startingAt start: UInt64 = 0) {
        self.buffers = buffers
        offset = Int64(start)
        writebackFrom = Int64(start)
        pending = buffers.take()
        free = (1..<Self.slots).map { _ in buffers.take() }
        self.direct = direct
        self.durable = durable
    }

    deinit { giveBuffersBack() }

    /// This upload's pause threshold now, from how many uploads share the worker's buffer pool.
    var highWater: Int {
        let uploads = max(1, buffers.outstanding / Self.slots)
        return max(Self.minimumHighWater, Self.workerBudget / uploads)
    }

    var lowWater: Int { highWater / 4 }

    /// The filling batch holds its share of `highWater`: stop reading until it goes to the pool.
    var isFull: Bool { pending.count >= highWater / Self.slots }

    /// Bytes accepted and not on disk yet.
    var backlog: Int { pending.count + writing }
    var pendingBytes: Int { pending.count }
    var isEmpty: Bool { pending.isEmpty && batches.isEmpty }
    /// A hash or a write is running on the pool (its buffer, and the descriptor, are in use).
    var hasJobRunning: Bool { batches.contains { $0.hash == .running || $0.write == .running } }

    /// Room for `length` bytes at the end of the filling batch (valid until the next call that may grow it).
    func reserve(_ length: Int) -> UnsafeMutableRawBufferPointer { pending.reserveTail(length) }

    func didAppend(_ length: Int) { pending.didAppend(length) }

    /// Cuts the filling batch into a batch for the pool when it is worth a job (or `finishing`: everything goes).
    /// nil when nothing is to go now.
    func cutBatch(finishing: Bool) -> Batch? {
        guard !free.isEmpty, !pending.isEmpty else { return nil }
        guard pending.count >= min(Self.minimumBatch, lowWater) || finishing else { return nil }
        let length = direct && !finishing ? pending.count / Self.directAlignment * Self.directAlignment : pending.count
        guard length > 0, let next = free.popLast() else { return nil }
        let full = pending
        pending = next
        if length < full.count {
            full.withUnsafeBytes { pending.append(UnsafeRawBufferPointer(rebasing: $0[length...])) }
        }
        var writeback: (offset: Int64, length: Int64)?
        let batchEnd = offset + Int64(length)
        if durable, !direct, batchEnd - writebackFrom >= Self.writebackStep {
            writeback = (writebackFrom, batchEnd - writebackFrom)
            writebackFrom = batchEnd
        }
        let batch = Batch(buffer: full, offset: offset, length: length, direct: direct, writeback: writeback)
        batches.append(batch)
        offset = batchEnd
        writing += length
        return batch
    }

    /// The oldest batch not hashed yet, if the hash chain is idle: marked running.
    func nextHash() -> Batch? {
        guard !batches.contains(where: { $0.hash == .running }),
              let batch = batches.first(where: { $0.hash == .waiting }) else { return nil }
        batch.hash = .running
        return batch
    }

    /// The oldest batch not written yet, if the write chain is idle: marked running.
    func nextWrite() -> Batch? {
        guard !batches.contains(where: { $0.write == .running }),
              let batch = batches.first(where: { $0.write == .waiting }) else { return nil }
        batch.write = .running
        return batch
    }

    /// Gives back the buffers of the batches both chains are done with, in file order.
    func retireFinished() {
        while let first = batches.first, first.hash == .done, first.write == .done {
            batches.removeFirst()
            retire(first)
        }
    }

    /// Drops what no job will run: the filling batch and every batch with no job running (the upload failed or was
    /// dropped). Jobs already running keep their batches until they finish.
    func dropIdle() {
        pending.removeAll()
        batches.removeAll { batch in
            guard batch.hash != .running, batch.write != .running else { return false }
            retire(batch)
            return true
        }
    }

    private func retire(_ batch: Batch) {
        writing -= batch.length
        batch.buffer.removeAll()
        free.append(batch.buffer)
    }

    /// Returns every buffer to the worker's pool; only when no job runs. Once.
    func giveBuffersBack() {
        guard !returned else { return }
        precondition(!hasJobRunning, "buffers given back while a job uses one")
        returned = true
        buffers.give(pending)
        for buffer in free { buffers.give(buffer) }
        for batch in batches { buffers.give(batch.buffer) }
        batches.removeAll()
        free.removeAll()
        writing = 0
    }
}
