// A pipelined upload (PROTOCOL.md §8.10): a file of at most 1 MiB received whole into memory, then stored by one
// thread-pool job — where a streamed upload (UploadWriter) takes one job to prepare, one per batch to hash, one per
// batch to write and one to commit, each a hand-off between the loop and the pool.
//
//   receiving ──store()──► storing (one job: hash, compare with Close's digest, prepare, write, commit) ──► ended
//       │                                                     the outcome: committed, already stored, or failed
//       └──(dropped: the connection ended, the client aborted) ──► ended, nothing on disk
//
// The job's steps are UploadJobs' (prepare and commit, with `resumable` false: no record, no resume, a kept partial
// of the name dropped): the same checks, the same atomic and durable commit, the same failures as a streamed upload.
// The digest is checked before anything touches the disk, so a file whose bytes do not match leaves no trace.
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public final class WholeFileUpload {
    public enum Outcome: Equatable, Sendable {
        case committed(UploadReceipt)
        /// Open carried the digest of the file stored under the name (§8.7): nothing was written.
        case alreadyStored(UploadReceipt)
        case failed(StoreFailure)
    }

    public let path: StoredPath
    public let size: UInt64
    private let context: UploadJobs.Context
    private let buffer: IOBuffer
    /// Where `buffer` came from (files from `pooledSize` up), for `release`.
    private var pool: IOBufferPool?

    /// Files from this size up take their memory from the worker's buffer pool (reused, so not page-faulted in again
    /// for every file: a fresh MiB cost more kernel time than its store); smaller ones an allocation of their size.
    static let pooledSize: UInt64 = 64 << 10

    /// `size` at most `Limits.maxPipelinedFileSize` (the protocol's check): its memory is taken now, from `buffers`
    /// for a large file. Call `release` once done with it (stored, or dropped).
    public init(store: Store, path: StoredPath, size: UInt64, expectedDigest: [UInt8]?, overwrite: Bool, durable: Bool,
                reserve: UInt64, buffers: IOBufferPool? = nil, uploader: String? = nil, quota: StoreQuota? = nil) {
        precondition(size <= Limits.maxPipelinedFileSize, "a whole-file upload of \(size) bytes")
        self.path = path
        self.size = size
        context = UploadJobs.Context(
            store: store, path: path, partName: store.rules.partName(identity: path.identity, relativePath: path.relativePath),
            size: size, expectedDigest: expectedDigest, overwrite: overwrite, durable: durable, reserve: reserve,
            resumable: false, uploader: uploader, quota: quota)
        if size >= Self.pooledSize, let buffers {
            buffer = buffers.take()
            pool = buffers
        } else {
            buffer = IOBuffer(capacity: max(Int(size), 1))
        }
    }

    /// Gives a pooled buffer back (on the loop thread, once no job uses it). Idempotent.
    public func release() {
        pool?.give(buffer)
        pool = nil
    }

    /// Bytes received so far.
    public var received: Int { buffer.count }

    /// Room for the next decrypted chunk (the protocol decrypts straight into it); `appendWritten` counts it in.
    public func reserve(_ length: Int) -> UnsafeMutableRawBufferPointer { buffer.reserveTail(length) }

    public func appendWritten(_ length: Int) { buffer.didAppend(length) }

    /// Queues one chunk (copied).
    public func append(_ chunk: ArraySlice<UInt8>) { chunk.withUnsafeBytes { buffer.append($0) } }

    /// Every byte arrived: stores the file in one job if its SHA-256 is `clientDigest`, with `times` (§8.9).
    public func store(clientDigest: [UInt8], times: FileTimes?, executor: BlockingExecutor,
                      then completion: @escaping (Outcome) -> Void) {
        let context = self.context, buffer = self.buffer
        executor.run({ Self.store(context, buffer, clientDigest: clientDigest, times: times) }, then: completion)
    }

    /// The job: hash and compare, prepare (the checks of a streamed upload's Open), write, commit.
    static func store(_ context: UploadJobs.Context, _ buffer: IOBuffer, clientDigest: [UInt8], times: FileTimes?) -> Outcome {
        let relative = context.path.relativePath
        let digest = DigestContext(.sha256)
        buffer.withUnsafeBytes { digest.update($0) }
        let computed = digest.snapshot()
        guard constantTimeEqual(computed, clientDigest), UInt64(buffer.count) == context.size else {
            return .failed(StoreFailure(UploadFailure(
                .digestMismatch, "SHA-256 mismatch for '\(relative)': the server computed \(hex(computed))")))
        }
        let prepared: PreparedUpload
        switch UploadJobs.prepare(context, directIO: false) {
        case .failure(let failure): return .failed(failure)
        case .success(.alreadyStored(let receipt)): return .alreadyStored(receipt)
        case .success(.upload(let upload, _)): prepared = upload
        }
        guard let part = prepared.part else {
            UploadJobs.discard(context, prepared)
            return .failed(StoreFailure(UploadFailure(.storageFailure, "storage error while writing '\(relative)'")))
        }
        // pwrite of all of it (short writes continued); a file of 0 bytes writes nothing.
        if case .failure(let error) = buffer.withUnsafeBytes({ BlockingFileIO.write(fd: part, $0, offset: 0) }) {
            UploadJobs.discard(context, prepared)
            return .failed(.system(error, while: "writing '\(relative)'", at: UploadJobs.stagingPath(context)))
        }
        switch UploadJobs.commit(context, prepared, digest: computed, times: times) {
        case .success: return .committed(UploadReceipt(storedName: relative, size: context.size, digest: computed))
        case .failure(let failure): return .failed(failure)
        }
    }
}
