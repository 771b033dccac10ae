// Verify (docs/PROTOCOL.md §14.10): a stored file re-read from the disk and hashed, for the client to compare with the
// SHA-256 recorded when it was committed (the index's row) and with its own copy's. The reading is a series of
// thread-pool jobs of at most `stepBytes` each, so that a large file neither holds a pool thread for long (uploads
// and Gets queue behind it) nor looks idle to the session: each step is progress.
//
//   step (pool): open — the index's row, the file below the root with no link followed ─► step: read and hash … ─►
//   done(size, recorded, read)          └──► refused: not_found, bad_path, permission_denied, storage_failure
import Index
import Platform
import Protocol

public final class StoredFileVerifier: @unchecked Sendable {
    // @unchecked: its steps run one after another (the session asks for the next when the last ended), never at once.

    public enum Step: Sendable {
        /// More to read: ask for the next step.
        case reading
        case done(VerifyResult)
        case refused(StoreFailure)
    }

    /// Bytes one step reads: 16 MiB, tens of milliseconds of a pool thread on a disk or in the page cache.
    static let stepBytes: UInt64 = 16 << 20

    public let path: StoredPath
    private let store: Store
    private let index: any MetadataIndex
    private var descriptor: Int32 = -1
    private var size: UInt64 = 0
    private var offset: UInt64 = 0
    private var recorded: [UInt8] = []
    private let context = DigestContext(.sha256)
    private var buffer: IOBuffer?

    public init(store: Store, index: any MetadataIndex, path: StoredPath) {
        self.store = store
        self.index = index
        self.path = path
    }

    deinit { if descriptor >= 0 { DirectoryCalls.close(descriptor) } }

    public func step(executor: BlockingExecutor, then completion: @escaping (Step) -> Void) {
        executor.run({ [self] in stepNow() }, then: completion)
    }

    /// Blocking: the pool's.
    func stepNow() -> Step {
        if descriptor < 0, let refused = open() { return .refused(refused) }
        let buffer = self.buffer ?? IOBuffer(capacity: 1 << 20)
        self.buffer = buffer
        let end = min(size, offset + Self.stepBytes)
        while offset < end {
            let count = Int(min(UInt64(buffer.capacity), end - offset))
            switch BlockingFileIO.read(fd: descriptor, into: buffer, count: count, offset: Int64(offset)) {
            case .success(let read) where read > 0:
                buffer.withUnsafeBytes { context.update($0) }
                offset += UInt64(read)
            case .success:
                // Shorter than it was at the open (truncated on the server): what was read is what is there.
                return finish(size: offset)
            case .failure(let error):
                return .refused(.system(error, while: "verifying '\(path.relativePath)'",
                                        at: ([store.rootPath] + path.directoryComponents + [path.name]).joined(separator: "/")))
            }
        }
        return offset == size ? finish(size: size) : .reading
    }

    private func finish(size: UInt64) -> Step {
        DirectoryCalls.close(descriptor)
        descriptor = -2  // done: never opened again
        return .done(VerifyResult(size: size, recorded: recorded, read: context.snapshot()))
    }

    /// The index's row (what was recorded at commit) and the file, opened.
    private func open() -> StoreFailure? {
        let row: IndexedFile?
        do { row = try index.file(namespace: path.identity, path: path.relativePath) } catch {
            return StoreFailure(UploadFailure(.storageFailure, "the server cannot read its index; its log says why"),
                                detail: "\(error)")
        }
        guard let row, row.sha256.count == Limits.fileDigestLength else {
            return StoreFailure(UploadFailure(.notFound, "'\(path.relativePath)' is not stored"))
        }
        switch StoredFileReader.openStoredFile(path, below: store.root, rootPath: store.rootPath, reading: "verifying") {
        case .success(let (file, status)):
            descriptor = file
            size = status.size
            // The digest recorded on this very inode when it was committed, while it still describes the file: the
            // row may be of a version an upload or a rename replaced since it was read. Else (no record, or the file
            // changed in place) the row's.
            recorded = StoredDigest.of(file, rehashUpTo: 0, record: false)?.digest ?? row.sha256
            return nil
        case .failure(let failure) where failure.failure.code == .notFound:
            // A delete or a rename away that finished between the row's read and the open: not stored (any more),
            // not lost. Only a row still there names a copy the disk lost.
            let again: IndexedFile?
            do { again = try index.file(namespace: path.identity, path: path.relativePath) } catch {
                return StoreFailure(UploadFailure(.storageFailure, "the server cannot read its index; its log says why"),
                                    detail: "\(error)")
            }
            if let again, again.sha256 == row.sha256, again.size == row.size { return lostCopy() }
            return StoreFailure(UploadFailure(.notFound, "'\(path.relativePath)' is not stored"))
        case .failure(let failure):
            return failure
        }
    }

    /// The index has it, the disk does not: the stored copy is lost, which is the operator's to hear.
    private func lostCopy() -> StoreFailure {
        StoreFailure(UploadFailure(.storageFailure, "'\(path.relativePath)' is recorded as stored but the server's copy is "
                                   + "gone; tell the server's operator"),
                     detail: "the index lists \(path.identity)/\(path.relativePath), which is not on disk: "
                         + "`ferryd reindex` makes the index follow the tree")
    }
}
