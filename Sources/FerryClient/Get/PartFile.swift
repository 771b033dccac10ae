// Where a download is written (`ferry get`, PROTOCOL.md §14.4): a partial beside the destination (`NAME.part`, or
// the name PartName gives when that is taken or too long), hashed as it grows, made durable and renamed over NAME
// only once the whole file's SHA-256 is the one the server recorded — so NAME is never a partial or a damaged copy,
// and an interrupted Get leaves the partial for the next run to go on from (its bytes hashed again first: they are
// only trusted as far as the final digest agrees).
//
//   open(dest) ─► locked (another writer: refused) ─► prefix hashed (the thread pool; nothing when empty)
//      ─► header: keep the prefix up to the header's offset (truncate the rest) ─► write … ─► finish: digest = header's?
//            yes: fdatasync, times, mode, rename over NAME          no: the partial removed (the caller may start again)
//
// The bytes are hashed and written off the loop thread (PartWriter); every step that looks at the file or the digest
// (keep, finish, keepForLater, discard) first waits for what is on its way. The lock (flock on the partial) keeps two
// `ferry get`s, or two names that one case-insensitive file system takes for one, from writing one partial.
import EventLoop
import Foundation
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class PartFile {
    let destination: String
    let partPath: String
    private var descriptor: Int32
    /// This run made the partial: it is removed again if it is let go empty (a Get refused before any byte).
    private let created: Bool
    /// What the partial held when opened; its bytes are hashed before the first write (`hashPrefix`).
    private let openedLength: UInt64
    /// From the prefix's digest on; nil until then.
    private var writer: PartWriter?
    /// Bytes in the partial or on their way to it, all hashed (or being hashed) into the writer's digest.
    var length: UInt64 { writer?.end ?? openedLength }
    /// The bytes an earlier run left are still to be hashed (`hashPrefix`) before the file can go on.
    var needsPrefixHash: Bool { writer == nil }
    /// Whole blocks go past the page cache (this file system took O_DIRECT, or nothing was written yet).
    var writesDirectly: Bool { writer?.writesDirectly ?? true }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Opens (or creates) the partial `partPath` (by default `destination`.part) and locks it; what an interrupted
    /// Get left in it is hashed next (`hashPrefix`).
    init(destination: String, partPath: String? = nil) throws {
        self.destination = destination
        let partPath = partPath ?? destination + ".part"
        self.partPath = partPath
        var created = true
        var descriptor = open(partPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        if descriptor < 0, errno == EEXIST {
            created = false
            descriptor = open(partPath, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        }
        guard descriptor >= 0 else {
            throw Failure(description: errno == ELOOP ? "\(partPath) is a symbolic link: move it away"
                : "cannot write \(partPath): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(descriptor)
            throw Failure(description: "\(partPath) is not a regular file: move it away")
        }
        // Another process (or session) holding it is writing the same file; one that held it and renamed it away
        // leaves the name to another inode, or none: this descriptor is then no longer the partial.
        var named = stat()
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0, lstat(partPath, &named) == 0,
              named.st_dev == info.st_dev, named.st_ino == info.st_ino else {
            Glibc.close(descriptor)
            throw Failure(description: "another ferry get is writing \(partPath) (to the same destination, or to one "
                + "this file system takes for the same name): wait for it, or get to another place")
        }
        self.descriptor = descriptor
        self.created = created
        openedLength = UInt64(max(0, info.st_size))
        if openedLength == 0 { writer = Self.writer(descriptor, offset: 0, digest: DigestContext(.sha256)) }
    }

    private static func writer(_ descriptor: Int32, offset: UInt64, digest: DigestContext,
                               expected: UInt64 = UInt64(PartWriter.batchSize)) -> PartWriter {
        PartWriter(descriptor: descriptor, offset: offset, digest: digest, expected: expected, direct: true)
    }

    /// Hashes what an earlier run left, here (a blocking read of up to the whole partial).
    func hashPrefix() throws {
        guard writer == nil else { return }
        let digest: DigestContext
        do { digest = try Self.hash(descriptor, upTo: openedLength) } catch {
            throw Failure(description: "reading \(partPath): \(error)")
        }
        writer = Self.writer(descriptor, offset: openedLength, digest: digest)
    }

    /// Hashes what an earlier run left on the thread pool (gigabytes take seconds, which the loop and every other
    /// session on it must not wait for), then `then` on the loop: nil, or why the partial cannot be read.
    func hashPrefix(loop: EventLoop, then: @escaping (Failure?) -> Void) {
        guard writer == nil else { return then(nil) }
        let (descriptor, size, path) = (descriptor, openedLength, partPath)
        // Nothing else uses the descriptor until this returns: no writer exists yet, and `self` (which closes it)
        // is held by the completion.
        ThreadPool.run(loop, { () -> Result<DigestContext, SystemError> in
            do throws(SystemError) { return .success(try Self.hash(descriptor, upTo: size)) } catch { return .failure(error) }
        }, then: { [self] result in
            switch result {
            case .success(let digest):
                if writer == nil, self.descriptor >= 0 { writer = Self.writer(descriptor, offset: size, digest: digest) }
                then(nil)
            case .failure(let error):
                then(Failure(description: "reading \(path): \(error)"))
            }
        })
    }

    deinit {
        guard descriptor >= 0 else { return }
        // A session that gave up: what arrived is written first (the next run goes on from it), and the descriptor is
        // never closed under a write in flight.
        try? writer?.drain()
        removeIfMadeEmpty()
        Glibc.close(descriptor)
    }

    /// Keeps the first `offset` bytes (the server's answer to where it starts) and hashes them again from the start;
    /// `size` more bytes are to come.
    func keep(upTo offset: UInt64, expecting size: UInt64) throws {
        if offset > 0 { try hashPrefix() }  // from 0, what the partial held does not matter
        do { try writer?.drain() } catch { throw Failure(description: "writing \(partPath): \(error)") }
        let held = length
        if offset != held {
            guard ftruncate(descriptor, off_t(offset)) == 0 else { throw systemFailure("truncating \(partPath)") }
        }
        let digest: DigestContext
        if offset == held, let writer {
            digest = writer.digest
        } else {
            // The header's offset is the Get's or 0 (PROTOCOL.md §14.4): a prefix hashed again only if a server did otherwise.
            do { digest = try Self.hash(descriptor, upTo: offset) } catch {
                throw Failure(description: "reading \(partPath): \(error)")
            }
        }
        writer = Self.writer(descriptor, offset: offset, digest: digest, expected: size)
    }

    /// The SHA-256 of the file's first `size` bytes (what an earlier run left).
    private static func hash(_ descriptor: Int32, upTo size: UInt64) throws(SystemError) -> DigestContext {
        let digest = DigestContext(.sha256)
        let buffer = IOBuffer(capacity: 1 << 20)
        var offset: UInt64 = 0
        while offset < size {
            let count = try BlockingFileIO.read(fd: descriptor, into: buffer, count: Int(min(UInt64(buffer.capacity), size - offset)),
                                                offset: Int64(offset)).get()
            guard count > 0 else { throw SystemError(EIO, "pread (the file is shorter than it was)") }
            buffer.withUnsafeBytes { digest.update($0) }
            offset += UInt64(count)
        }
        return digest
    }

    func append(_ bytes: ArraySlice<UInt8>) throws {
        guard let writer else { throw Failure(description: "writing \(partPath): its earlier bytes were not hashed") }
        do {
            try bytes.withUnsafeBytes { try writer.append($0) }
        } catch {
            throw Failure(description: "writing \(partPath): \(error)")
        }
    }

    /// The whole file arrived: when its SHA-256 is `header`'s, it is made durable, the times and mode are set and it
    /// takes its name (true); otherwise the partial is removed (false).
    func finish(_ header: GetHeader) throws -> Bool {
        try hashPrefix()  // an empty Get of a file whose prefix was never looked at
        guard let writer else { return false }
        do { try writer.drain() } catch { throw Failure(description: "writing \(partPath): \(error)") }
        let actual = writer.digest.snapshot()
        guard length == header.size, constantTimeEqual(actual, header.sha256) else {
            discard()
            return false
        }
        // Durable before it takes its name: a power cut must not leave NAME with the right size and time (which a
        // re-run's quick check trusts) but blocks the disk never got. The daemon syncs each upload the same way.
        guard fdatasync(descriptor) == 0 else { throw systemFailure("syncing \(partPath) to disk") }
        var times = [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2),  // UTIME_OMIT: the access time stays
                     timespec(tv_sec: Int(header.modified.seconds), tv_nsec: Int(header.modified.nanoseconds))]
        guard futimens(descriptor, &times) == 0 else { throw systemFailure("setting the time of \(partPath)") }
        if header.executable {
            var info = stat()
            if fstat(descriptor, &info) == 0 { _ = fchmod(descriptor, (info.st_mode & 0o777) | ((info.st_mode & 0o444) >> 2)) }
        }
        // Renamed while still locked: another writer that opened the partial's name meanwhile finds, once it has the
        // lock, that the name is no longer its inode (init's check), and never writes into the finished file.
        guard rename(partPath, destination) == 0 else { throw systemFailure("renaming \(partPath) to \(destination)") }
        Glibc.close(descriptor)
        descriptor = -1
        return true
    }

    /// Removes the partial (a damaged or foreign prefix).
    func discard() {
        writer?.cancel()
        if descriptor >= 0 {
            unlink(partPath)  // while it is still locked: no other writer can have taken the name meanwhile
            Glibc.close(descriptor)
        }
        descriptor = -1
    }

    /// Closes the partial, keeping it for a later run to go on from; returns the bytes it holds (what was written
    /// of what arrived). One this run made and left empty is removed.
    @discardableResult
    func keepForLater() -> UInt64 {
        guard descriptor >= 0 else {
            var info = stat()  // closed already (a finish that failed late): what the partial's name holds
            return lstat(partPath, &info) == 0 ? UInt64(max(0, info.st_size)) : 0
        }
        try? writer?.drain()  // what arrived is kept as far as it was written; a later run hashes it again
        var info = stat()
        let kept = fstat(descriptor, &info) == 0 ? UInt64(max(0, info.st_size)) : 0
        removeIfMadeEmpty()
        Glibc.close(descriptor)
        descriptor = -1
        return kept
    }

    /// A partial this run created that holds nothing: no trace of a Get that got no byte.
    private func removeIfMadeEmpty() {
        var info = stat()
        if created, fstat(descriptor, &info) == 0, info.st_size == 0 { unlink(partPath) }
    }

    private func systemFailure(_ doing: String) -> Failure {
        Failure(description: "\(doing): \(String(cString: strerror(errno)))")
    }
}
