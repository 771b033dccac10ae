// One daemon per storage root. A second ferryd on the same root would delete the first one's partial uploads at
// start-up (main.swift removes every stale .part) and, since listeners use SO_REUSEPORT, could even share its port
// without an error: connections would be split between the two silently. So the daemon holds an exclusive flock(2)
// on `<root>/.ferryd.lock` for its whole life (the kernel drops it when the process dies, however it dies:
// no stale lock after a crash), and a second one refuses to start, naming the first one's PID. Names starting with "."
// directly under root are the daemon's (StoragePaths): no client can upload over the lock file.
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct StorageLockError: Error, CustomStringConvertible {
    let description: String
}

final class StorageLock {
    static let fileName = ".ferryd.lock"
    private let descriptor: Int32

    /// Takes the lock or throws at once (never waits); the lock file then holds this process's PID.
    init(root: URL) throws {
        let path = root.appendingPathComponent(Self.fileName).path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else {
            throw StorageLockError(description: "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            let holder = Self.readPID(fd)
            close(fd)
            guard reason == EWOULDBLOCK else {
                throw StorageLockError(description: "cannot lock \(path): \(String(cString: strerror(reason)))")
            }
            throw StorageLockError(description: "another ferryd\(holder.map { " (pid \($0))" } ?? "") is using this "
                + "storage root (\(path) is locked): stop it first, or give this daemon its own storage.root")
        }
        descriptor = fd
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit { close(descriptor) }  // releases the lock (a clean exit; a crash releases it too)

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
