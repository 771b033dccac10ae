// A stored file read for Get (PROTOCOL.md §14.4): opened below the root with no link followed, what it is taken from
// the open descriptor — its size, modification time and execute bits from fstat, its SHA-256 from the digest record
// beside it (StoredDigest, checked against that size and time) — then read in blocks on the thread pool. The one open
// descriptor is the one version of the file the client gets: a commit that replaces the name meanwhile links a new
// inode and leaves this one whole, so a Get never mixes two versions.
//
//   open (pool) ──► opened(size, digest, times) ──► read(offset) (pool) … ──► close
//        └──► refused: not_found, bad_path (a directory, a link), storage_failure (no digest recorded, a read error)
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public final class StoredFileReader: @unchecked Sendable {
    // @unchecked: `descriptor` is written by the open job and read by the read jobs, which the owner (one loop
    // thread) never runs at the same time as the open, and closed by the owner only with no open or read in flight
    // (or at deinit, once no job holds the reader).

    public struct Opened: Equatable, Sendable {
        public let size: UInt64
        public let sha256: [UInt8]
        public let modified: WireTime
        public let executable: Bool
    }

    public enum OpenOutcome: Equatable, Sendable {
        case opened(Opened)
        case refused(StoreFailure)
    }

    public let path: StoredPath
    private let root: Int32
    private let rootPath: String
    private var descriptor: Int32 = -1

    public init(store: Store, path: StoredPath) {
        self.path = path
        root = store.root
        rootPath = store.rootPath
    }

    deinit { if descriptor >= 0 { DirectoryCalls.close(descriptor) } }

    public func open(executor: BlockingExecutor, then completion: @escaping (OpenOutcome) -> Void) {
        executor.run({ [self] in openNow() }, then: completion)
    }

    /// Reads up to `buffer.capacity` bytes at `offset` (fewer only at the end of the file). One at a time.
    public func read(at offset: UInt64, into buffer: IOBuffer, executor: BlockingExecutor,
                     then completion: @escaping (Result<Int, SystemError>) -> Void) {
        let descriptor = self.descriptor
        executor.run({ BlockingFileIO.read(fd: descriptor, into: buffer, count: buffer.capacity, offset: Int64(offset)) },
                     then: completion)
    }

    /// Closes the file; only with no read in flight.
    public func close() {
        guard descriptor >= 0 else { return }
        DirectoryCalls.close(descriptor)
        descriptor = -1
    }

    private var serverPath: String { ([rootPath] + path.directoryComponents + [path.name]).joined(separator: "/") }

    /// Blocking: the pool's.
    private func openNow() -> OpenOutcome {
        let file: Int32, status: EntryStatus
        switch Self.openStoredFile(path, below: root, rootPath: rootPath, reading: "reading") {
        case .success(let opened): (file, status) = opened
        case .failure(let failure): return .refused(failure)
        }
        // The record says what the file was at commit, and is valid only for the size and modification time it
        // names. A file without one, or changed since (written in place: its time moved), is never hashed afresh to
        // make a header: that would send whatever is there now as if it were what was stored. It is refused instead.
        guard let recorded = StoredDigest.of(file, rehashUpTo: 0, record: false) else {
            DirectoryCalls.close(file)
            return .refused(StoreFailure(UploadFailure(.storageFailure, "'\(path.relativePath)' was changed on the server after "
                + "it was stored (or has no recorded SHA-256), so no copy of it can be checked: not sent; tell the server's operator"),
                detail: "no digest record, or one that no longer matches the file's size and time, on \(serverPath): "
                    + "`ferryd reindex --check` lists such files"))
        }
        descriptor = file
        return .opened(Opened(size: recorded.size, sha256: recorded.digest,
                              modified: WireTime(seconds: status.modifiedSeconds, nanoseconds: status.modifiedNanoseconds),
                              executable: status.permissions & 0o111 != 0))
    }

    /// The stored file at `path`, opened read-only below the root with no link followed, and what fstat says of it:
    /// refused when it is missing (`not_found`), a directory or not a regular file (`bad_path`), behind a link
    /// (`permission_denied`, suspicious) or unreadable. `reading`: the client's word for the operation ("reading",
    /// "verifying"). Blocking.
    static func openStoredFile(_ path: StoredPath, below root: Int32, rootPath: String,
                               reading: String) -> Result<(Int32, EntryStatus), StoreFailure> {
        let serverPath = ([rootPath] + path.directoryComponents + [path.name]).joined(separator: "/")
        let notFound = StoreFailure(UploadFailure(.notFound, "'\(path.relativePath)' is not stored"))
        let directory: Int32
        switch StoredFileProbe.openChain(path.directoryComponents, below: root) {
        case .success(nil), .failure(.notADirectory): return .failure(notFound)
        case .success(let found?): directory = found
        case .failure(.symbolicLink(let depth)):
            return .failure(StoreFailure(UploadFailure(.permissionDenied, "'\(path.relativePath)' cannot be read: a symbolic link is on its way"),
                                         detail: "a symbolic link at depth \(depth) on the way to \(serverPath)", suspicious: true))
        case .failure(.system(let error)):
            return .failure(.system(error, while: "\(reading) '\(path.relativePath)'", at: serverPath))
        }
        defer { DirectoryCalls.close(directory) }
        let file: Int32
        do {
            file = try DirectoryCalls.openFile(path.name, in: directory, flags: O_RDONLY | O_NONBLOCK)
        } catch {
            switch error.number {
            case ENOENT: return .failure(notFound)
            case ELOOP:
                return .failure(StoreFailure(UploadFailure(.permissionDenied, "'\(path.relativePath)' cannot be read: it is a symbolic link"),
                                             detail: "a symbolic link at \(serverPath)", suspicious: true))
            default: return .failure(.system(error, while: "\(reading) '\(path.relativePath)'", at: serverPath))
            }
        }
        let status: EntryStatus
        do { status = try DirectoryCalls.status(of: file) } catch {
            DirectoryCalls.close(file)
            return .failure(.system(error, while: "\(reading) '\(path.relativePath)'", at: serverPath))
        }
        guard status.kind == .regular else {
            DirectoryCalls.close(file)
            let what = status.kind == .directory ? "is a directory: list it, or name the files below it" : "is not a regular file"
            return .failure(StoreFailure(UploadFailure(.badPath, "'\(path.relativePath)' \(what)")))
        }
        return .success((file, status))
    }
}
