// The blocking steps of an upload, each one thread-pool job (UploadWriter runs them through its BlockingExecutor):
//
//   prepare:  reach (mkdir -p) <identity>/<dirs> through descriptors, check the final name (no link, no directory,
//             absent unless overwriting), claim the file's .part (PartialIndex: `busy` if another upload writes it),
//             resume the partial kept there or start it afresh (PartialJobs), admit it if its remaining bytes fit on
//             the disk (`no_space` with the figures otherwise), open the .part (O_DIRECT when asked) and make its
//             record (PartialRecord) at offset 0
//   hash:     the SHA-256 update of one batch          write: the pwrite of one batch (O_DIRECT whole blocks, then
//                                                              the file's partial last block without it)
//   commit:   fsync the .part → close → link it to the final name (rename when overwriting) → unlink the .part and
//             its record → fsync the directory (and the parents of the directories made for it)
//   discard:  close and unlink the .part and its record, remove the directories this upload created that are empty
//   keep:     (the connection ended, or the disk filled up) fdatasync the .part, record how much it holds, close it:
//             the next Open of the file resumes there
//
// A failed prepare or commit discards in the same job. fsync steps are skipped when `durable` is false.
//
// A pipelined upload (WholeFileUpload, PROTOCOL.md §8.10; `resumable` false) that does not overwrite writes an unnamed
// file (O_TMPFILE) in its held directory instead of a .part in staging, and the commit links it there: no staging
// entry to make, record or unlink (every upload would take the staging directory's lock three times), and a crash
// leaves nothing. Where the file system cannot make one, or /proc is missing, it falls back to the .part for good.
import Index
import Platform
import Protocol
import Synchronization
import Units

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An upload's descriptors once prepared: its directory, held, and its .part file.
final class PreparedUpload: @unchecked Sendable {
    // @unchecked: its jobs run one after another (prepare, then the writes, then commit or discard).
    let directory: HeldDirectory
    let partName: String
    var part: Int32?
    /// Where the upload resumes (0: from the start).
    let offset: UInt64
    /// `part` is an unnamed file in `directory` (O_TMPFILE), not `partName` in the staging directory: the commit
    /// links it, a discard only closes it.
    let anonymous: Bool

    init(directory: HeldDirectory, partName: String, part: Int32, offset: UInt64, anonymous: Bool = false) {
        self.directory = directory
        self.partName = partName
        self.part = part
        self.offset = offset
        self.anonymous = anonymous
    }

    func closePart() {
        if let part { DirectoryCalls.close(part) }
        part = nil
    }
}

enum UploadJobs {
    struct Context: Sendable {
        let store: Store
        let path: StoredPath
        let partName: String
        let size: UInt64
        /// The SHA-256 the client announced in Open (a re-run asking whether the file is already stored, §8.7).
        let expectedDigest: [UInt8]?
        let overwrite: Bool
        let durable: Bool
        /// Free space an upload may not take (storage.reserve).
        let reserve: UInt64
        /// A partial kept for this name may be resumed, and this upload's .part gets a record from the start; false for a
        /// pipelined upload (PROTOCOL.md §8.10), which always starts at 0 and is never kept: its file is then made
        /// unnamed in its own directory (O_TMPFILE) where the file system can, unless it overwrites.
        var resumable = true
        /// The identity storing it, recorded in the index; the namespace's own when nil (`path.identity`).
        var uploader: String? = nil
        /// The namespace's quota, checked at prepare (UploadJobs+Quota.swift); nil: none.
        var quota: StoreQuota? = nil
    }

    /// Unnamed files work here (the file system makes them and /proc links them); cleared at the first that does not.
    static let anonymousFiles = Atomic<Bool>(true)

    /// What a prepare ends in when it does not fail.
    enum Prepared {
        case upload(PreparedUpload, direct: Bool)
        /// The file is stored already, with the digest the client announced: nothing to receive.
        case alreadyStored(UploadReceipt)
    }

