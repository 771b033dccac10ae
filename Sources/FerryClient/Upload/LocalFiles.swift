// What the upload plan asks of the local disk, with every failure kept as the system's reason: what a path is
// (stat, following links), whether a regular file can be opened for reading, and a directory's names. Blocking calls,
// made once before the upload starts.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Platform

enum LocalFiles {
    /// What a path is once symbolic links are followed.
    enum Kind: Equatable {
        case regular(size: UInt64)
        case directory
        /// A FIFO, socket or device, named for the message: nothing to read a file's bytes from.
        case special(String)
    }

    /// stat(2): what `path` is, following links; the errno when nothing can be reached there (ENOENT also for a
    /// broken link, ELOOP for a loop of links, EACCES for a directory on the way that cannot be searched).
    static func kind(of path: String) -> Result<Kind, SystemError> {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(.last("stat")) }
        return .success(Kind(info))
    }

    /// True when `path` is itself a symbolic link (lstat), to tell a broken link from a missing path.
    static func isSymbolicLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    /// Opens `path` for reading and closes it again: the check that the upload's own open will not be refused (by
    /// permissions, or a file system that says EIO), so an unreadable file fails before anything is sent for it.
    /// O_NONBLOCK: a FIFO put where the file was since stat would otherwise block here. Returns what fstat sees.
    static func openable(_ path: String) -> Result<Kind, SystemError> {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return .failure(.last("open")) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.last("fstat")) }
        return .success(Kind(info))
    }

    /// A directory's entries (without "." and ".."), with what readdir says each is (a link or an unsaid kind is
    /// for stat to tell); the errno when the directory cannot be opened or read.
    static func entries(in path: String) -> Result<[DirectoryEntry], SystemError> {
        let descriptor: Int32
        do { descriptor = try DirectoryCalls.openDirectory(path: path) } catch { return .failure(error) }
        defer { DirectoryCalls.close(descriptor) }
        return DirectoryCalls.entries(of: descriptor)
    }
}

extension LocalFiles.Kind {
    init(_ info: stat) {
        switch info.st_mode & S_IFMT {
        case S_IFREG: self = .regular(size: UInt64(info.st_size))
        case S_IFDIR: self = .directory
        case S_IFIFO: self = .special("a FIFO")
        case S_IFSOCK: self = .special("a socket")
        case S_IFCHR: self = .special("a character device")
        case S_IFBLK: self = .special("a block device")
        default: self = .special("an unknown kind of file")
        }
    }
}

extension SystemError {
    /// strerror's text as a reason inside a sentence: "permission denied", "no such file or directory".
    var reason: String {
        guard let first = message.first else { return name }
        return first.lowercased() + message.dropFirst()
    }
}
