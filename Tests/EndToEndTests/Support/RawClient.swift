// An in-process Ferry client over a plain blocking POSIX socket, for what the `ferry` CLI cannot produce (a wrong
// digest in Close). Protocol.ClientConnection is sans-I/O: we move its output to the socket and the socket's bytes into
// it, and read its events. Every wait is bounded by poll(2) timeouts.
import Foundation
@testable import Protocol
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class RawClient {
    private let fd: Int32
    private var connection: ClientConnection
    /// The server closed the connection, or sent an Alert (after which it closes).
    private(set) var closedByServer = false
    /// The Alert the server sent, if any (e.g. `closed` with reason "idle timeout").
    private(set) var alertFromServer: ProtocolError?

    static func now() -> Now {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Now(monotonicNanoseconds: UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec),
                   unixSeconds: Int64(time(nil)))
    }

    /// Connects to 127.0.0.1:`port` and sends the ClientHello (offering only `groups` when given).
    init(port: UInt16, client: ClientCredentials, groups: [KeyExchangeGroup]? = nil) throws {
        let identity = try Identity(chainPEM: [UInt8](try Data(contentsOf: client.certificate)),
                                    keyPEM: [UInt8](try Data(contentsOf: client.key)))
        let trust = try TrustStore(pemBundle: [UInt8](try Data(contentsOf: client.ca)))
        var configuration = ClientConfiguration(identity: identity, serverTrust: trust, serverName: "127.0.0.1")
        if let groups { configuration.preferences.groups = groups }
        connection = try ClientConnection(configuration: configuration)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket: errno \(errno)") }
        var address = inetAddress("127.0.0.1", port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestError("connect to 127.0.0.1:\(port): errno \(errno)")
        }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)  // a send that blocks this long fails instead of hanging
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        try flush()
    }

    deinit { close(fd) }

    /// Sends whatever the protocol has queued.
    func flush() throws {
        let output = connection.takeOutput()
        var sent = 0
        while sent < output.count {
            let count = output.withUnsafeBytes { raw in
                send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw TestError("send: errno \(errno)")
            }
            sent += count
        }
    }

    /// The next protocol event, reading from the socket as needed, within `timeout` seconds.
    func nextEvent(timeout: Double = 10) throws -> ClientEvent {
        let deadline = monotonicSeconds() + timeout
        while true {
            let event: ClientEvent?
            do {
                event = try connection.nextEvent(now: Self.now())
            } catch {
                if error.origin == .peer {
                    alertFromServer = error
                    closedByServer = true
                    throw TestError("the server sent an alert: \(error.alert.name) (\(error.detail))")
                }
                try? flush()
                throw TestError("protocol error: \(error.alert.name) (\(error.detail))")
            }
            try flush()  // e.g. rotation answers, or the Abort that answers an UploadError while sending
            if let event { return event }
            let remaining = deadline - monotonicSeconds()
            guard remaining > 0 else { throw TestError("no event from the server within \(timeout) s") }
            var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(remaining, 1) * 1000) + 1)
            if ready < 0, errno != EINTR { throw TestError("poll: errno \(errno)") }
            guard ready > 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw TestError("recv: errno \(errno)")
            }
            if count == 0 {
                closedByServer = true
                throw TestError("the server closed the connection")
            }
            buffer.withUnsafeBytes { connection.receive(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    /// Seals a message of any type, bypassing the client's state machine (a misbehaving client), and sends it unless
    /// `send` is false (then `flush` sends what accumulated). Returns false when the socket would not take it within
    /// its send timeout (the server stopped reading).
    @discardableResult
    func inject(_ type: MessageType, _ body: [UInt8], send: Bool = true) -> Bool {
        connection.injectRawForTesting(typeByte: type.rawValue, body: body)
        guard send else { return true }
        return (try? flush()) != nil
    }

    /// An Open's body for `request` (what `inject(.open, …)` sends).
    static func openBody(_ request: UploadRequest) -> [UInt8] {
        var encoder = WireEncoder()
        request.encode(into: &encoder)
        return encoder.bytes
    }

    /// Sets the socket's send timeout (how long `flush` may block on a server that does not read).
    func setSendTimeout(seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Waits for the handshake to complete.
    func handshake() throws -> SessionParameters {
        let event = try nextEvent()
        guard case .handshakeCompleted(let parameters) = event else { throw TestError("expected the handshake, got \(event)") }
        return parameters
    }

    /// Open + Data…; returns the event that answered Open if it was not Accepted (a refusal).
    func open(_ path: String, size: UInt64) throws -> ClientEvent {
        precondition(connection.canStartUpload, "an upload is still in progress")
        connection.startUpload(UploadRequest(path: path, size: size), now: Self.now())
        try flush()
        return try nextEvent()
    }

    /// Sends the whole file as Data records (at most the server's max_data_chunk each).
    func sendData(_ bytes: [UInt8]) throws {
        let chunk = connection.maxDataChunk
        var start = 0
        while start < bytes.count {
            let end = min(start + chunk, bytes.count)
            bytes.withUnsafeBytes { connection.sendData(UnsafeRawBufferPointer(rebasing: $0[start..<end]), now: Self.now()) }
            try flush()
            start = end
        }
    }

    /// Close with `digest` (right or wrong) and the server's answer.
    func finish(digest: [UInt8]) throws -> ClientEvent {
        connection.finishUpload(digest: digest, now: Self.now())
        try flush()
        return try nextEvent()
    }

    /// A whole upload with the right digest: the final event (Committed, or UploadError).
    func upload(_ path: String, _ bytes: [UInt8]) throws -> ClientEvent {
        let answer = try open(path, size: UInt64(bytes.count))
        guard case .uploadAccepted = answer else { return answer }
        try sendData(bytes)
        return try finish(digest: DigestContext.hash(.sha256, bytes))
    }

    var canStartUpload: Bool { connection.canStartUpload }

    func goodbye() throws {
        connection.goodbye(now: Self.now())
        try flush()
    }
}
