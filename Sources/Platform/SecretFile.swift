// Reading a file that holds a secret (a private key, a passphrase) together with who else may read it.
//
// The mode and owner come from fstat(2) on the descriptor the bytes are read from, so they describe the file that was
// read, not whatever a path names a moment later (a rename or a symbolic link swapped between a stat and an open).
// The bytes go from the kernel into one buffer that is zeroed and freed when `body` returns: the caller copies what it
// keeps into its own zeroing storage (Protocol's SecretBytes), and no Swift array ever holds the secret.
//
// What counts as too open is each caller's policy (ferryd refuses, ferry warns); this file only reports the facts,
// and says them the way `ls -l` and chmod(1) do ("mode 0644", "group and others").
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The permission bits and owner of a file, as fstat saw them.
public struct FileOwnership: Equatable, Sendable {
    /// st_mode's permission bits (including setuid, setgid, sticky).
    public let mode: UInt32
    /// st_uid.
    public let owner: UInt32
    /// st_gid.
    public let group: UInt32

    public init(mode: UInt32, owner: UInt32, group: UInt32) {
        self.mode = mode & 0o7777
        self.owner = owner
        self.group = group
    }

    /// Four octal digits, as chmod takes them: "0644".
    public var modeText: String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Whether the group has any permission (read, write or execute).
    public var groupHasAccess: Bool { mode & 0o070 != 0 }
    /// Whether others have any permission.
    public var othersHaveAccess: Bool { mode & 0o007 != 0 }

    /// "its group", "others" or "its group and others": who besides the owner has any permission; nil when nobody
    /// does.
    public var accessBeyondOwner: String? {
        switch (groupHasAccess, othersHaveAccess) {
        case (false, false): nil
        case (true, false): "its group"
        case (false, true): "others"
        case (true, true): "its group and others"
        }
    }
}

public enum SecretFile {
    /// Reads the whole regular file at `path` (at most `limit` bytes) and calls `body` with its contents and its
    /// ownership. The buffer is zeroed before it is freed. Throws when the file cannot be opened or read, is not a
    /// regular file (a FIFO could block, a device never end), or holds more than `limit` bytes.
    public static func read<R>(_ path: String, limit: Int,
                               _ body: (UnsafeRawBufferPointer, FileOwnership) -> R) throws(SmallFileError) -> R {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { throw SmallFileError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { _ = close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw SmallFileError("cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & S_IFMT == S_IFREG else { throw SmallFileError("\(path) is not a regular file") }
        guard Int(status.st_size) <= limit else {
            throw SmallFileError("\(path) is larger than \(limit) bytes: not the file meant")
        }
        let ownership = FileOwnership(mode: UInt32(status.st_mode), owner: UInt32(status.st_uid),
                                      group: UInt32(status.st_gid))
        // One byte more than the limit, so a file that grew since fstat is still caught.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: limit + 1, alignment: 16)
        defer {
            if let base = buffer.baseAddress { explicit_bzero(base, buffer.count) }  // a memset before free may be elided
            buffer.deallocate()
        }
        var filled = 0
        while filled < buffer.count {
            let count = readInto(fd, buffer.baseAddress.map { $0 + filled }, buffer.count - filled)
            if count < 0 {
                if errno == EINTR { continue }
                throw SmallFileError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            filled += count
        }
        guard filled <= limit else { throw SmallFileError("\(path) is larger than \(limit) bytes: not the file meant") }
        return body(UnsafeRawBufferPointer(rebasing: buffer[..<filled]), ownership)
    }
}

/// read(2) under a name the enum's own `read` does not shadow.
private func readInto(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
