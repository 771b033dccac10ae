// Local paths for `ferry get`, by their bytes: the directory part, a name inside a directory, and `mkdir -p` with
// errors that name the path and say why. Not NSString's path methods: `deletingLastPathComponent` traps on a
// one-character string in this toolchain's swift-corelibs-foundation (`ferry get a.txt x` crashed), and
// FileManager's errors reach the user as NSCocoaErrorDomain dumps.
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum LocalPath {
    /// The directory part of `path`: "" for a bare name, "/" for a name in the root, else everything before the last
    /// "/" (trailing slashes aside).
    static func parent(of path: String) -> String {
        var bytes = Array(path.utf8)
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "" }
        var end = slash
        while end > 0, bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
        return end == 0 ? "/" : String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// `name` inside `directory` ("" for the current one), with one "/" between.
    static func appending(_ name: String, to directory: String) -> String {
        if directory.isEmpty { return name }
        return directory.utf8.last == UInt8(ascii: "/") ? directory + name : directory + "/" + name
    }

    /// The non-empty components of `path`, split at the byte "/" — as the kernel splits it; Swift's Character "/"
    /// misses one followed by a combining mark.
    static func components(_ path: String) -> [String] {
        path.utf8.split(separator: UInt8(ascii: "/")).map { String(decoding: $0, as: UTF8.self) }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Makes `path` and every missing directory above it (mode 0777 less the umask, as mkdir -p). A component that
    /// exists must be a directory (or a link to one: the part of the path the user typed may go through links).
    static func makeDirectories(_ path: String) throws {
        guard !path.isEmpty else { return }
        var prefix = path.utf8.first == UInt8(ascii: "/") ? "/" : ""
        for component in components(path) {
            prefix += (prefix.isEmpty || prefix.utf8.last == UInt8(ascii: "/") ? "" : "/") + component
            var info = stat()
            if stat(prefix, &info) == 0 {
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    throw Failure(description: "\(prefix) is not a directory: move it away, or get to another place")
                }
                continue
            }
            if mkdir(prefix, 0o777) != 0, errno != EEXIST {
                throw Failure(description: "cannot make the directory \(prefix): \(String(cString: strerror(errno)))")
            }
        }
    }
}
