// One daemon per storage root, unless they all say they share it. A second ferryd on the same root would take the first
// one's partial uploads for its own at start-up (Store.recoverPartials) and, since listeners use SO_REUSEPORT, could even
// share its port without an error: connections would be split between the two silently. So the store holds an
// exclusive flock(2) on `<root>/.ferryd.lock` for its whole life (the kernel drops it when the process dies, however it
// dies: no stale lock after a crash), and a second one refuses to start, naming the first one's PID. Daemons configured
// with `storage.shared` take it shared instead (Store+Sharing.swift): they run beside each other, and neither an
// unshared daemon nor `ferryd reindex` runs beside them. Names starting with "." directly under root are the daemon's
// (NameRules): no client can upload over the lock file.
import Platform

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class StoreLock: Sendable {
    static let fileName = ".ferryd.lock"
    private let descriptor: Int32

    /// Takes the lock or throws at once (never waits); the lock file then holds this process's PID. `root` is the
    /// root's descriptor; the lock file is opened below it without following a link.
    init(root: Int32, rootPath: String, shared: Bool = false) throws(StoreError) {
        let path = rootPath.hasSuffix("/") ? rootPath + Self.fileName : rootPath + "/" + Self.fileName
        let fd: Int32
        do { fd = try DirectoryCalls.openFile(Self.fileName, in: root, flags: O_RDWR | O_CREAT) } catch {
            throw StoreError("cannot open the lock file \(path): \(error.message)")
        }
        guard flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            let reason = errno
            let holder = Self.readPID(fd)
            DirectoryCalls.close(fd)
            guard reason == EWOULDBLOCK else {
                throw StoreError("cannot lock \(path): \(String(cString: strerror(reason)))")
            }
            if shared {
                throw StoreError("a ferryd without storage.shared, or `ferryd reindex`\(holder.map { " (pid \($0))" } ?? ""), "
                    + "is using this storage root (\(path) is locked): stop it, or set storage.shared = true in its "
                    + "configuration too")
            }
            throw StoreError("another ferryd\(holder.map { " (pid \($0))" } ?? " (or several with storage.shared)") is "
                + "using this storage root (\(path) is locked): stop it first, or give this daemon its own storage.root")
        }
        descriptor = fd
        // Shared, no one PID holds it: the file is left empty (a PID there would be stale as soon as its daemon left).
        let text = shared ? [] : Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        if !text.isEmpty { _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
    }

    deinit { DirectoryCalls.close(descriptor) }  // releases the lock (a clean exit; a crash releases it too)

    private static func readPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[..<count], as: UTF8.self).filter { !$0.isWhitespace }
        return Int32(text)
    }
}

/// Why the store cannot open (the daemon does not start): the message names the path and what to do.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
