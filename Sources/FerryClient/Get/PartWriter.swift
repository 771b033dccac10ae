// The bytes of a download on their way into its `.part`, off the client's loop thread: the loop only copies each
// decrypted chunk into a batch buffer; the whole file's SHA-256 and the writes run on two serial queues, each in file
// order, side by side (the daemon's upload pipeline, BatchPipeline, does the same with its thread pool):
//
//   append ─► filling batch ──full──► [hash] on the hash queue ─┐ the buffer is free again once both are done
//                                └──► [write] on the write queue ┘ (at most `slots` buffers: the loop waits for one)
//   drain ─► the filling batch goes too (its whole blocks with O_DIRECT, the rest without), then every job is waited for
//
// Writes bypass the page cache (O_DIRECT) where the file system allows it: copying a 2 GiB download into the page
// cache cost the client about 40 % of its CPU (docs/PERFORMANCE.md, "Listing and downloading"), and nothing reads
// the .part back until the next run. O_DIRECT wants the buffer, the offset and the length aligned to the block:
// buffers are page-aligned (IOBuffer) and batches end at block boundaries; the file's last partial block, and a first
// batch after a resumed prefix of odd length, are written through the page cache; a file system that refuses
// O_DIRECT (EINVAL) gets every write through it from then on.
//
// Waiting for a free buffer blocks the loop thread, as the plain pwrite it replaces did: a disk slower than the
// network slows the reading of the socket, and TCP then the server.
import Dispatch
import Foundation
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class PartWriter: @unchecked Sendable {
    // @unchecked: `filling`, `offset` and `dispatched` belong to the owner's thread; `shared` is reached under
    // `condition`'s lock only; the digest is updated on the hash queue only (or by the owner while no job runs), and
    // read by the owner only after `drain` waited; the descriptor's O_DIRECT flag is set and cleared by the write
    // queue (or the owner while no job runs).

    /// 1 MiB batches, four buffers: a batch hashed while the one before it is written and the next fills (eight
    /// went no faster). The SHA-256 (0.56 s/GB here) and an O_DIRECT write (1.6–1.8 GB/s on this VM's ext4) each keep
    /// up with the network. A download holds at most 4 MiB.
    static let batchSize = 1 << 20
    static let slots = 4
    /// O_DIRECT's alignment: 4096 covers 512-byte and 4 KiB logical blocks (as BatchPipeline.directAlignment).
    static let alignment = 4096

    private final class Batch: @unchecked Sendable {
        // @unchecked: `jobsLeft` is changed under the writer's `condition` only.
        let buffer: IOBuffer
        let offset: Int64
        /// Its hash and its write, until both are done.
        var jobsLeft = 2

        init(buffer: IOBuffer, offset: Int64) {
            self.buffer = buffer
            self.offset = offset
        }
    }

    private struct Shared {
        /// Buffers that may still be taken (of `slots`): the owner waits on `condition` for one.
        var free = PartWriter.slots
        var spare: [IOBuffer] = []
        /// The first write that failed; nothing after it is written (the .part keeps a prefix without holes).
        var failure: SystemError?
        /// Stop: queued jobs are skipped (the .part is being removed).
        var cancelled = false
        /// O_DIRECT may still be used (no EINVAL yet).
        var direct: Bool
    }

    private let descriptor: Int32
    let digest: DigestContext
    private let hashQueue = DispatchQueue(label: "ferry.get.hash")
    private let writeQueue = DispatchQueue(label: "ferry.get.write")
    private let jobs = DispatchGroup()
    /// Guards `shared`, and wakes the owner waiting for a free buffer. (Not a DispatchSemaphore: libdispatch traps
    /// when one is freed below its initial value, as it is when a writer fails or is cancelled holding buffers.)
    private let condition = NSCondition()
    private var shared: Shared
    /// The batch filling, and where in the file its first byte goes.
    private var filling: IOBuffer?
    private var offset: Int64
    /// A batch went to the queues (until then a lone final batch is hashed and written on the owner's thread).
    private var dispatched = false
    /// The capacity of the first buffer: the bytes expected, rounded up to the block (a small file takes no more).
    private var firstCapacity: Int

    /// Appends go to `descriptor` from `offset` on, hashed into `digest` (which holds the bytes before `offset`);
    /// `expected`: how many bytes will come, at most (sizes the first buffer). `direct`: try O_DIRECT.
    init(descriptor: Int32, offset: UInt64, digest: DigestContext, expected: UInt64, direct: Bool) {
        self.descriptor = descriptor
        self.offset = Int64(offset)
        self.digest = digest
        let rounded = (min(expected, UInt64(Self.batchSize)) + UInt64(Self.alignment) - 1) / UInt64(Self.alignment)
        firstCapacity = max(Self.alignment, Int(rounded) * Self.alignment)
        shared = Shared(direct: direct && BlockingFileIO.directIOFlag != 0)
    }

    /// Bytes appended (written, or on their way) up to now: the file offset of the next one.
    var end: UInt64 { UInt64(offset) + UInt64(filling?.count ?? 0) }

    /// Whether whole blocks still go past the page cache (no EINVAL from this file system yet).
    var writesDirectly: Bool { locked { $0.direct } }

    /// The first write failure, if any (the bytes after it were not written).
    var failure: SystemError? { locked { $0.failure } }

    func append(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var rest = bytes
        while !rest.isEmpty {
            let buffer = filling ?? takeBuffer()
            filling = buffer
            // A batch ends at a block boundary of the file, so the next one starts on one.
            let target = Self.batchSize - Int(offset % Int64(Self.alignment))
            let count = min(target - buffer.count, rest.count)
            buffer.append(UnsafeRawBufferPointer(rebasing: rest[..<count]))
            rest = UnsafeRawBufferPointer(rebasing: rest[count...])
            if buffer.count == target { submit() }
        }
        if let failure { throw failure }
    }

    /// Everything appended is hashed and written (or failed) when this returns; throws the first write failure.
    func drain() throws(SystemError) {
        if let last = filling, !last.isEmpty {
            if dispatched {
                submit()
            } else {
                // Nothing is on the queues (a file smaller than a batch): done here, without two thread hand-offs.
                filling = nil
                let batch = Batch(buffer: last, offset: offset)
                offset += Int64(last.count)
                hash(batch)
                write(batch)
            }
        }
        jobs.wait()
        leaveBuffered()
        if let failure { throw failure }
    }

    /// Skips what is queued and waits for the jobs running (the .part is about to be removed or closed). The writer
    /// takes nothing after this.
    func cancel() {
        locked { $0.cancelled = true }
        filling = nil
        jobs.wait()
        leaveBuffered()
    }

    /// With no job running: the descriptor without O_DIRECT again, as it came, for whatever reads it next (the
    /// prefix's hash after a cut reads lengths off the alignment).
    private func leaveBuffered() { _ = BlockingFileIO.setDirectIO(fd: descriptor, false) }

    private func takeBuffer() -> IOBuffer {
        condition.lock()
        while shared.free == 0 { condition.wait() }
        shared.free -= 1
        let spare = shared.spare.popLast()
        condition.unlock()
        if let spare { return spare }
        let capacity = dispatched ? Self.batchSize : firstCapacity
        firstCapacity = Self.batchSize
        return IOBuffer(capacity: capacity)
    }

    private func submit() {
        guard let buffer = filling else { return }
        filling = nil
        let batch = Batch(buffer: buffer, offset: offset)
        offset += Int64(buffer.count)
        dispatched = true
        hashQueue.async(group: jobs) { [self] in hash(batch) }
        writeQueue.async(group: jobs) { [self] in write(batch) }
    }

    private func hash(_ batch: Batch) {
        if !locked({ $0.cancelled }) {
            batch.buffer.withUnsafeBytes { digest.update($0) }
        }
        done(batch)
    }

    private func write(_ batch: Batch) {
        let (skip, direct) = locked { ($0.cancelled || $0.failure != nil, $0.direct) }
        if !skip {
            let result = batch.buffer.withUnsafeBytes { write($0, at: batch.offset, direct: direct) }
            if case .failure(let error) = result { locked { if $0.failure == nil { $0.failure = error } } }
        }
        done(batch)
    }

    /// One batch's pwrite: its whole blocks with O_DIRECT when it starts on one, the rest through the page cache
    /// (BlockingFileIO.writeDirect, as the daemon's uploads). The descriptor's flag is set again for each such batch:
    /// one fcntl a MiB, and no copy of it to keep in step.
    private func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64, direct: Bool) -> Result<Int, SystemError> {
        if direct, offset % Int64(Self.alignment) == 0, bytes.count >= Self.alignment {
            if BlockingFileIO.setDirectIO(fd: descriptor, true) == nil {
                let (result, fellBack) = BlockingFileIO.writeDirect(fd: descriptor, bytes, offset: offset, alignment: Self.alignment)
                if fellBack { locked { $0.direct = false } }
                return result
            }
            locked { $0.direct = false }  // this file system does not take the flag: the page cache from now on
        }
        if let error = BlockingFileIO.setDirectIO(fd: descriptor, false) { return .failure(error) }
        return BlockingFileIO.write(fd: descriptor, bytes, offset: offset)
    }

    private func done(_ batch: Batch) {
        condition.lock()
        batch.jobsLeft -= 1
        if batch.jobsLeft == 0 {
            batch.buffer.removeAll()
            shared.spare.append(batch.buffer)
            shared.free += 1
            condition.signal()
        }
        condition.unlock()
    }

    private func locked<T>(_ body: (inout Shared) -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body(&shared)
    }
}
