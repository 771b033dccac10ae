// An IPv4 socket address for the raw sockets some tests open themselves (a misbehaving client, a flood).
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `host` (an IPv4 literal) and `port` as a sockaddr_in.
func inetAddress(_ host: String, port: UInt16 = 0) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr(host)
    return address
}
