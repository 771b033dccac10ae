// Reading a directory through its descriptor, and opening a directory several components below another without
// following a link on the way: what walking the store's tree needs (reindex, the settling of intents).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A directory entry: its name as raw bytes (a name need not be UTF-8 on Linux; the caller decides what to do with one
/// that is not) and what readdir says it is (d_type), nil when the file system does not say (DT_UNKNOWN).
public struct DirectoryEntry: Equatable, Sendable {
    public let name: [UInt8]
    public let kind: EntryStatus.Kind?
}

extension DirectoryCalls {
    /// The entries of the open directory `descriptor` (without "." and ".."), read through a duplicate so the
    /// caller's descriptor stays open and unmoved; the errno when it cannot be read.
    public static func entries(of descriptor: Int32) -> Result<[DirectoryEntry], SystemError> {
        let copy = openat(descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard copy >= 0 else { return .failure(.last("openat")) }
        guard let stream = fdopendir(copy) else {
            let error = SystemError.last("fdopendir")
            close(copy)
            return .failure(error)
        }
        defer { closedir(stream) }
        var entries: [DirectoryEntry] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                // NULL is both the end and an error; only errno tells them apart.
                return errno == 0 ? .success(entries) : .failure(.last("readdir"))
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            guard name != [0x2E], name != [0x2E, 0x2E] else { continue }
            let kind: EntryStatus.Kind? = switch Int32(entry.pointee.d_type) {
            case Int32(DT_DIR): .directory
            case Int32(DT_REG): .regular
            case Int32(DT_LNK): .symbolicLink
            case Int32(DT_UNKNOWN): nil
            default: .other
            }
            entries.append(DirectoryEntry(name: name, kind: kind))
        }
    }

    /// The directory `components` below `directory`, no component a symbolic link (ELOOP) and none leaving it:
    /// openat2's RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS in one call, or one O_NOFOLLOW openat per component where the
    /// kernel has no openat2.
    public static func openDirectoryBeneath(_ components: [String], in directory: Int32) throws(SystemError) -> Int32 {
        guard !components.isEmpty else { return try openDirectory(".", in: directory) }
        do {
            return try openBeneath(components.joined(separator: "/"), in: directory, flags: O_RDONLY | O_DIRECTORY)
        } catch where [ENOSYS, EPERM, EAGAIN].contains(error.number) {
            var current = try openDirectory(components[0], in: directory)
            for name in components.dropFirst() {
                let next: Int32
                do { next = try openDirectory(name, in: current) } catch {
                    close(current)
                    throw error
                }
                close(current)
                current = next
            }
            return current
        }
    }
}
