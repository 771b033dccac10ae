// An IPv4 or IPv6 socket address parsed from a literal, kept in a sockaddr_storage (internal: C types stay here).
internal import CLibUV

struct SocketAddress: Sendable {
    private var storage = sockaddr_storage()

    /// The address family, AF_INET or AF_INET6.
    var family: Int32 { Int32(storage.ss_family) }

    /// Parses "127.0.0.1", "0.0.0.0", "::1", "::" (no brackets, no names): a string containing ':' is IPv6.
    /// A malformed literal throws EINVAL from uv_ip4_addr / uv_ip6_addr.
    init(host: String, port: UInt16) throws(UVError) {
        let rc: Int32
        if host.contains(":") {
            rc = withUnsafeMutableBytes(of: &storage) { raw in
                uv_ip6_addr(host, Int32(port), raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self))
            }
            try uvCheck(rc, "uv_ip6_addr")
        } else {
            rc = withUnsafeMutableBytes(of: &storage) { raw in
                uv_ip4_addr(host, Int32(port), raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self))
            }
            try uvCheck(rc, "uv_ip4_addr")
        }
    }

    /// Copies an IPv4 or IPv6 address getaddrinfo returned; nil for another family.
    init?(sockaddr address: UnsafePointer<sockaddr>) {
        let length: Int
        switch Int32(address.pointee.sa_family) {
        case AF_INET: length = MemoryLayout<sockaddr_in>.size
        case AF_INET6: length = MemoryLayout<sockaddr_in6>.size
        default: return nil
        }
        withUnsafeMutableBytes(of: &storage) { raw in
            raw.baseAddress!.copyMemory(from: UnsafeRawPointer(address), byteCount: length)
        }
    }

    /// Reads the local (getsockname) or peer (getpeername) address of a TCP handle; nil when that fails
    /// (e.g. ENOTCONN).
    init?(tcp: UnsafeMutablePointer<uv_tcp_t>, peer: Bool) {
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutableBytes(of: &storage) { raw in
            let address = raw.baseAddress!.assumingMemoryBound(to: sockaddr.self)
            return peer ? uv_tcp_getpeername(tcp, address, &length) : uv_tcp_getsockname(tcp, address, &length)
        }
        if rc < 0 { return nil }
    }

    /// Calls `body` with the address as `const struct sockaddr *`.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self)) }
    }

    var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            switch family {
            case AF_INET: return UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
            case AF_INET6: return UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
            default: return 0
            }
        }
    }

    /// The numeric host, "127.0.0.1" or "::1" (uv_ip4_name / uv_ip6_name).
    var host: String {
        var buffer = [CChar](repeating: 0, count: 64)  // INET6_ADDRSTRLEN is 46
        let rc: Int32 = withUnsafeBytes(of: storage) { raw in
            switch family {
            case AF_INET:
                return uv_ip4_name(raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self), &buffer, buffer.count)
            case AF_INET6:
                return uv_ip6_name(raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self), &buffer, buffer.count)
            default:
                return UV_EAFNOSUPPORT.rawValue
            }
        }
        return rc == 0 ? buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) } : "?"
    }

    /// The address alone, network order: 4 bytes for IPv4 (an IPv4-mapped IPv6 address counts as IPv4, so one client
    /// has one address whichever socket family it reached), 16 for IPv6; [] for another family.
    var addressBytes: [UInt8] {
        withUnsafeBytes(of: storage) { raw in
            switch family {
            case AF_INET:
                return withUnsafeBytes(of: raw.load(as: sockaddr_in.self).sin_addr) { Array($0) }
            case AF_INET6:
                let bytes = withUnsafeBytes(of: raw.load(as: sockaddr_in6.self).sin6_addr) { Array($0) }
                let mapped = bytes.prefix(10).allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
                return mapped ? Array(bytes[12...]) : bytes
            default:
                return []
            }
        }
    }

    /// "127.0.0.1:54321" or "[::1]:54321".
    var description: String {
        family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
