// The `*at` system calls, relative to an open directory: how the storage reaches everything below its root without a
// path that the kernel could resolve through a symbolic link (issue #14). Blocking: call them on a thread-pool thread.
// Each retries EINTR and throws the call's errno as a SystemError; none follows a symbolic link in the last component.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CPlatform

public enum DirectoryCalls {
    /// Opens the directory `name` directly inside `directory` (a single component): O_DIRECTORY | O_NOFOLLOW, so a
    /// symbolic link fails with ELOOP and anything else that is not a directory with ENOTDIR.
    public static func openDirectory(_ name: String, in directory: Int32) throws(SystemError) -> Int32 {
        try retrying("openat") { openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
    }

    /// Opens a directory by path (the storage root itself, which the operator chose: links on its way are followed).
    public static func openDirectory(path: String) throws(SystemError) -> Int32 {
        try retrying("open") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    }

    /// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS: `path` (several components) resolved strictly below
    /// `directory` with no symbolic link anywhere on the way (ELOOP for one, EXDEV for an escape). ENOSYS where the
    /// kernel has no openat2 (before Linux 5.6) or a seccomp filter hides it: the caller walks component by component.
    public static func openBeneath(_ path: String, in directory: Int32, flags: Int32, mode: UInt32 = 0) throws(SystemError) -> Int32 {
        #if os(Linux)
        let resolve = cplatform_resolve_beneath() | cplatform_resolve_no_symlinks()
        return try retrying("openat2") {
            cplatform_openat2(directory, path, UInt64(UInt32(bitPattern: flags | O_CLOEXEC)), UInt64(mode), resolve)
        }
        #else
        throw SystemError(ENOSYS, "openat2")
        #endif
    }

    /// Opens (or creates, with O_CREAT in `flags`) the file `name` inside `directory`; O_NOFOLLOW is always added.
    public static func openFile(_ name: String, in directory: Int32, flags: Int32, mode: UInt32 = 0o640) throws(SystemError) -> Int32 {
        try retrying("openat") { openat(directory, name, flags | O_NOFOLLOW | O_CLOEXEC, mode_t(mode)) }
    }

    /// Whether this process may create entries in `directory` (write and search permission, by the effective ids,
    /// as the kernel will decide at link time): EACCES, EROFS… otherwise.
    public static func checkWritable(_ directory: Int32) throws(SystemError) {
        _ = try retrying("faccessat") { faccessat(directory, ".", W_OK | X_OK, AT_EACCESS) }
    }

    /// Sets the open file's modification time (futimens); its access time is left as it is.
    public static func setModificationTime(_ descriptor: Int32, seconds: Int64, nanoseconds: Int) throws(SystemError) {
        // UTIME_OMIT, ((1l << 30) - 2l) in <bits/stat.h> (Linux's value): a macro Swift does not import.
        let omit = (1 << 30) - 2
        var times = [timespec(tv_sec: 0, tv_nsec: omit), timespec(tv_sec: Int(seconds), tv_nsec: nanoseconds)]
        _ = try retrying("futimens") { futimens(descriptor, &times) }
    }

    /// Sets the open file's permission bits (fchmod).
    public static func setMode(_ descriptor: Int32, _ mode: UInt32) throws(SystemError) {
        _ = try retrying("fchmod") { fchmod(descriptor, mode_t(mode)) }
    }

    public static func makeDirectory(_ name: String, in directory: Int32, mode: UInt32 = 0o750) throws(SystemError) {
        _ = try retrying("mkdirat") { mkdirat(directory, name, mode_t(mode)) }
    }

    /// What `name` inside `directory` is, without following it; nil when there is nothing by that name.
    public static func status(of name: String, in directory: Int32) throws(SystemError) -> EntryStatus? {
        var info = stat()
        do {
            _ = try retrying("fstatat") { fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) }
        } catch where error.number == ENOENT {
            return nil
        }
        return EntryStatus(info)
    }

    public static func status(of descriptor: Int32) throws(SystemError) -> EntryStatus {
        var info = stat()
        _ = try retrying("fstat") { fstat(descriptor, &info) }
        return EntryStatus(info)
    }

    /// A new name for an existing file; EEXIST if `newName` exists (whatever it is: a link there is not followed).
    public static func link(_ name: String, in directory: Int32, as newName: String, in newDirectory: Int32) throws(SystemError) {
        _ = try retrying("linkat") { linkat(directory, name, newDirectory, newName, 0) }
    }

    /// O_TMPFILE: `__O_TMPFILE | O_DIRECTORY` in <bits/fcntl-linux.h> (020000000 | 0200000 on x86-64 and arm64), a
    /// macro Swift does not import.
    static let temporaryFileFlag: Int32 = 0o20000000 | O_DIRECTORY

