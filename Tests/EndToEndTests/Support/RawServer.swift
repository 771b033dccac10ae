// An in-process Ferry server over a plain blocking POSIX socket, for what ferryd never does: answer Open with
// Accepted(offset > 0), as a server that already holds the file's first `offset` bytes would (PROTOCOL.md §8.3).
// The mirror of RawClient: Protocol.ServerConnection is sans-I/O, so we move the socket's bytes into it and its output
// to the socket, and act on its events the way Daemon's SessionDriver does (accept on Open, commit or fail on Close).
//
// One connection on one background thread. Every wait is a poll(2) bounded by the deadline, and the thread ends on its
// own: on the client's Goodbye or close, on a protocol error, at the deadline, or when `finish` says nothing more
// will come.
import Foundation
import Protocol
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class RawServer: @unchecked Sendable {  // `observed` is shared with the thread under `lock`
    /// What a scripted server does with each Open, in order (`script:`): a server failing at every point it can.
    enum Step: Sendable {
        /// UploadError before Accepted.
        case refuse(UploadErrorCode)
        /// Accepted, then UploadError once this many Data bytes arrived (the client answers with Abort).
        case failAfter(UInt64, UploadErrorCode)
        /// Accepted, every byte taken, then UploadError instead of Committed.
        case failAtClose(UploadErrorCode)
        /// Accepted, every byte taken, and Close never answered: a commit that takes its time.
        case holdAtClose
        /// Accepted and committed (if the digest matches).
        case commit
    }

    /// What the server saw of the session (one upload).
    struct Observed {
        var request: UploadRequest?
        /// Every Data byte, in order.
        var data: [UInt8] = []
        var closeDigest: [UInt8]?
        /// The answer to Close: true for Committed, false for UploadError(digest_mismatch), nil if Close never came.
        var committed: Bool?
        var saidGoodbye = false
        /// Opens answered with UploadError(busy) (`busyConnections`).
        var busyAnswers = 0
        /// The offset of every Accepted sent, in order.
        var acceptedAt: [UInt64] = []
        /// Anything the test did not plan for (a second Open, an Abort, a protocol error, a timeout…).
        var problems: [String] = []
        /// Scripted: the path of each Open.
        var opened: [String] = []
    }

    let port: UInt16
    private let listener: Int32
    /// `finish` writes a byte here: once the socket has nothing left to read, the thread stops waiting for it.
    private let wake: (read: Int32, write: Int32)
    private let ended = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var observed = Observed()

    /// Listens on 127.0.0.1 (an ephemeral port) as "server" of `pki`, trusting its CA for clients, and accepts one
    /// connection. Each Open is accepted at `prefix.count`, as if `prefix` were already stored: Close is committed
    /// only if prefix + Data hash to Close's digest (the check a real resuming server makes); if they do not, the
    /// server drops the prefix, as a resuming server must (PROTOCOL.md §8.3), and takes the next Open at 0.
    /// `receipt`, when given, replaces the digest in Committed (a faulty server, for the client's check of it).
    /// `busyConnections` connections come first whose every Open is answered with UploadError(busy) (a server whose
    /// partial is held by another session, or one draining): each ends when the client leaves it, then the next is
    /// accepted.
    /// `script`, when given, replaces all that for any number of uploads on the one connection: each Open gets the
    /// next step (`commit` once the script runs out).
    init(pki: PKI, holding prefix: [UInt8], receipt: [UInt8]? = nil, busyConnections: Int = 0, script: [Step]? = nil,
         deadline seconds: Double = 30) throws {
        let identity = try Identity(chainPEM: [UInt8](try Data(contentsOf: pki.serverCertificate)),
                                    keyPEM: [UInt8](try Data(contentsOf: pki.serverKey)))
        let trust = try TrustStore(pemBundle: [UInt8](try Data(contentsOf: pki.caCertificate)))
        var agreeing = ServerConfiguration(identity: identity, clientTrust: trust)
        // One upload at a time, as these scripts expect: no pipelining (the client falls back to v1, §8.10).
        agreeing.uploadFeatures = [.fileTimes]
        let configuration = agreeing

        let listening = try LoopbackListener(backlog: 1)
        listener = listening.descriptor
        wake = listening.wake
        port = listening.port

        let deadline = monotonicSeconds() + seconds
        Thread { [self] in
            serve(configuration, prefix: prefix, receipt: receipt, busyConnections: busyConnections, script: script,
                  until: deadline)
        }.start()
    }

    deinit {  // the thread holds `self` until it ends, so nothing here is still in use
        close(wake.read)
        close(wake.write)
    }

    /// Call once the client has exited: lets the thread end once it has read everything the client sent, waits for
    /// it (at most `timeout` seconds) and returns what it saw.
    func finish(timeout: Double = 10) throws -> Observed {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
        guard ended.wait(timeout: .now() + timeout) == .success else {
            throw TestError("the server thread did not end within \(timeout) s")
        }
        return lock.withLock { observed }
    }

    private func record(_ change: (inout Observed) -> Void) { lock.withLock { change(&observed) } }

    /// What the server saw so far, while the client still runs.
    var seen: Observed { lock.withLock { observed } }

    // MARK: The thread

    private func serve(_ configuration: ServerConfiguration, prefix: [UInt8], receipt: [UInt8]?, busyConnections: Int,
                       script: [Step]?, until deadline: Double) {
        defer {
            close(listener)
            ended.signal()
        }
        do {
            for index in 0...busyConnections {
                guard try wait(for: listener, until: deadline) else { throw TestError("no client connected") }
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { throw TestError("accept: errno \(errno)") }
                defer { close(fd) }
                var timeout = timeval(tv_sec: 10, tv_usec: 0)  // a send that blocks this long fails instead of hanging
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                if let script {
                    try runScript(fd, ServerConnection(configuration: configuration), script[...], until: deadline)
                } else {
                    try run(fd, ServerConnection(configuration: configuration), prefix: prefix, receipt: receipt,
                            busy: index < busyConnections, until: deadline)
                }
            }
        } catch {
            record { $0.problems.append("\(error)") }
        }
    }

    /// A scripted session: each Open meets the next `Step`; until Goodbye, the client's close, or an error.
    private func runScript(_ fd: Int32, _ connection: ServerConnection, _ script: ArraySlice<Step>,
                           until deadline: Double) throws {
        var connection = connection, script = script
        var step = Step.commit
        var received: UInt64 = 0
        var digest = DigestContext(.sha256)
        var request: UploadRequest?
        try exchange(fd, &connection, until: deadline) { connection, event in
            let now = RawClient.now()
            switch event {
            case .uploadRequested(let open):
                record { $0.opened.append(open.path) }
                step = script.popFirst() ?? .commit
                (received, digest, request) = (0, DigestContext(.sha256), open)
                if case .refuse(let code) = step {
                    connection.reject(UploadFailure(code, "scripted refusal"), now: now)
                } else {
                    connection.accept(now: now)
                }
            case .uploadData(let chunk):
                chunk.withUnsafeBytes { digest.update($0) }
                received += UInt64(chunk.count)
                if case .failAfter(let bytes, let code) = step, received >= bytes {
                    step = .commit  // once
                    connection.fail(UploadFailure(code, "scripted failure after \(received) bytes"), now: now)
                }
            case .uploadFinished(let claimed, _):
                if case .failAtClose(let code) = step {
                    connection.fail(UploadFailure(code, "scripted failure at Close"), now: now)
                } else if case .holdAtClose = step {
                    record { $0.closeDigest = claimed }
                } else if let request, digest.snapshot() == claimed {
                    connection.commit(UploadReceipt(storedName: request.path, size: request.size, digest: claimed), now: now)
                } else {
                    connection.fail(UploadFailure(.digestMismatch, "SHA-256 mismatch"), now: now)
                }
            case .uploadAborted:
                // The Aborts that answer our failures end the discarding without an event (§8.6): one here is not one.
                record { $0.problems.append("an Abort no failure called for") }
            case .handshakeCompleted, .rotated, .peerClosed, .uploadDataWritten:
                break
            case .pipelinedRequested, .pipelinedFinished, .pipelinedAborted, .pipelinedProbed:
                record { $0.problems.append("a pipelined upload, which this server did not agree to") }
            case .storeRequested:
                record { $0.problems.append("a store request, which an upload never sends") }
            }
        }
    }

    /// Moves bytes between the socket and `connection`, handing each event to `handle`, until Goodbye, the client's
    /// close or an error.
    private func exchange(_ fd: Int32, _ connection: inout ServerConnection, until deadline: Double,
                          _ handle: (inout ServerConnection, ServerEvent) -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var saidGoodbye = false
        while true {
            do throws(ProtocolError) {
                while let event = try connection.nextEvent(now: RawClient.now()) {
                    if event == .peerClosed {
                        saidGoodbye = true
                        record { $0.saidGoodbye = true }
                    }
                    handle(&connection, event)
                }
            } catch {
                try? sendAll(connection.takeOutput(), on: fd)  // the alert
                throw TestError("protocol error: \(error.alert.name) (\(error.detail))")
            }
            try sendAll(connection.takeOutput(), on: fd)
            if connection.isClosed || saidGoodbye { return }
            guard try wait(for: fd, until: deadline) else {
                throw TestError("stopped waiting with the session still open (the client left it, or the deadline passed)")
            }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw TestError("recv: errno \(errno)")
            }
            if count == 0 { return }
            buffer.withUnsafeBytes { connection.receive(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    /// The session with its one upload (and the resume prefix it holds); until Goodbye, the client's close, or an error.
    private func run(_ fd: Int32, _ connection: ServerConnection, prefix: [UInt8], receipt: [UInt8]?, busy: Bool,
                     until deadline: Double) throws {
        var connection = connection
        // The server's own hash of the file: the prefix it "holds", then every Data byte.
        var held = prefix
        var digest = DigestContext(.sha256)
        var request: UploadRequest?
        try exchange(fd, &connection, until: deadline) { connection, event in
            switch event {
            case .handshakeCompleted, .rotated, .peerClosed:
                break
            case .uploadRequested where busy:
                record { $0.busyAnswers += 1 }
                connection.reject(UploadFailure(.busy, "another session holds this file"), now: RawClient.now())
            case .uploadRequested(let open):
                guard request == nil, held.count <= open.size else {
                    record { $0.problems.append("unexpected Open \(open) (size vs held prefix \(held.count))") }
                    connection.reject(UploadFailure(.busy, "this test server takes one upload"), now: RawClient.now())
                    return
                }
                request = open
                record {
                    $0.request = open
                    $0.acceptedAt.append(UInt64(held.count))
                }
                digest.update(held)
                connection.accept(offset: UInt64(held.count), now: RawClient.now())
            case .uploadData(let chunk):
                chunk.withUnsafeBytes { digest.update($0) }
                record { $0.data.append(contentsOf: chunk) }  // the slice is valid only until the next call
            case .uploadFinished(let claimed, _):
                let actual = digest.snapshot()
                let matches = actual == claimed
                record {
                    $0.closeDigest = claimed
                    $0.committed = matches
                }
                if matches, let request {
                    connection.commit(UploadReceipt(storedName: request.path, size: request.size, digest: receipt ?? actual),
                                      now: RawClient.now())
                } else {
                    connection.fail(UploadFailure(.digestMismatch, "SHA-256 mismatch"), now: RawClient.now())
                    (request, held, digest) = (nil, [], DigestContext(.sha256))
                }
            case .uploadDataWritten, .uploadAborted, .pipelinedRequested, .pipelinedFinished, .pipelinedAborted, .pipelinedProbed,
                 .storeRequested:
                record { $0.problems.append("unexpected event \(event)") }
            }
        }
    }

    /// Waits until `fd` is readable (true) or, with nothing to read on it, until `finish` was called or the deadline
    /// passed (false). `fd` comes first, so whatever the client sent before exiting is still read.
    private func wait(for fd: Int32, until deadline: Double) throws -> Bool {
        while true {
            let remaining = deadline - monotonicSeconds()
            guard remaining > 0 else { return false }
            var descriptors = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&descriptors, 2, Int32(min(remaining, 60) * 1000) + 1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw TestError("poll: errno \(errno)")
            }
            if descriptors[0].revents != 0 { return true }  // readable, closed or failed: recv/accept says which
            if descriptors[1].revents != 0 { return false }
        }
    }

    private func sendAll(_ output: [UInt8], on fd: Int32) throws {
        var sent = 0
        while sent < output.count {
            let count = output.withUnsafeBytes { raw in
                let rest = UnsafeRawBufferPointer(rebasing: raw[sent...])
                return send(fd, rest.baseAddress, rest.count, Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw TestError("send: errno \(errno)")
            }
            sent += count
        }
    }
}
