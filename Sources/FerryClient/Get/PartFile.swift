// Where a download is written (`ferry get`, PROTOCOL.md §14.4): `NAME.part` beside the destination, hashed as it
// grows, renamed over NAME only once the whole file's SHA-256 is the one the server recorded — so NAME is never a
// partial or a damaged copy, and an interrupted Get leaves the `.part` for the next run to go on from (its bytes
// hashed again first: they are only trusted as far as the final digest agrees).
//
//   open(dest) ─► .part exists? resume at its size (prefix re-hashed) : new, empty
//      ─► header: keep the prefix up to the header's offset (truncate the rest) ─► write … ─► finish: digest = header's?
//            yes: times, mode, rename over NAME          no: .part removed (the caller may start again from 0)
//
// Writes are plain pwrite(2) on the calling thread: one download at a time per process, so a slow disk holds back
// this client's reading of the socket (TCP then holds the server), which is the pacing wanted.
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
    /// Bytes in the .part, all hashed into `digest`.
    private(set) var length: UInt64
    private var digest: DigestContext

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Opens (or creates) `destination`.part and hashes what it holds: what an interrupted Get left.
    init(destination: String) throws {
        self.destination = destination
        descriptor = open(destination + ".part", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot write \(destination).part: \(String(cString: strerror(errno)))")
        }
        length = 0
        digest = DigestContext(.sha256)
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(descriptor)
            throw Failure(description: "\(destination).part is not a regular file: move it away")
        }
        try rehash(upTo: UInt64(max(0, info.st_size)))
    }

    deinit { if descriptor >= 0 { Glibc.close(descriptor) } }

    /// Keeps the first `offset` bytes (the server's answer to where it starts) and hashes them again from the start.
    func keep(upTo offset: UInt64) throws {
        guard offset != length else { return }
        guard ftruncate(descriptor, off_t(offset)) == 0 else { throw systemFailure("truncating") }
        digest = DigestContext(.sha256)
        try rehash(upTo: offset)
    }

    private func rehash(upTo size: UInt64) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: UInt64 = 0
        while offset < size {
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, min($0.count, Int(size - offset)), off_t(offset)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw systemFailure("reading") }
            buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            offset += UInt64(count)
        }
        length = size
    }

    func append(_ bytes: ArraySlice<UInt8>) throws {
        try bytes.withUnsafeBytes { chunk in
            var written = 0
            while written < chunk.count {
                let count = pwrite(descriptor, chunk.baseAddress! + written, chunk.count - written, off_t(length) + off_t(written))
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { throw systemFailure("writing") }
                written += count
            }
            digest.update(chunk)
        }
        length += UInt64(bytes.count)
    }

    /// The whole file arrived: when its SHA-256 is `header`'s, the times and mode are set and it takes its name
    /// (true); otherwise the .part is removed (false).
    func finish(_ header: GetHeader) throws -> Bool {
        let actual = digest.snapshot()
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
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
        unlink(partPath)
    }

    /// Closes the .part, keeping it for a later run to go on from.
    func keepForLater() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    private func systemFailure(_ doing: String) -> Failure {
        Failure(description: "\(doing) \(destination).part: \(String(cString: strerror(errno)))")
    }
}
