// One session of an upload run: connect, handshake, then files one after another, each streamed from disk in 1 MiB
// blocks cut into Data records, never more than `highWater` bytes queued on the socket (so memory stays bounded
// whatever the file size).
//
// Data path per block: a thread-pool job preads it into one of the file's two blocks and updates the SHA-256 there
// (off the loop thread), while the loop seals the other block straight into pooled socket write buffers,
// `recordsPerWrite` records per uv_write: each byte is read from the block once and written once, encrypted.
//
//   connecting ─► handshaking ─► idle ─► (Open) awaitingAccept ─► sending ─► (Close) awaitingCommit ─► idle … ─► Goodbye
import EventLoop
import Platform
import Foundation
import Protocol

final class ClientSession: TCPConnectionDelegate {
    /// Stop reading the file while this much is queued on the socket.
    static let highWater = 4 << 20
    static let readSize = 1 << 20
    /// Data records sealed into one socket write: a whole 1 MiB block per syscall, into one pooled write buffer
    /// (WriteBufferPool: with `highWater` queued that is 4 or 5 buffers in flight, all reused; smaller writes took
    /// more buffers than the pool keeps, and fresh ones cost page faults).
    static let recordsPerWrite = readSize / Limits.maxDataChunk

    private unowned let engine: UploadEngine
    private var tcp: TCPConnection?
    private var connection: ClientConnection?
    private var current: FileInFlight?
    private var ended = false
    private var established = false
    private let rotationTimer: LoopTimer

    init(engine: UploadEngine) {
        self.engine = engine
        rotationTimer = LoopTimer(loop: engine.loop)
        watchdog = LoopTimer(loop: engine.loop)
        watch = StallWatch(phase: nil, timeouts: engine.target.timeouts)
    }

    /// Connects to the server's addresses in turn (the first that accepts), then starts the handshake.
    func start() {
        watchdog.start(afterMilliseconds: Self.watchdogTick, repeatMilliseconds: Self.watchdogTick) { [self] in check() }
        connect(engine.addresses[...], failures: [])
    }

    // MARK: Timeouts (ClientTimeouts, StallWatch)

    private let watchdog: LoopTimer
    private var watch: StallWatch
    /// The connection being made, and whether the connect timeout gave it up (its completion then reports ECANCELED).
    private var attempt: TCPConnection?
    private var attemptTimedOut = false
    private var bytesRead: UInt64 = 0
    /// One second: the granularity of every timeout.
    static let watchdogTick: UInt64 = 1000

    private func check() {
        let moved = bytesRead + (tcp?.writtenBytes ?? 0)
        let committing = current.flatMap { $0.sentDigest != nil ? $0.file.size : nil }
        switch watch.check(now: EventLoop.hrtimeNanoseconds, moved: moved, committingSize: committing,
                           hashingPrefix: current?.hashingPrefix == true) {
        case nil: break
        case .connect:
            attemptTimedOut = true
            attempt?.close()
        case .end(let message):
            end(error: message, kind: .timeout)
        }
    }

    private func connect(_ remaining: ArraySlice<ResolvedAddress>, failures: [String]) {
        let target = engine.target
        guard let address = remaining.first else {
            let tried = failures.count > 1 ? " (tried \(failures.joined(separator: ", ")))" : ""
            let reason = failures.count == 1 ? ": \(failures[0])" : tried
            return end(error: "cannot connect to \(target.host):\(target.port)\(reason)", kind: .unreachable)
        }
        attemptTimedOut = false
        let attempt = TCPConnection.connect(loop: engine.loop, address: address) { [self] result in
            self.attempt = nil
            guard !endedReported else { return }
            switch result {
            case .failure(let error):
                let reason = attemptTimedOut
                    ? "timed out after \(target.timeouts.connect) s (--connect-timeout)" : error.message
                let failure = engine.addresses.count == 1 ? reason : "\(address): \(reason)"
                connect(remaining.dropFirst(), failures: failures + [failure])
            case .success(let tcp):
                self.tcp = tcp
                tcp.delegate = self
                watch.phase = .handshaking(since: EventLoop.hrtimeNanoseconds)
                do {
                    connection = try ClientConnection.open(on: tcp, configuration: target.configuration)
                    tcp.startReading()
                } catch {
                    end(error: "\(error)")
                }
            }
        }
        if !attempt.isClosed {
            self.attempt = attempt
            watch.phase = .connecting(since: EventLoop.hrtimeNanoseconds)
        }
    }