    static func prepare(_ context: Context, directIO: Bool) -> Result<Prepared, StoreFailure> {
        let store = context.store, path = context.path
        let directory: HeldDirectory
        do {
            directory = try HeldDirectory.reach(path.directoryComponents, below: store.root, claims: store.claims,
                                                useOpenat2: store.useOpenat2)
        } catch {
            return .failure(refusal(error, context))
        }
        if !context.overwrite, let answer = existing(context, in: directory.descriptor) {
            directory.release(claims: store.claims, committed: false)
            return answer
        }
        if let refused = checkFinalName(context, in: directory.descriptor) {
            directory.release(claims: store.claims, committed: false)
            return .failure(refused)
        }
        // The commit links the file into this directory: a directory the daemon may not write is said now, at Open,
        // rather than after the whole file was sent.
        do { try DirectoryCalls.checkWritable(directory.descriptor) } catch {
            directory.release(claims: store.claims, committed: false)
            return .failure(.system(error, while: "storing '\(path.relativePath)'",
                                    at: join(store.rootPath, path.directoryComponents)))
        }
        let name = context.partName, now = SystemClock.unixSeconds()
        let (busy, kept) = store.partials.claimReportingKept(name, size: context.size, now: now, namespace: path.identity)
        if let busy {
            directory.release(claims: store.claims, committed: false)
            return .failure(admissionFailure(busy, context))
        }
        // Only a kept partial has files on disk: without one, nothing to look up or remove in the staging directory
        // (whose lock every upload would otherwise take, twice, to find nothing). Shared, `kept` is always true.
        var offset: UInt64 = 0
        if kept, context.resumable {
            offset = PartialJobs.find(context.partName, identity: path.identity, path: path.relativePath,
                                      size: context.size, in: store.staging) ?? 0
        } else if kept {
            PartialJobs.remove(context.partName, in: store.staging)  // a pipelined upload starts over
        }
        let available = try? DirectoryCalls.availableSpace(store.staging)
        if let refusal = store.partials.admit(name, size: context.size, offset: offset, available: available,
                                              reserve: context.reserve, kept: offset > 0 ? offset : nil) {
            directory.release(claims: store.claims, committed: false)
            return .failure(admissionFailure(refusal, context))
        }
        if let refused = checkQuota(context, in: directory.descriptor) {
            letGo(context, kept: offset > 0 ? offset : nil)
            directory.release(claims: store.claims, committed: false)
            return .failure(refused)
        }
        if !context.resumable, !context.overwrite, anonymousFiles.load(ordering: .relaxed) {
            do {
                let fd = try DirectoryCalls.openAnonymousFile(in: directory.descriptor, mode: fileMode)
                return .success(.upload(PreparedUpload(directory: directory, partName: name, part: fd, offset: 0,
                                                       anonymous: true), direct: false))
            } catch where [EOPNOTSUPP, EISDIR, EINVAL].contains(error.number) {
                anonymousFiles.store(false, ordering: .relaxed)  // a named .part from now on
            } catch {
                directory.release(claims: store.claims, committed: false)
                letGo(context, kept: nil)
                return .failure(.system(error, while: "creating '\(path.relativePath)'", at: serverPath(context)))
            }
        }
        var direct = directIO && BlockingFileIO.directIOFlag != 0
        var retriedExisting = false
        while true {
            let create = offset > 0 ? 0 : O_CREAT | O_EXCL
            let flags = O_WRONLY | O_NOFOLLOW | create | (direct ? BlockingFileIO.directIOFlag : 0)
            do {
                let fd = try DirectoryCalls.openFile(name, in: store.staging, flags: flags, mode: fileMode)
                let prepared = PreparedUpload(directory: directory, partName: name, part: fd, offset: offset)
                // A fresh upload's record is made now, at offset 0 (not resumable until a resume point moves it): its
                // updates then overwrite it in place, so keeping the partial needs no space when the disk is full.
                if offset == 0, context.resumable, let error = PartialJobs.writeRecord(
                    PartialRecord(identity: path.identity, path: path.relativePath, size: context.size, offset: 0),
                    for: name, in: store.staging) {
                    discard(context, prepared)
                    return .failure(.system(error, while: "creating a staging file", at: stagingPath(context)))
                }
                return .success(.upload(prepared, direct: direct))
            } catch where direct && error.number == EINVAL {
                direct = false  // the file system does not do O_DIRECT (open checks the flag before creating)
            } catch where error.number == EEXIST && offset == 0 && !retriedExisting {
                // A .part no index entry accounts for (another process's, or a test's): it is nobody's; start afresh.
                retriedExisting = true
                PartialJobs.remove(name, in: store.staging)
            } catch {
                directory.release(claims: store.claims, committed: false)
                letGo(context, kept: offset > 0 ? offset : nil)
                return .failure(.system(error, while: "opening a staging file", at: stagingPath(context)))
            }
        }
    }

