// Reading a whole small file (certificates, keys, CRLs, configuration) with a bound checked while reading, so that a
// wrong path (a disk image, /dev/zero) is refused before it fills memory.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public enum SmallFile {
    /// The file's bytes; throws when it cannot be opened or read, or holds more than `limit` bytes.
    public static func read(_ path: String, limit: Int) throws(SmallFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SmallFileError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { _ = close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        defer { chunk.withUnsafeMutableBytes { if let base = $0.baseAddress { _ = memset(base, 0, $0.count) } } }
        while true {
            let count = chunk.withUnsafeMutableBytes { readSome(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SmallFileError("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk.prefix(count))
            guard bytes.count <= limit else { throw SmallFileError("\(path) is larger than \(limit) bytes: not the file meant") }
        }
    }
}

/// read(2) under a name the enum's own `read` does not shadow.
private func readSome(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }

public struct SmallFileError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
