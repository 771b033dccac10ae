// Host names to socket addresses without blocking the loop: uv_getaddrinfo runs getaddrinfo(3) on libuv's thread pool
// and calls back on the loop thread. The addresses come in getaddrinfo's order (RFC 6724 destination address
// selection: with both families, usually IPv6 first), TCP only, duplicates removed; a literal resolves to itself
// without a lookup.
//
//     resolve() ─▶ uv_getaddrinfo ─(pool)─▶ callback: status 0 ─▶ completion(.success(addresses))
//                         │                            status < 0 ─▶ completion(.failure(UV_EAI_*))
//                         └──(sync error)─▶ completion(.failure) from a later loop turn (a zero timer)
internal import CLibUV

public enum AddressResolver {
    /// Resolves `host` for a TCP connection to `port`. The completion runs once, on the loop thread, never inside
    /// `resolve`. A name that does not resolve fails with UV_EAI_NONAME (or UV_EAI_AGAIN when no resolver answers).
    public static func resolve(loop: EventLoop, host: String, port: UInt16,
                               completion: @escaping (Result<[ResolvedAddress], UVError>) -> Void) {
        let request = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
        request.initialize(to: uv_getaddrinfo_t())
        let context = Unmanaged.passRetained(ResolveContext(completion: completion))
        request.pointee.data = context.toOpaque()
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        let rc = uv_getaddrinfo(loop.raw, request, resolverDidFinish, host, "\(port)", &hints)
        guard rc < 0 else { return }
        context.release()
        request.deallocate()
        // Keep the promise of a later callback: a zero-delay timer delivers the failure.
        let timer = LoopTimer(loop: loop)
        timer.start(afterMilliseconds: 0) {
            timer.close()
            completion(.failure(uvError(rc, "uv_getaddrinfo")))
        }
    }
}

/// One address a name resolved to, ready for `TCPConnection.connect(loop:address:)`.
public struct ResolvedAddress: Sendable, Equatable, CustomStringConvertible {
    let socketAddress: SocketAddress
    /// "127.0.0.1:7443" or "[::1]:7443".
    public var description: String { socketAddress.description }
    public var isIPv6: Bool { socketAddress.family == AF_INET6 }

    public static func == (lhs: ResolvedAddress, rhs: ResolvedAddress) -> Bool { lhs.description == rhs.description }
}

private final class ResolveContext {
    let completion: (Result<[ResolvedAddress], UVError>) -> Void
    init(completion: @escaping (Result<[ResolvedAddress], UVError>) -> Void) { self.completion = completion }
}

private func resolverDidFinish(_ request: UnsafeMutablePointer<uv_getaddrinfo_t>?, _ status: Int32,
                               _ list: UnsafeMutablePointer<addrinfo>?) {
    guard let request else { return }
    let context = Unmanaged<ResolveContext>.fromOpaque(request.pointee.data!).takeRetainedValue()
    request.deallocate()
    defer { uv_freeaddrinfo(list) }
    guard status == 0 else { return context.completion(.failure(uvError(status, "uv_getaddrinfo"))) }
    var addresses: [ResolvedAddress] = []
    var entry = list
    while let current = entry {
        if let address = current.pointee.ai_addr, let socketAddress = SocketAddress(sockaddr: address) {
            let resolved = ResolvedAddress(socketAddress: socketAddress)
            if !addresses.contains(resolved) { addresses.append(resolved) }
        }
        entry = current.pointee.ai_next
    }
    guard !addresses.isEmpty else {
        return context.completion(.failure(uvError(UV_EAI_NODATA.rawValue, "uv_getaddrinfo")))
    }
    context.completion(.success(addresses))
}