    /// An unnamed regular file in `directory` (open(2) with O_TMPFILE), open for writing: it has no name until
    /// `linkAnonymous` gives it one, and is gone with its last descriptor, so a crash leaves nothing behind. Fails with
    /// EOPNOTSUPP (EISDIR or EINVAL on older kernels) where the file system cannot make one.
    public static func openAnonymousFile(in directory: Int32, mode: UInt32 = 0o640) throws(SystemError) -> Int32 {
        try retrying("openat") { openat(directory, ".", temporaryFileFlag | O_WRONLY | O_CLOEXEC, mode_t(mode)) }
    }

    /// Names the unnamed file `descriptor` (from `openAnonymousFile`) `newName` in `newDirectory`: linkat of
    /// /proc/self/fd/N with AT_SYMLINK_FOLLOW, the way open(2) documents for O_TMPFILE without CAP_DAC_READ_SEARCH
    /// (the magic link names the open file itself; the new name is made in `newDirectory` without following
    /// anything). EEXIST when the name exists; ENOENT when /proc is not mounted.
    public static func linkAnonymous(_ descriptor: Int32, as newName: String, in newDirectory: Int32) throws(SystemError) {
        _ = try retrying("linkat") { linkat(AT_FDCWD, "/proc/self/fd/\(descriptor)", newDirectory, newName, AT_SYMLINK_FOLLOW) }
    }

    /// Moves `name` to `newName`, replacing what is there (a symbolic link there is replaced, not followed).
    public static func rename(_ name: String, in directory: Int32, to newName: String, in newDirectory: Int32) throws(SystemError) {
        _ = try retrying("renameat") { renameat(directory, name, newDirectory, newName) }
    }

    /// Moves `name` to `newName` only if nothing has that name (renameat2 RENAME_NOREPLACE): EEXIST otherwise, whatever
    /// is there; EINVAL or ENOSYS where the file system or the kernel cannot.
    public static func renameWithoutReplacing(_ name: String, in directory: Int32, to newName: String,
                                              in newDirectory: Int32) throws(SystemError) {
        _ = try retrying("renameat2") { cplatform_rename_noreplace(directory, name, newDirectory, newName) }
    }

    public static func removeFile(_ name: String, in directory: Int32) throws(SystemError) {
        _ = try retrying("unlinkat") { unlinkat(directory, name, 0) }
    }

    /// Removes an empty directory; ENOTEMPTY (or EEXIST) when it holds anything.
    public static func removeDirectory(_ name: String, in directory: Int32) throws(SystemError) {
        _ = try retrying("unlinkat") { unlinkat(directory, name, AT_REMOVEDIR) }
    }

    /// fsync(2): the file's data and metadata (for a directory, its entries) are on stable storage.
    public static func sync(_ descriptor: Int32) throws(SystemError) {
        _ = try retrying("fsync") { fsync(descriptor) }
    }

    /// fdatasync(2): the file's data (and the metadata needed to read it back, such as its size) is on stable storage.
    public static func syncData(_ descriptor: Int32) throws(SystemError) {
        _ = try retrying("fdatasync") { fdatasync(descriptor) }
    }

    /// The file system's space available to unprivileged users (statvfs f_bavail × f_frsize), in bytes.
    public static func availableSpace(_ descriptor: Int32) throws(SystemError) -> UInt64 {
        var info = statvfs()
        _ = try retrying("fstatvfs") { fstatvfs(descriptor, &info) }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    /// close(2). Not retried on EINTR: on Linux the descriptor is released even then, and a retry could close another.
    public static func close(_ descriptor: Int32) {
        _ = Glibc.close(descriptor)
    }

    /// Runs `call` until it does not fail with EINTR; a negative result throws errno.
    private static func retrying(_ function: String, _ call: () -> Int32) throws(SystemError) -> Int32 {
        while true {
            let result = call()
            if result >= 0 { return result }
            if errno == EINTR { continue }
            throw SystemError.last(function)
        }
    }
}

/// What fstatat/fstat say of a directory entry, in the terms the storage needs.
public struct EntryStatus: Equatable, Sendable {
    public enum Kind: Sendable { case regular, directory, symbolicLink, other }
    public let kind: Kind
    public let size: UInt64
    /// (st_dev, st_ino): the identity of the file, whatever its names.
    public let device: UInt64
    public let inode: UInt64
    public let linkCount: UInt64
    /// Last modification, seconds since the epoch, and the nanoseconds past that second.
    public let modifiedSeconds: Int64
    public let modifiedNanoseconds: UInt32
    /// The permission bits (rwx for user, group, others; setuid and the rest left out).
    public let permissions: UInt32

    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        size = UInt64(max(0, info.st_size))
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        linkCount = UInt64(info.st_nlink)
        modifiedSeconds = Int64(info.st_mtim.tv_sec)
        modifiedNanoseconds = UInt32(clamping: max(0, info.st_mtim.tv_nsec))
        permissions = UInt32(info.st_mode) & 0o777
    }
}