    /// What the client is told when PartialIndex does not admit the upload.
    private static func admissionFailure(_ refusal: PartialIndex.Refusal, _ context: Context) -> StoreFailure {
        switch refusal {
        case .busy:
            return StoreFailure(UploadFailure(.busy, "another upload of '\(context.path.relativePath)' is in progress; retry later"))
        case .unavailable(let error):
            return .system(error, while: "taking '\(context.path.relativePath)' for this upload from the other daemons "
                           + "sharing the storage", at: stagingPath(context))
        case .noSpace(let needed, let available, let claimed, let reserve):
            let figures = "it needs \(ByteSize.approximate(needed)); the server has \(ByteSize.approximate(available)) free, "
                + "\(ByteSize.approximate(claimed)) of it claimed by other uploads and partial files, "
                + "\(ByteSize.approximate(reserve)) kept in reserve"
            return StoreFailure(UploadFailure(.noSpace, "not enough space on the server for '\(context.path.relativePath)': \(figures)"))
        }
    }

    /// A regular file already under the final name (no overwrite asked): `already stored` when Open announced its
    /// SHA-256 and size, `exists` otherwise, saying what to do. nil when no regular file is there.
    static func existing(_ context: Context, in directory: Int32) -> Result<Prepared, StoreFailure>? {
        let name = context.path.name, relative = context.path.relativePath
        guard case .regular? = (try? DirectoryCalls.status(of: name, in: directory))??.kind else { return nil }
        let exists = { (why: String) in StoreFailure(UploadFailure(.exists, "'\(relative)' already exists\(why)")) }
        guard let expected = context.expectedDigest else { return .failure(exists("")) }
        guard let stored = StoredDigest.of(name, in: directory) else {
            return .failure(exists(" and the server cannot tell whether it is the same file (no digest recorded for it): "
                + "use --overwrite to replace it"))
        }
        guard stored.size == context.size, constantTimeEqual(stored.digest, expected) else {
            return .failure(exists(" with other content: use --overwrite to replace it (if the server allows it)"))
        }
        return .success(.alreadyStored(UploadReceipt(storedName: relative, size: stored.size, digest: stored.digest)))
    }

    /// The final name must not be a link or a directory, and must be absent unless the upload overwrites.
    static func checkFinalName(_ context: Context, in directory: Int32) -> StoreFailure? {
        let relative = context.path.relativePath
        do {
            switch try DirectoryCalls.status(of: context.path.name, in: directory)?.kind {
            case nil: return nil
            case .symbolicLink?: return .symbolicLink(relative, at: serverPath(context))
            case .directory?: return StoreFailure(UploadFailure(.badPath, "'\(relative)' is a directory on the server"))
            case .other?: return StoreFailure(UploadFailure(.badPath, "'\(relative)' is not a regular file on the server"))
            case .regular?:
                return context.overwrite ? nil : StoreFailure(UploadFailure(.exists, "'\(relative)' already exists"))
            }
        } catch {
            return .system(error, while: "checking '\(relative)'", at: serverPath(context))
        }
    }

