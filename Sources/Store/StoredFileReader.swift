// A stored file read for Get (PROTOCOL.md §14.4): opened below the root with no link followed, what it is taken from
// the open descriptor — its size, modification time and execute bits from fstat, its SHA-256 from the digest record
// beside it (StoredDigest, checked against that size and time) — then read in blocks on the thread pool. The one open
// descriptor is the one version of the file the client gets: a commit that replaces the name meanwhile links a new
// inode and leaves this one whole, so a Get never mixes two versions.
//
// A large file is read past the page cache (O_DIRECT, with storage.direct_io, as nginx's `directio` does from a size
// on): copying it out of the page cache was 37 % of the daemon's CPU in a 2 GiB Get (docs/PERFORMANCE.md), and a file
// read once would only push others out of the cache. Blocks end at multiples of the direct-I/O alignment, so after a
// first block from an odd offset (a resumed Get: read through the page cache) every read is aligned; a file system
// that refuses O_DIRECT is read through the page cache.
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

    /// Files from this size on are read with O_DIRECT (when asked): below it a file's pages may as well stay cached
    /// for the next Get, and a direct read's fixed cost is not worth it.
    public static let directFrom: UInt64 = 8 << 20
    /// O_DIRECT's alignment of offsets and lengths (as BatchPipeline.directAlignment).
    static let directAlignment = 4096

    public let path: StoredPath
    private let root: Int32
    private let rootPath: String
    private let directIO: Bool
    // Set by the open job, read by the read jobs (one at a time, after it).
    private var descriptor: Int32 = -1
    private var size: UInt64 = 0
    private var direct = false

    /// `directIO`: read a file of `directFrom` bytes or more with O_DIRECT (storage.direct_io).
    public init(store: Store, path: StoredPath, directIO: Bool = false) {
        self.path = path
        root = store.root
        rootPath = store.rootPath
        self.directIO = directIO
    }

    deinit { if descriptor >= 0 { DirectoryCalls.close(descriptor) } }

    public func open(executor: BlockingExecutor, then completion: @escaping (OpenOutcome) -> Void) {
        executor.run({ [self] in openNow() }, then: completion)
    }

    /// Whether the reads bypass the page cache (known once opened), and whether the descriptor has O_DIRECT now.
    var readsDirectly: Bool { direct }
    var descriptorIsDirect: Bool { descriptor >= 0 && fcntl(descriptor, F_GETFL) & BlockingFileIO.directIOFlag != 0 }

    /// The bytes a read at `offset` into a buffer of `capacity` bytes gives, once opened: up to the next multiple of
    /// the alignment at most `capacity` on (so the reads after an odd first one are aligned), fewer at the end of the
    /// file. `capacity` is a multiple of the alignment.
    public func blockLength(at offset: UInt64, capacity: Int) -> Int {
        let room = capacity - Int(offset % UInt64(Self.directAlignment))
        return offset >= size ? 0 : Int(min(UInt64(room), size - offset))
    }

    /// Reads `blockLength(at: offset, capacity: buffer.capacity)` bytes at `offset` (fewer only if the file is now
    /// shorter than it was at open). One at a time, once opened.
    public func read(at offset: UInt64, into buffer: IOBuffer, executor: BlockingExecutor,
                     then completion: @escaping (Result<Int, SystemError>) -> Void) {
        let count = blockLength(at: offset, capacity: buffer.capacity)
        executor.run({ [self] in readNow(count, at: offset, into: buffer) }, then: completion)
    }

    /// Blocking: the pool's.
    private func readNow(_ count: Int, at offset: UInt64, into buffer: IOBuffer) -> Result<Int, SystemError> {
        guard count > 0 else {
            buffer.removeAll()
            return .success(0)
        }
        let alignment = Self.directAlignment
        guard direct, offset % UInt64(alignment) == 0 else {
            // Through the page cache: a file read so from the start, or the first block of a Get from an odd offset.
            if direct, let error = BlockingFileIO.setDirectIO(fd: descriptor, false) { return .failure(error) }
            let result = BlockingFileIO.read(fd: descriptor, into: buffer, count: count, offset: Int64(offset))
            if direct, BlockingFileIO.setDirectIO(fd: descriptor, true) != nil { direct = false }  // buffered from now on
            return result
        }
        let result = BlockingFileIO.read(fd: descriptor, into: buffer, count: count, offset: Int64(offset), alignment: alignment)
        if case .failure(let error) = result, error.number == EINVAL {
            // This file system wants another alignment, or no O_DIRECT at all: the page cache from now on.
            direct = false
            if let error = BlockingFileIO.setDirectIO(fd: descriptor, false) { return .failure(error) }
            return BlockingFileIO.read(fd: descriptor, into: buffer, count: count, offset: Int64(offset))
        }
        return result
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
        size = recorded.size
        // A file system without O_DIRECT refuses the flag here (EINVAL): the file is read through the page cache.
        direct = directIO && recorded.size >= Self.directFrom && BlockingFileIO.directIOFlag != 0
            && BlockingFileIO.setDirectIO(fd: file, true) == nil
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
