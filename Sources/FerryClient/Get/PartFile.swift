// Where a download is written (`ferry get`, PROTOCOL.md §14.4): `NAME.part` beside the destination, hashed as it
// grows, renamed over NAME only once the whole file's SHA-256 is the one the server recorded — so NAME is never a
// partial or a damaged copy, and an interrupted Get leaves the `.part` for the next run to go on from (its bytes
// hashed again first: they are only trusted as far as the final digest agrees).
//
//   open(dest) ─► .part exists? resume at its size (prefix re-hashed) : new, empty
//      ─► header: keep the prefix up to the header's offset (truncate the rest) ─► write … ─► finish: digest = header's?
//            yes: times, mode, rename over NAME          no: .part removed (the caller may start again from 0)
//
// The bytes are hashed and written off the loop thread (PartWriter); every step that looks at the file or the digest
// (keep, finish, keepForLater, discard) first waits for what is on its way.
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
    var partPath: String { destination + ".part" }
    private var descriptor: Int32
    /// Bytes in the .part or on their way to it, all hashed (or being hashed) into the writer's digest.
    var length: UInt64 { writer.end }
    /// Whole blocks go past the page cache (this file system took O_DIRECT, or nothing was written yet).
    var writesDirectly: Bool { writer.writesDirectly }
    private var writer: PartWriter

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Opens (or creates) `destination`.part and hashes what it holds: what an interrupted Get left.
    init(destination: String) throws {
        self.destination = destination
        let descriptor = open(destination + ".part", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot write \(destination).part: \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(descriptor)
            throw Failure(description: "\(destination).part is not a regular file: move it away")
        }
        let size = UInt64(max(0, info.st_size))
        do {
            writer = PartWriter(descriptor: descriptor, offset: size, digest: try Self.hash(descriptor, upTo: size),
                                expected: UInt64(PartWriter.batchSize), direct: true)
        } catch {
            Glibc.close(descriptor)
            throw Failure(description: "reading \(destination).part: \(error)")
        }
    }

    deinit {
        guard descriptor >= 0 else { return }
        // A session that gave up: what arrived is written first (the next run goes on from it), and the descriptor is
        // never closed under a write in flight.
        try? writer.drain()
        Glibc.close(descriptor)
    }

    /// Keeps the first `offset` bytes (the server's answer to where it starts) and hashes them again from the start;
    /// `size` more bytes are to come.
    func keep(upTo offset: UInt64, expecting size: UInt64) throws {
        do { try writer.drain() } catch { throw Failure(description: "writing \(destination).part: \(error)") }
        if offset != length {
            guard ftruncate(descriptor, off_t(offset)) == 0 else { throw systemFailure("truncating") }
        }
        let digest: DigestContext
        do { digest = offset == length ? writer.digest : try Self.hash(descriptor, upTo: offset) } catch {
            throw Failure(description: "reading \(destination).part: \(error)")
        }
        writer = PartWriter(descriptor: descriptor, offset: offset, digest: digest, expected: size, direct: true)
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
        do {
            try bytes.withUnsafeBytes { try writer.append($0) }
        } catch {
            throw Failure(description: "writing \(destination).part: \(error)")
        }
    }

    /// The whole file arrived: when its SHA-256 is `header`'s, the times and mode are set and it takes its name
    /// (true); otherwise the .part is removed (false).
    func finish(_ header: GetHeader) throws -> Bool {
        do { try writer.drain() } catch { throw Failure(description: "writing \(destination).part: \(error)") }
        let actual = writer.digest.snapshot()
        guard length == header.size, constantTimeEqual(actual, header.sha256) else {
            discard()
            return false
        }
        var times = [timespec(tv_sec: 0, tv_nsec: (1 << 30) - 2),  // UTIME_OMIT: the access time stays
                     timespec(tv_sec: Int(header.modified.seconds), tv_nsec: Int(header.modified.nanoseconds))]
        guard futimens(descriptor, &times) == 0 else { throw systemFailure("setting the time of") }
        if header.executable {
            var info = stat()
            if fstat(descriptor, &info) == 0 { _ = fchmod(descriptor, (info.st_mode & 0o777) | ((info.st_mode & 0o444) >> 2)) }
        }
        Glibc.close(descriptor)
        descriptor = -1
        guard rename(partPath, destination) == 0 else { throw systemFailure("renaming \(partPath) to") }
        return true
    }

    /// Removes the .part (a damaged or foreign prefix).
    func discard() {
        writer.cancel()
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
        unlink(partPath)
    }

    /// Closes the .part, keeping it for a later run to go on from.
    func keepForLater() {
        guard descriptor >= 0 else { return }
        try? writer.drain()  // what arrived is kept as far as it was written; a later run hashes it again
        Glibc.close(descriptor)
        descriptor = -1
    }

    private func systemFailure(_ doing: String) -> Failure {
        Failure(description: "\(doing) \(destination).part: \(String(cString: strerror(errno)))")
    }
}
