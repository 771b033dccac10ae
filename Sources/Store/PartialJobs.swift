// The blocking steps of keeping partial uploads for resume (PartialRecord.swift says what is on disk), each run in a
// thread-pool job like UploadJobs:
//
//   find:        the record of a .part; it resumes when it names the same identity, path and size and the .part
//                holds at least its offset; otherwise both files are removed and the upload starts from 0
//   hashPrefix:  the SHA-256 update of the bytes kept (read back once per resume: the digest at Close covers the whole
//                file, and a SHA-256 state cannot be saved through OpenSSL's EVP interface)
//   checkpoint:  fdatasync the .part, then replace the record with the new offset (data first: a record never claims
//                bytes the disk could lose; without storage.fsync, no fdatasync: see `checkpoint`)
//   remove:      the .part and its record
//
// Every name is in the staging directory, reached through its descriptor without following links.
import Platform
import Protocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum PartialJobs {
    static let recordSuffix = ".resume"

    /// `<stem>.resume` for `<stem>.part`.
    static func recordName(_ partName: String) -> String {
        String(partName.dropLast(NameRules.partSuffix.count)) + recordSuffix
    }

    /// The offset the kept .part of this upload resumes at (a multiple of the direct-I/O block, so O_DIRECT writes stay
    /// aligned), or nil when there is none to resume: a stale or foreign one is removed.
    static func find(_ partName: String, identity: String, path: String, size: UInt64, in staging: Int32) -> UInt64? {
        guard let record = readRecord(recordName(partName), in: staging) else {
            remove(partName, in: staging)
            return nil
        }
        let aligned = record.offset - record.offset % UInt64(BatchPipeline.directAlignment)
        guard record.identity == identity, record.path == path, record.size == size, aligned > 0,
              let part = try? DirectoryCalls.status(of: partName, in: staging), part.kind == .regular,
              part.size >= aligned else {
            remove(partName, in: staging)
            return nil
        }
        return aligned
    }

    /// Feeds the .part's first `length` bytes to `digest`.
    static func hashPrefix(_ partName: String, length: UInt64, in staging: Int32, into digest: DigestContext) -> Result<Void, SystemError> {
        let fd: Int32
        do { fd = try DirectoryCalls.openFile(partName, in: staging, flags: O_RDONLY | O_NOFOLLOW) } catch {
            return .failure(error)
        }
        defer { DirectoryCalls.close(fd) }
        _ = posix_fadvise(fd, 0, off_t(length), POSIX_FADV_SEQUENTIAL)
        let chunk = 1 << 20
        let buffer = IOBuffer(capacity: chunk)
        var offset: UInt64 = 0
        while offset < length {
            let count = Int(min(UInt64(chunk), length - offset))
            switch BlockingFileIO.read(fd: fd, into: buffer, count: count, offset: Int64(offset)) {
            case .failure(let error): return .failure(error)
            case .success(let read) where read < count:
                return .failure(SystemError(EIO, "pread (the partial file is shorter than its record)"))
            case .success:
                buffer.withUnsafeBytes { digest.update($0) }
                offset += UInt64(count)
            }
        }
        return .success(())
    }

    /// Makes the .part's first `offset` bytes durable and records them.
    /// `durable` false (storage.fsync = false): no fdatasync — the record then says what was written, which a killed
    /// process keeps but a power loss may not; a prefix lost that way fails the digest at Close and is dropped, so it
    /// costs a restart from 0, never a wrong file. (One fdatasync costs about as much as the final fsync a durable
    /// upload pays anyway, but it stalls the writes behind it: 25–40% of a 2 GiB upload's time here, for uploads whose
    /// operator chose not to pay for durability.)
    static func checkpoint(_ part: Int32, _ partName: String, _ record: PartialRecord, in staging: Int32,
                           durable: Bool) -> SystemError? {
        if durable {
            do { try DirectoryCalls.syncData(part) } catch { return error }
        }
        return writeRecord(record, for: partName, in: staging)
    }

    /// Writes the record over the old one in place: one pwrite of `PartialRecord.fileLength` bytes at offset 0 of a
    /// file that keeps that size. No rename and no truncation: on ext4 either forces a journal commit (a rename over
    /// a file flushes the new one first), which stalled the upload's writes for up to 1.7 s per checkpoint here; an
    /// overwrite in place allocates nothing after the first. Not synced: a record a crash tore does not parse, and
    /// its partial is dropped at start — resume lost, never wrong bytes offered.
    static func writeRecord(_ record: PartialRecord, for partName: String, in staging: Int32) -> SystemError? {
        do throws(SystemError) {
            let fd = try DirectoryCalls.openFile(recordName(partName), in: staging, flags: O_WRONLY | O_CREAT | O_NOFOLLOW,
                                                 mode: 0o640)
            defer { DirectoryCalls.close(fd) }
            let bytes = record.fileBytes
            let written = bytes.withUnsafeBytes { BlockingFileIO.write(fd: fd, $0, offset: 0) }
            if case .failure(let error) = written { throw error }
            return nil
        } catch {
            return error
        }
    }

    static func readRecord(_ name: String, in staging: Int32) -> PartialRecord? {
        guard let fd = try? DirectoryCalls.openFile(name, in: staging, flags: O_RDONLY | O_NOFOLLOW) else { return nil }
        defer { DirectoryCalls.close(fd) }
        let buffer = IOBuffer(capacity: PartialRecord.maximumLength + 1)
        guard case .success(let count) = BlockingFileIO.read(fd: fd, into: buffer, count: buffer.capacity, offset: 0),
              count <= PartialRecord.maximumLength else { return nil }
        return buffer.withUnsafeBytes { PartialRecord.decode(Array($0)[...]) }
    }

    /// Removes a .part and its record (either may be missing).
    static func remove(_ partName: String, in staging: Int32) {
        try? DirectoryCalls.removeFile(partName, in: staging)
        try? DirectoryCalls.removeFile(recordName(partName), in: staging)
    }
}
