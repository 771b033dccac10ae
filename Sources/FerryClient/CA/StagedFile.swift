// Writing key and certificate files so that no one can read a key through a mode race, a planted symlink or a
// half-written file.
//
// - Each file is first written under a temporary name beside its final path, created with open(O_CREAT | O_EXCL |
//   O_NOFOLLOW) and its final mode, so the inode is ours, new, and never more permissive than the mode (the umask can
//   only narrow it). There is no chmod afterwards: a key file is 0600 from its first byte.
// - The data is fsync'd, then the file is moved into place by `commit`: link(2) when an existing file must not be
//   replaced (it fails with EEXIST, atomically, instead of overwriting), rename(2) when it may be. Readers see the old
//   file or the complete new one, never a prefix.
// - When a command writes two files (key and certificate), both are staged before either is committed, so a failure
//   while generating or writing leaves nothing behind.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct StagedFile {
    let finalPath: String
    let temporaryPath: String

    /// Creates the temporary file beside `finalPath` with exactly `mode` when the umask allows it (it may only remove
    /// bits), writes `bytes` and fsyncs them. `exactMode` additionally fchmods the new, still empty file to `mode`: for
    /// certificates, which are public and should be 0644 even under a umask of 077. Key files never set it.
    static func stage(_ bytes: UnsafeRawBufferPointer, at finalPath: String, mode: mode_t,
                      exactMode: Bool = false) throws(CAError) -> StagedFile {
        let directory = parentDirectory(of: finalPath)
        let base = String(finalPath.split(separator: "/").last ?? "")
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let temporaryPath = directory + "/." + base + ".tmp-" + suffix
        let fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw CAError.io("cannot create", temporaryPath, errno: errno) }
        let staged = StagedFile(finalPath: finalPath, temporaryPath: temporaryPath)
        do throws(CAError) {
            defer { _ = close(fd) }  // after fsync, close can no longer lose data; its result is not needed
            if exactMode, fchmod(fd, mode) != 0 { throw CAError.io("cannot set the mode of", temporaryPath, errno: errno) }
            try writeAll(fd, bytes, path: temporaryPath)
            if fsync(fd) != 0 { throw CAError.io("cannot sync", temporaryPath, errno: errno) }
        } catch {
            staged.discard()
            throw error
        }
        return staged
    }

    /// `stage` for an array.
    static func stage(_ bytes: [UInt8], at finalPath: String, mode: mode_t,
                      exactMode: Bool = false) throws(CAError) -> StagedFile {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(CAError) in try stage(buffer, at: finalPath, mode: mode, exactMode: exactMode) }
        }
        return try result.get()
    }

    /// Moves the file into place. Without `replacing`, an existing file at `finalPath` is left untouched and the
    /// call throws `.alreadyExists`.
    func commit(replacing: Bool) throws(CAError) {
        if replacing {
            guard rename(temporaryPath, finalPath) == 0 else {
                let code = errno
                discard()
                throw CAError.io("cannot rename into place", finalPath, errno: code)
            }
        } else {
            if link(temporaryPath, finalPath) != 0 {
                let code = errno
                guard code != EEXIST else {
                    discard()
                    throw CAError(.alreadyExists, "\(finalPath) already exists (pass --force to replace it)")
                }
                // File systems without hard links (FAT, some FUSE mounts): check, then rename. Not atomic against a
                // concurrent writer, which the link path is, but no worse than what `openssl` itself does.
                var status = stat()
                guard lstat(finalPath, &status) != 0, errno == ENOENT else {
                    discard()
                    throw CAError(.alreadyExists, "\(finalPath) already exists (pass --force to replace it)")
                }
                guard rename(temporaryPath, finalPath) == 0 else {
                    let renameError = errno
                    discard()
                    throw CAError.io("cannot move into place", finalPath, errno: renameError)
                }
            } else {
                discard()  // the data now lives under finalPath too; drop the temporary name
            }
        }
        syncDirectory(parentDirectory(of: finalPath))
    }

    /// Removes the temporary file (best effort: the only failure worth reporting already happened).
    func discard() { _ = unlink(temporaryPath) }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(CAError) {
        guard var next = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = write(fd, next, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw CAError.io("cannot write", path, errno: errno)
            }
            next += written
            remaining -= written
        }
    }
}

/// "dir/file" → "dir", "file" → ".", "/file" → "/".
func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// fsyncs a directory so that a rename or link in it survives a crash. Best effort: some file systems refuse.
private func syncDirectory(_ path: String) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    _ = fsync(fd)
    _ = close(fd)
}

/// Reads a whole regular file of at most `limit` bytes.
func readSmallFile(_ path: String, limit: Int, missing: CAError.Kind = .invalidCA) throws(CAError) -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        let code = errno
        throw CAError(code == ENOENT ? missing : .io, "cannot open \(path): \(String(cString: strerror(code)))")
    }
    defer { _ = close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            throw CAError.io("cannot read", path, errno: errno)
        }
        if count == 0 { break }
        bytes.append(contentsOf: chunk.prefix(count))
        guard bytes.count <= limit else { throw CAError(.invalidCA, "\(path): larger than \(limit) bytes") }
    }
    zeroize(&chunk)  // the chunk may hold key bytes
    return bytes
}

/// Overwrites `bytes` with zeros (for buffers that held key material). memset through an opaque C call is not
/// optimised away.
func zeroize(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { buffer in
        if let base = buffer.baseAddress { _ = memset(base, 0, buffer.count) }
    }
}
