// The SHA-256 a stored file had when ferryd committed it, kept with the file in an extended attribute so a repeated
// upload can be answered "already stored" (PROTOCOL.md §8.7) without reading the file again:
//
//   user.ferry.sha256 = version (1) ‖ size (u64 LE) ‖ mtime seconds (i64 LE) ‖ mtime nanoseconds (i64 LE) ‖ SHA-256
//
// It is written on the .part after its last byte and before its final link, so the name never appears without it
// (where the file system keeps attributes). The size and modification time it names are the file's at that moment:
// a file changed since on the server (written in place: its mtime moves) no longer matches, and is treated as one with
// no record. A file with no record — stored before ferryd recorded digests, or on a file system without attributes —
// is hashed on demand when small (`rehashLimit`), never when large.
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum StoredDigest {
    static let attribute = "user.ferry.sha256"
    static let version: UInt8 = 1
    static let length = 1 + 8 + 8 + 8 + Limits.fileDigestLength
    /// A file with no record is hashed to answer only up to this size (64 MiB: a fraction of a second).
    static let rehashLimit: UInt64 = 64 << 20

    /// Records `digest` on the open file (its current size and mtime). Best effort: a file system without attributes
    /// only loses the "already stored" answer for this file.
    static func record(_ digest: [UInt8], on descriptor: Int32) {
        guard digest.count == Limits.fileDigestLength, let stamp = Stamp(descriptor) else { return }
        try? FileAttributes.set(attribute, stamp.encoded + digest, on: descriptor)
    }

    /// The SHA-256 of the regular file `name` in `directory`, from its record, or computed when it has none and is
    /// at most `rehashLimit` bytes (then recorded). nil when unknown. Blocking.
    static func of(_ name: String, in directory: Int32) -> (size: UInt64, digest: [UInt8])? {
        guard let descriptor = try? DirectoryCalls.openFile(name, in: directory, flags: O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else {
            return nil
        }
        defer { DirectoryCalls.close(descriptor) }
        return of(descriptor, rehashUpTo: rehashLimit, record: true).map { ($0.size, $0.digest) }
    }

    /// The SHA-256 of the open regular file, from its record, or computed when it has none and is at most
    /// `rehashUpTo` bytes (then recorded on it when `record`); `hashed` says which. nil when unknown. Blocking.
    static func of(_ descriptor: Int32, rehashUpTo limit: UInt64, record: Bool)
        -> (size: UInt64, digest: [UInt8], hashed: Bool)? {
        guard let stamp = Stamp(descriptor), stamp.regular else { return nil }
        if let value = FileAttributes.get(attribute, of: descriptor, maximumLength: length), value.count == length,
           value[0] == version, Array(value[..<(length - Limits.fileDigestLength)]) == stamp.encoded {
            return (stamp.size, Array(value[(length - Limits.fileDigestLength)...]), false)
        }
        guard stamp.size <= limit, let digest = hash(descriptor, size: stamp.size) else { return nil }
        if record { self.record(digest, on: descriptor) }
        return (stamp.size, digest, true)
    }

    /// Whether files in `directory` (staging) keep a user extended attribute: nil when they do, else why not. An
    /// unnamed file where the file system makes one (nothing is left behind), else a named one removed at once.
    static func probe(in directory: Int32) -> String? {
        var name: String?
        let descriptor: Int32
        do {
            descriptor = try DirectoryCalls.openAnonymousFile(in: directory, mode: 0o600)
        } catch {
            let probeName = ".ferryd-attribute-probe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            do {
                descriptor = try DirectoryCalls.openFile(probeName, in: directory,
                                                         flags: O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
            } catch {
                return nil  // a full or read-only disk says nothing of attributes: uploads will say what is wrong
            }
            name = probeName
        }
        defer {
            if let name { try? DirectoryCalls.removeFile(name, in: directory) }
            DirectoryCalls.close(descriptor)
        }
        do { try FileAttributes.set(attribute + ".probe", [version], on: descriptor) } catch {
            // Only "not supported" is the file system's answer about attributes (ENOSPC, EDQUOT and the like pass).
            return [EOPNOTSUPP, ENOTSUP].contains(error.number) ? error.message : nil
        }
        guard FileAttributes.get(attribute + ".probe", of: descriptor, maximumLength: 1) == [version] else {
            return "an attribute set is not read back"
        }
        return nil
    }

    private static func hash(_ descriptor: Int32, size: UInt64) -> [UInt8]? {
        let context = DigestContext(.sha256)
        let buffer = IOBuffer(capacity: 1 << 20)
        var offset: UInt64 = 0
        while offset < size {
            let count = Int(min(UInt64(buffer.capacity), size - offset))
            guard case .success(count) = BlockingFileIO.read(fd: descriptor, into: buffer, count: count, offset: Int64(offset)) else {
                return nil
            }
            buffer.withUnsafeBytes { context.update($0) }
            offset += UInt64(count)
        }
        return context.snapshot()
    }

    /// What the record pins down of the file: its size and modification time.
    private struct Stamp {
        let size: UInt64
        let seconds: Int64
        let nanoseconds: Int64
        let regular: Bool

        init?(_ descriptor: Int32) {
            var info = stat()
            guard fstat(descriptor, &info) == 0 else { return nil }
            size = UInt64(info.st_size)
            seconds = Int64(info.st_mtim.tv_sec)
            nanoseconds = Int64(info.st_mtim.tv_nsec)
            regular = info.st_mode & S_IFMT == S_IFREG
        }

        var encoded: [UInt8] {
            [StoredDigest.version] + littleEndian(size) + littleEndian(UInt64(bitPattern: seconds))
                + littleEndian(UInt64(bitPattern: nanoseconds))
        }

        private func littleEndian(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }
    }
}
