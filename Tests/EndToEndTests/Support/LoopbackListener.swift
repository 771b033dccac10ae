// What the in-process test servers (RawServer, CuttingProxy) share: a listening socket on 127.0.0.1 (an ephemeral
// port) and a wake pipe, both close-on-exec so a `ferry` or `ferryd` child inherits neither.
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

struct LoopbackListener {
    let descriptor: Int32
    let port: UInt16
    /// Writing a byte to `wake.write` makes `wake.read` readable: how `finish`/`stop` reach a thread blocked in poll.
    let wake: (read: Int32, write: Int32)

    init(backlog: Int32) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, backlog) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        var pipeEnds: [Int32] = [-1, -1]
        guard listening, pipe(&pipeEnds) == 0, fcntl(pipeEnds[0], F_SETFD, FD_CLOEXEC) == 0,
              fcntl(pipeEnds[1], F_SETFD, FD_CLOEXEC) == 0 else {
            let error = errno
            close(fd)
            for end in pipeEnds where end >= 0 { close(end) }
            throw TestError("listening on 127.0.0.1: errno \(error)")
        }
        descriptor = fd
        wake = (pipeEnds[0], pipeEnds[1])
        port = UInt16(bigEndian: address.sin_port)
    }
}