    static func hash(_ digest: DigestContext, _ buffer: IOBuffer, length: Int) {
        buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[..<length])) }
    }

    /// The pwrite of one batch (and its writeback hint). Returns the result and whether O_DIRECT was given up.
    static func write(fd: Int32, _ buffer: IOBuffer, length: Int, offset: Int64, direct: Bool,
                      writeback: (offset: Int64, length: Int64)?) -> (Result<Int, SystemError>, fellBack: Bool) {
        buffer.withUnsafeBytes { all in
            let bytes = UnsafeRawBufferPointer(rebasing: all[..<length])
            let (written, fellBack) = direct
                ? BlockingFileIO.writeDirect(fd: fd, bytes, offset: offset, alignment: BatchPipeline.directAlignment)
                : (BlockingFileIO.write(fd: fd, bytes, offset: offset), false)
            if case .success = written, let writeback {
                BlockingFileIO.startWriteback(fd: fd, offset: writeback.offset, length: writeback.length)
            }
            return (written, fellBack)
        }
    }

    /// The atomic step: the final name appears, complete and (when durable) on stable storage, or not at all.
    /// The mode of a stored file, and of one whose source was executable (FileTimes.executable).
    static let fileMode: UInt32 = 0o640
    static let executableFileMode: UInt32 = 0o750

    static func commit(_ context: Context, _ prepared: PreparedUpload, digest: [UInt8],
                       times: FileTimes? = nil) -> Result<Void, StoreFailure> {
        // The times first: the digest's record names the mtime it was made at (StoredDigest), and both before the
        // name appears (§8.7, §8.9).
        var result = applyTimes(times, context, prepared)
        if !result.isFailure {
            if let part = prepared.part { StoredDigest.record(digest, on: part) }
            result = publish(context, prepared, record: indexRecord(context, digest: digest, times: times))
        }
        if case .failure = result { prepared.closePart() }
        if !prepared.anonymous {
            PartialJobs.remove(prepared.partName, in: context.store.staging)  // linked: only its record is left
        }
        prepared.directory.release(claims: context.store.claims, committed: !result.isFailure)
        letGo(context, kept: nil, stored: !result.isFailure)
        return result
    }

    /// The source's modification time and executable bit, set on the part file before its fsync, so that they are as
    /// durable as its bytes, and before its name appears, so that nobody sees it with the upload's own time.
    private static func applyTimes(_ times: FileTimes?, _ context: Context, _ prepared: PreparedUpload) -> Result<Void, StoreFailure> {
        guard let times, let part = prepared.part else { return .success(()) }
        do {
            try DirectoryCalls.setModificationTime(part, seconds: times.modificationSeconds,
                                                   nanoseconds: Int(times.modificationNanoseconds))
            if times.executable { try DirectoryCalls.setMode(part, executableFileMode) }
        } catch {
            return .failure(.system(error, while: "setting the modification time of '\(context.path.relativePath)'",
                                    at: stagingPath(context)))
        }
        return .success(())
    }

    /// Drops a prepared upload: its .part and the directories it created that are still empty.
    static func discard(_ context: Context, _ prepared: PreparedUpload) {
        prepared.closePart()  // an unnamed file is gone with it
        if !prepared.anonymous { PartialJobs.remove(prepared.partName, in: context.store.staging) }
        prepared.directory.release(claims: context.store.claims, committed: false)
        letGo(context, kept: nil)
    }

    /// Keeps a prepared upload for resume: its first `written` bytes made durable and recorded. Discarded instead when
    /// it holds nothing worth resuming or cannot be recorded.
    static func keep(_ context: Context, _ prepared: PreparedUpload, written: UInt64) -> UInt64? {
        guard let part = prepared.part, written >= UInt64(BatchPipeline.directAlignment) else {
            discard(context, prepared)
            return nil
        }
        let record = PartialRecord(identity: context.path.identity, path: context.path.relativePath, size: context.size,
                                   offset: written)
        guard PartialJobs.checkpoint(part, prepared.partName, record, in: context.store.staging,
                                     durable: context.durable) == nil else {
            discard(context, prepared)
            return nil
        }
        prepared.closePart()
        prepared.directory.release(claims: context.store.claims, committed: false)
        letGo(context, kept: written)
        return written
    }

    static func refusal(_ refusal: TreeRefusal, _ context: Context) -> StoreFailure {
        let components = context.path.directoryComponents
        let relative = context.path.relativePath
        switch refusal {
        case .symbolicLink(let depth):
            return .symbolicLink(relative, at: join(context.store.rootPath, components.prefix(depth)))
        case .notADirectory(let depth):
            let what = depth == 1 ? "your directory on the server is not a directory (tell the server's operator)"
                : "'\(components.dropFirst().prefix(depth - 1).joined(separator: "/"))' is not a directory"
            return StoreFailure(UploadFailure(.badPath, "the path conflicts with an existing file on the server: \(what)"),
                                detail: "not a directory: \(join(context.store.rootPath, components.prefix(depth)))")
        case .system(let error):
            return .system(error, while: "creating a directory for '\(relative)'", at: serverPath(context))
        }
    }

    static func serverPath(_ context: Context) -> String {
        join(context.store.rootPath, context.path.directoryComponents + [context.path.name])
    }

    static func stagingPath(_ context: Context) -> String {
        join(context.store.rootPath, [context.store.rules.staging, context.partName])
    }

    private static func join<C: Collection<String>>(_ root: String, _ components: C) -> String {
        ([root.hasSuffix("/") ? String(root.dropLast()) : root] + components).joined(separator: "/")
    }
}

extension Result {
    var isFailure: Bool {
        if case .failure = self { return true }
        return false
    }
}
