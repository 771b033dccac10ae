// Never store a file the user did not have (issue #15, point 6). The client fstats the descriptor it reads from when
// it opens the file and again after its last read, before Close, and compares: the file's identity (st_dev, st_ino),
// size, and change and modification times to the nanosecond — the check tar ("file changed as we read it") and rsync
// make. An append or a truncation changes the size; a write in place changes st_mtim and st_ctim; another file renamed
// over the path changes the identity the next time it is opened (a retry compares with the first attempt's
// fingerprint). Any difference fails the file and Abort is sent instead of Close, so the server commits nothing: a
// success line with the digest of a mix of two versions is never printed.
//
// The times are compared whole (seconds and nanoseconds). On a file system with coarse timestamps a write within the
// same tick could go unseen; the size still catches appends and truncations. That is the limit tar and rsync share.
import Platform
import Protocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct SourceFingerprint: Equatable, Sendable {
    struct Time: Equatable, Sendable {
        var seconds: Int64
        var nanoseconds: Int64
    }

    var device: UInt64
    var inode: UInt64
    var size: UInt64
    var changed: Time
    var modified: Time
    /// Any of the execute bits (st_mode & 0o111): carried to the server with the modification time (FileTimes).
    var executable = false

    /// fstat(2) of `fd`. Blocking (a network file system may take a while): call it on the thread pool.
    static func of(fd: Int32) -> Result<SourceFingerprint, SystemError> {
        var status = stat()
        while fstat(fd, &status) != 0 {
            guard errno == EINTR else { return .failure(SystemError.last("fstat")) }
        }
        return .success(SourceFingerprint(
            device: UInt64(status.st_dev), inode: UInt64(status.st_ino), size: UInt64(max(status.st_size, 0)),
            changed: Time(seconds: Int64(status.st_ctim.tv_sec), nanoseconds: Int64(status.st_ctim.tv_nsec)),
            modified: Time(seconds: Int64(status.st_mtim.tv_sec), nanoseconds: Int64(status.st_mtim.tv_nsec)),
            executable: status.st_mode & 0o111 != 0))
    }

    /// What the server is told of the file at Close when file_times was agreed (PROTOCOL.md §8.9): the modification
    /// time of the bytes sent (the same before and after the last read, or the file fails) and the execute bit.
    var times: FileTimes {
        FileTimes(modificationSeconds: modified.seconds,
                  modificationNanoseconds: UInt32(clamping: min(max(modified.nanoseconds, 0), 999_999_999)),
                  executable: executable)
    }

    /// What differs from `earlier`, in words, or nil when nothing does.
    func change(since earlier: SourceFingerprint) -> String? {
        if device != earlier.device || inode != earlier.inode { return "another file is now at its path" }
        if size != earlier.size { return "its size went from \(earlier.size) to \(size) bytes" }
        if modified != earlier.modified { return "it was modified" }
        if changed != earlier.changed { return "its status changed" }
        return nil
    }

    /// What differs from the size the upload plan recorded (and declared in Open), or nil.
    func change(sincePlannedSize planned: UInt64) -> String? {
        size == planned ? nil : "its size went from \(planned) to \(size) bytes"
    }

    /// The first fstat of an opened source: its fingerprint, or why the file fails — it cannot be stat-ed, its size
    /// is not the plan's, or it is not the file an earlier attempt sent (`earlier`). Blocking: on the thread pool.
    static func checkOpened(fd: Int32, path: String, plannedSize: UInt64,
                            earlier: SourceFingerprint?) -> Result<SourceFingerprint, SourceProblem> {
        switch of(fd: fd) {
        case .failure(let error):
            return .failure(SourceProblem("cannot stat \(path): \(error.message)"))
        case .success(let found):
            if let change = found.change(sincePlannedSize: plannedSize) ?? earlier.flatMap(found.change(since:)) {
                return .failure(SourceProblem(changedMessage(path, change)))
            }
            return .success(found)
        }
    }

    /// The message a changed file fails with.
    static func changedMessage(_ path: String, _ detail: String) -> String {
        "\(path) changed while it was being uploaded (\(detail))"
    }
}