    // MARK: TCPConnectionDelegate

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        bytesRead += UInt64(bytes.count)
        self.connection?.receive(bytes)
        drain()
    }

    func connectionDidReachEnd(_ connection: TCPConnection) {
        end(error: established ? "the server closed the connection" : "the server closed the connection during the handshake")
    }

    func connection(_ connection: TCPConnection, didFail error: UVError) {
        end(error: "connection error: \(error.message)")
    }

    func connectionDidDrain(_ connection: TCPConnection) { pump() }

    func connectionDidClose(_ connection: TCPConnection) { end(error: nil) }

    // MARK: Protocol events

    private func drain() {
        guard var connection else { return }
        self.connection = nil
        let (events, failure) = connection.nextEvents(now: Clock.now())
        self.connection = connection
        for event in events { handle(event) }
        if failure == nil { startNextFile() }  // a file held back while an abort was answered
        flush()
        if let failure { return end(error: describe(failure), kind: established ? .other : FailureKind(handshakeError: failure)) }
        armRotationTimer()
    }

    private func handle(_ event: ClientEvent) {
        switch event {
        case .handshakeCompleted:
            established = true
            watch.phase = .flowing(mark: bytesRead + (tcp?.writtenBytes ?? 0), since: EventLoop.hrtimeNanoseconds)
            startNextFile()
        case .uploadAccepted(let offset):
            guard let current else { return }
            current.sent = offset
            current.readOffset = offset
            openAndSend(current, hashingFirst: offset)
        case .uploadCommitted(let receipt):
            guard let current else { return }
            // The server commits only when its digest equals the one Close carried; a receipt that says otherwise is a
            // server fault the user must see, not a hash to print as the file's.
            let mismatch = receipt.digest == current.sentDigest ? nil : "the server committed the file with SHA-256 "
                + "\(hex(receipt.digest)), not the file's \(hex(current.sentDigest ?? []))"
            complete(current, stored: receipt.storedName, digest: current.sentDigest, error: mismatch)
            startNextFile()
        case .uploadAlreadyStored(let receipt):
            guard let current else { return }
            complete(current, stored: receipt.storedName, digest: receipt.digest, error: nil)
            startNextFile()
        case .uploadFailed(let failure):
            guard let current else { return }
            complete(current, stored: nil, digest: nil, error: "server refused: \(failure.message)")
            startNextFile()
        case .rotated:
            break  // counted through `connection.rotations`
        case .peerClosed:
            end(error: current == nil ? nil : "the server said goodbye during the upload")
        }
    }

    /// The next file, once the protocol allows an Open: after an abort (ours, or the server failing an upload while
    /// we sent it) the server's answer to Abort must come first (PROTOCOL.md §8.4) — `drain` calls this again when it
    /// has. A file whose name on the server is longer than the protocol allows fails here, alone.
    private func startNextFile() {
        guard current == nil, established, !ended, let connection, connection.canStartUpload else { return }
        while let index = engine.nextFile() {
            let file = engine.files[index]
            let pathBytes = file.remotePath.utf8.count
            guard pathBytes <= Limits.maxPathLength else {
                engine.finished(index, result: FileResult(
                    file: file, stored: nil, bytes: 0, sha256: nil, seconds: 0, rotations: 0,
                    error: "its name on the server would be \(pathBytes) bytes long; the limit is \(Limits.maxPathLength)"))
                continue
            }
            current = FileInFlight(index: index, file: file, rotationsAtStart: connection.rotations.sent, blocks: engine.blocks)
            self.connection?.startUpload(
                UploadRequest(path: file.remotePath, size: file.size, overwrite: engine.target.overwrite), now: Clock.now())
            engine.progress(index, bytes: 0)
            return
        }
        self.connection?.goodbye(now: Clock.now())
        flush()
        ended = true
        tcp?.closeAfterPendingWrites()
    }

    /// Opens the file; when the server resumes at `hashingFirst` > 0 (PROTOCOL.md §8.3: Close carries the digest of
    /// the whole file), the bytes it already holds are read and hashed before the rest is sent.
    private func openAndSend(_ current: FileInFlight, hashingFirst prefix: UInt64) {
        FileIO.open(engine.loop, path: current.file.localPath, flags: O_RDONLY | O_CLOEXEC, mode: 0) { [self] result in
            switch result {
            case .success(let fd):
                current.fd = fd
                if current.closed { return closeFile(current) }
                guard prefix > 0 else { return pump() }
                hashPrefix(current, fd: fd, upTo: prefix)
            case .failure(let error):
                abort(current, reason: "cannot open \(current.file.localPath): \(error.message)")
            }
        }
    }

    /// Feeds the file's first `end` bytes to the digest on the thread pool (nothing is read or sealed meanwhile:
    /// `pump` waits while `hashingPrefix`), then starts sending from `end`.
    private func hashPrefix(_ current: FileInFlight, fd: Int32, upTo end: UInt64) {
        // Both blocks are spare when Accepted arrives (nothing was read yet); never send without the prefix hashed.
        guard let block = current.spare.popLast() else { return abort(current, reason: "internal error: no block to hash with") }
        let digest = current.digest
        current.hashingPrefix = true
        ThreadPool.run(engine.loop, {
            var offset: UInt64 = 0
            while offset < end {
                let count = Int(min(UInt64(Self.readSize), end - offset))
                block.removeAll()
                let read = BlockingFileIO.read(fd: fd, into: block, count: count, offset: Int64(offset))
                guard case .success(count) = read else { return read.map { _ in offset } }
                block.withUnsafeBytes { digest.update($0) }
                offset += UInt64(count)
            }
            return .success(offset)
        }, then: { [self] result in
            block.removeAll()
            current.spare.append(block)
            current.hashingPrefix = false
            guard self.current === current, !current.closed else { return }
            switch result {
            case .success(let hashed) where hashed == end:
                pump()
            case .success:
                abort(current, reason: "\(current.file.localPath) shrank while it was being uploaded")
            case .failure(let error):
                abort(current, reason: "reading \(current.file.localPath): \(error.message)")
            }
        })
    }

    /// Seals what was read, reads the next block, and sends Close once everything is sealed. Sealing stops while the
    /// socket's queue is above the high-water mark or the protocol holds Data back (`canSendData` is false for at most
    /// one round trip while a rotation completes).
    private func pump() {
        guard let current, current.fd != nil, tcp != nil, !current.hashingPrefix else { return }
        sealReady(current)
        guard let connection else { return }
        if current.sent == current.file.size {
            guard !current.closed else { return }
            current.closed = true
            self.connection = nil
            var finishing = connection
            let digest = current.digest.snapshot()
            current.sentDigest = digest
            finishing.finishUpload(digest: digest, now: Clock.now())
            self.connection = finishing
            closeFile(current)
            return flush()
        }
        readAhead(current)
    }

    /// Reads and hashes the next block on the thread pool, into a spare block (one read at a time, so the digest
    /// sees the file in order).
    private func readAhead(_ current: FileInFlight) {
        guard !current.reading, current.readOffset < current.file.size, let fd = current.fd,
              let block = current.spare.popLast() else { return }
        let count = Int(min(UInt64(Self.readSize), current.file.size - current.readOffset))
        let offset = Int64(current.readOffset)
        let digest = current.digest
        current.reading = true
        ThreadPool.run(engine.loop, {
            let result = BlockingFileIO.read(fd: fd, into: block, count: count, offset: offset)
            if case .success(count) = result { block.withUnsafeBytes { digest.update($0) } }
            return result
        }, then: { [self] result in
            current.reading = false
            guard self.current === current, !current.closed else { return }
            switch result {
            case .failure(let error):
                abort(current, reason: "reading \(current.file.localPath): \(error.message)")
            case .success(let read) where read < count:
                abort(current, reason: "\(current.file.localPath) shrank while it was being uploaded")
            case .success:
                current.readOffset += UInt64(count)
                current.ready.append(block)
                pump()
            }
        })
    }

    /// Seals ready blocks, one Data record at a time, straight into the socket's write buffers (`recordsPerWrite`
    /// records per uv_write), while the socket and the protocol allow. A chunk is read from the block and written
    /// once, encrypted: no copy into a record buffer, none into a write buffer.
    private func sealReady(_ current: FileInFlight) {
        guard !current.ready.isEmpty, var connection, let tcp else { return }
        self.connection = nil
        let chunk = connection.maxDataChunk
        var sealedNow = 0
        while let block = current.ready.first, connection.canSendData, tcp.pendingWriteBytes < Self.highWater,
              !connection.isClosed {
            // Whatever the protocol queued (a RotateInit or RotateCommit after the last record) goes out first, in order.
            connection.drainOutput { tcp.write($0) }
            let before = current.sealOffset
            tcp.write(capacity: Self.recordsPerWrite * connection.sealedDataLength(chunk)) { buffer in
                var used = 0
                block.withUnsafeBytes { bytes in
                    while current.sealOffset < bytes.count, connection.canSendData, !connection.hasPendingOutput {
                        let end = min(current.sealOffset + chunk, bytes.count)
                        guard used + connection.sealedDataLength(end - current.sealOffset) <= buffer.count else { break }
                        let written = connection.sendData(UnsafeRawBufferPointer(rebasing: bytes[current.sealOffset..<end]),
                                                          into: UnsafeMutableRawBufferPointer(rebasing: buffer[used...]),
                                                          now: Clock.now())
                        guard written > 0 else { break }  // the upload was failed meanwhile, or the session closed
                        used += written
                        current.sealOffset = end
                    }
                }
                return used
            }
            guard current.sealOffset > before else { break }
            sealedNow += current.sealOffset - before
            guard current.sealOffset == block.count else { continue }
            current.ready.removeFirst()
            current.sealOffset = 0
            block.removeAll()
            current.spare.append(block)
        }
        connection.drainOutput { tcp.write($0) }
        self.connection = connection
        guard sealedNow > 0 else { return }
        current.sent += UInt64(sealedNow)
        engine.progress(current.index, bytes: current.sent)
    }

    private func abort(_ current: FileInFlight, reason: String) {
        connection?.abortUpload(now: Clock.now())
        flush()
        complete(current, stored: nil, digest: nil, error: reason)
        startNextFile()
    }

    private func complete(_ current: FileInFlight, stored: String?, digest: [UInt8]?, error: String?, kind: FailureKind = .other) {
        closeFile(current)
        self.current = nil
        let seconds = Double(EventLoop.hrtimeNanoseconds - current.started) / 1e9
        let rotations = (connection?.rotations.sent ?? current.rotationsAtStart) - current.rotationsAtStart
        engine.finished(current.index, result: FileResult(
            file: current.file, stored: stored, bytes: error == nil ? current.file.size : current.sent,
            sha256: digest.map(hex), seconds: seconds,
            rotations: rotations, error: error, failure: kind))
    }

    private func closeFile(_ current: FileInFlight) {
        current.closed = true
        if let fd = current.fd {
            current.fd = nil
            FileIO.close(engine.loop, fd: fd) { _ in }
        }
    }

    // MARK: Output and teardown

    private func flush() {
        guard var connection, let tcp else { return }
        self.connection = nil
        connection.drainOutput { tcp.write($0) }
        self.connection = connection
    }

    private func armRotationTimer() {
        guard let deadline = connection?.nextDeadline else { return rotationTimer.stop() }
        let now = Clock.now().monotonicNanoseconds
        rotationTimer.start(afterMilliseconds: deadline > now ? (deadline - now) / 1_000_000 + 1 : 0) { [self] in
            guard var connection else { return }
            self.connection = nil
            do { try connection.handleTimer(now: Clock.now()) } catch {}
            self.connection = connection
            flush()
            pump()
        }
    }

    private func describe(_ error: ProtocolError) -> String {
        var text = error.origin == .peer ? "the server refused the session: \(error.alert.name)" : "\(error.alert.name)"
        if !error.detail.isEmpty { text += " (\(error.detail))" }
        return text
    }

    /// Ends the session once: fails the file in progress, frees the timer and socket, tells the engine.
    private func end(error: String?, kind: FailureKind = .other) {
        if let current {
            complete(current, stored: nil, digest: nil, error: error ?? "the connection closed during the upload", kind: kind)
        }
        guard !endedReported else { return }
        endedReported = true
        rotationTimer.close()
        watchdog.close()
        watch.phase = nil
        if let tcp, !ended { ended = true; tcp.close() }
        engine.sessionEnded(self, error: established ? nil : error, kind: kind)
    }
    private var endedReported = false
}

/// The clock readings the protocol wants (it reads no clock itself), from Platform's one clock.
enum Clock {
    static func now() -> Now {
        Now(monotonicNanoseconds: SystemClock.monotonicNanoseconds(), unixSeconds: SystemClock.unixSeconds())
    }
}
