// Whether another socket already holds a TCP address, asked before ferryd's workers bind it with SO_REUSEPORT.
//
// On Linux any socket that sets SO_REUSEPORT, under the same effective UID, may bind an address that SO_REUSEPORT
// sockets already hold (socket(7)); the kernel then spreads new connections over all of them. ferryd's workers need
// that to share their port, so by themselves they cannot keep out a second ferryd of the same user, which would start
// without an error and silently take part of the traffic. The probe binds a socket *without* SO_REUSEPORT: the
// kernel refuses it (EADDRINUSE) whenever any socket holds the address, with SO_REUSEPORT or without, under any UID;
// it is closed at once, and only then do the workers bind (none of ours exists yet, so none can be in the way).
//
// The race: a socket bound between the probe's close and the workers' binds (the time it takes to start the worker
// threads, a few milliseconds) is not seen; two daemons started at the same instant on one port can still both
// start. Linux has no option that closes a SO_REUSEPORT group to newcomers once its members are bound, so this is
// the narrowest check a process can make without a lock shared by every program that might bind the port.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

public enum ListenProbe {
    /// Binds `host`:`port` without SO_REUSEPORT and closes the socket. `host` is an IPv4 or IPv6 literal (no
    /// brackets). The socket is set up as libuv sets up the real listener (uv_tcp_bind): SO_REUSEADDR on, so a previous
    /// run's connections in TIME_WAIT do not count as holders, and IPV6_V6ONLY off, so "::" probes the IPv4 side too,
    /// as the listener will take it. Throws the call's errno: EADDRINUSE when another socket holds the address.
    public static func probe(host: String, port: UInt16) throws(SystemError) {
        var storage = sockaddr_storage()
        let length: socklen_t
        let family: Int32
        if host.contains(":") {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { throw SystemError(EINVAL, "inet_pton") }
            withUnsafeBytes(of: address) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            (family, length) = (AF_INET6, socklen_t(MemoryLayout<sockaddr_in6>.size))
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw SystemError(EINVAL, "inet_pton") }
            withUnsafeBytes(of: address) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            (family, length) = (AF_INET, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
        let descriptor = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError.last("socket") }
        defer { close(descriptor) }
        var on: Int32 = 1
        guard setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw SystemError.last("setsockopt(SO_REUSEADDR)")
        }
        if family == AF_INET6 {
            var off: Int32 = 0
            guard setsockopt(descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw SystemError.last("setsockopt(IPV6_V6ONLY)")
            }
        }
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else { throw SystemError.last("bind") }
    }
}
