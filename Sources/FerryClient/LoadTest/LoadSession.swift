// One load-test session: connect, handshake, then either M uploads of the payload one after another and Goodbye, or
// (idle) nothing until told to close. Drives ClientConnection over a TCPConnection as ClientSession does: bytes in,
// `nextEvent` drained, output written; Data sealed chunk by chunk while `canSendData` and while less than `highWater`
// bytes wait on the socket, resumed when the socket drains or a rotation completes.
//
//   connecting ─► handshaking ─┬─► uploading(file k) … ─► (Goodbye) finished
//                              └─► idle ──closeIdle()──► (Goodbye) finished
//   any state ──failure / timeout / stop()──► finished (one LoadFailure reported)
//
// Timeouts and time-based rotation are not timers of their own (10,000 idle sessions would be 10,000 uv_timer_t):
// the runner's sweep calls `tick(now:)` every 100 ms.
import EventLoop
import Foundation
import Protocol

final class LoadSession: TCPConnectionDelegate {
    enum Phase: Equatable {
        case created, connecting, handshaking, idle, uploading, finished
    }

    /// Stop sealing while this much waits on the socket (as ClientSession).
    static let highWater = ClientSession.highWater

    let work: SessionWork
    private let target: LoadTarget
    private unowned let loop: EventLoop
    private weak var delegate: LoadSessionDelegate?
    private var tcp: TCPConnection?
    private var connection: ClientConnection?
    private(set) var phase = Phase.created
    private var startedAt: UInt64 = 0
    /// When the current operation (connect, handshake, upload) times out; nil while idle.
    private var deadline: UInt64?
    private var operation = "connect"
    private var nextFile = 0
    private var upload: Upload?
    private var failures = 0
    private var endReported = false

    private struct Upload {
        let index: Int
        let openedAt: UInt64
        var accepted = false
        var sent: UInt64 = 0
        var closed = false
    }

    init(work: SessionWork, target: LoadTarget, loop: EventLoop, delegate: LoadSessionDelegate) {
        self.work = work
        self.target = target
        self.loop = loop
        self.delegate = delegate
    }

    var isIdle: Bool { phase == .idle }

    func start() {
        precondition(phase == .created, "start() in phase \(phase)")
        phase = .connecting
        startedAt = EventLoop.hrtimeNanoseconds
        arm("connect")
        TCPConnection.connect(loop: loop, host: target.host, port: target.port) { [self] result in
            switch result {
            case .failure(let error):
                fail(LoadFailure(.connect, "connect to \(target.host):\(target.port): \(error.message)"))
            case .success(let tcp):
                guard phase == .connecting else { return tcp.close() }  // stopped meanwhile
                self.tcp = tcp
                tcp.delegate = self
                do {
                    connection = try ClientConnection.open(on: tcp, configuration: target.configuration)
                } catch {
                    return fail(LoadFailure(.handshake, "ClientHello: \(error)"))
                }
                phase = .handshaking
                arm("handshake")
                tcp.startReading()
            }
        }
    }

    /// The runner's sweep: the operation's deadline, and a time-based rotation that has come due.
    func tick(now: UInt64) {
        guard phase != .finished else { return }
        if let deadline, now >= deadline {
            let seconds = Double(target.timeoutNanoseconds) / 1e9
            return fail(LoadFailure(.timeout, "\(operation) took longer than \(formatSeconds(seconds)) s"))
        }
        guard let due = connection?.nextDeadline, now >= due, var connection else { return }
        self.connection = nil
        do { try connection.handleTimer(now: Clock.now()) } catch {}  // an error is in the output and ends the session
        self.connection = connection
        flush()
        pump()
    }

    /// Ends the session now, counting `failure` (the run's --max-seconds or a signal).
    func stop(_ failure: LoadFailure) { fail(failure) }

    /// Idle sessions at the end of the run: Goodbye, then close once it is written.
    func closeIdle() {
        guard phase == .idle else { return }
        finish()
    }

    // MARK: TCPConnectionDelegate

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        guard phase != .finished else { return }
        self.connection?.receive(bytes)
        drain()
    }

    func connectionDidReachEnd(_ connection: TCPConnection) {
        guard phase != .finished else { return }
        fail(LoadFailure(FailureClass.ofClose(established: established), "the server closed the connection \(whileDoing)"))
    }

    func connection(_ connection: TCPConnection, didFail error: UVError) {
        guard phase != .finished else { return }
        fail(LoadFailure(FailureClass.ofClose(established: established), "\(error.message) \(whileDoing)"))
    }

    func connectionDidDrain(_ connection: TCPConnection) { pump() }

    func connectionDidClose(_ connection: TCPConnection) {
        if phase != .finished {
            fail(LoadFailure(FailureClass.ofClose(established: established), "connection closed \(whileDoing)"))
        }
        end()
    }

    // MARK: Protocol events

    private var established: Bool { phase == .idle || phase == .uploading }

    private var whileDoing: String {
        switch phase {
        case .created, .connecting, .handshaking: "during the handshake"
        case .idle: "while the session was idle"
        case .uploading, .finished: upload.map { "during upload \($0.index + 1)" } ?? "between uploads"
        }
    }

    private func drain() {
        guard var connection else { return }
        self.connection = nil
        let (events, failure) = connection.nextEvents(now: Clock.now())
        self.connection = connection
        for event in events where phase != .finished { handle(event) }
        flush()
        if let failure, phase != .finished {
            let who = failure.origin == .peer ? "the server sent alert" : "alert"
            let detail = failure.detail.isEmpty ? "" : " (\(failure.detail))"
            return fail(LoadFailure(FailureClass.of(failure, established: established), "\(who) \(failure.alert.name)\(detail)"))
        }
        startNextUploadIfReady()
        pump()
    }

    private func handle(_ event: ClientEvent) {
        let now = EventLoop.hrtimeNanoseconds
        switch event {
        case .handshakeCompleted:
            // The phase first: the delegate may act on this session at once (the last idle session up ends the
            // run when there is no load, and closes every idle session, this one included).
            switch work.kind {
            case .idle:
                phase = .idle
                deadline = nil
            case .load:
                phase = .uploading
            }
            delegate?.sessionDidCompleteHandshake(self, nanoseconds: now - startedAt + work.lateness)
        case .uploadAccepted(let offset):
            guard var current = upload else { return }
            current.accepted = true
            current.sent = offset
            upload = current
        case .uploadCommitted(let receipt), .uploadAlreadyStored(let receipt):
            guard let current = upload else { return }
            upload = nil
            if receipt.digest != target.payload.digest {
                report(LoadFailure(.integrity, "upload \(current.index + 1): the receipt's SHA-256 is not that of the data sent"))
            } else {
                delegate?.sessionDidCommitUpload(self, nanoseconds: now - current.openedAt + work.lateness,
                                                 bytes: target.payload.size)
            }
        case .uploadFailed(let failure):
            guard let current = upload else { return }
            upload = nil
            report(LoadFailure(FailureClass.of(failure), "upload \(current.index + 1) refused: \(failure.message)"))
        case .rotated:
            break  // counted from `connection.rotations` at the end
        case .pipelinedAnswered:
            break  // the load test sends v1 uploads only: the protocol gives this for pipelined ones
        case .storeAnswered, .getStarted, .getData, .getFinished:
            break  // the load test sends no store request: the protocol gives these for those only
        case .peerClosed:
            fail(LoadFailure(.server, "the server said Goodbye \(whileDoing)"))
        }
    }

    /// Opens the next file once the previous one is settled (after a refusal mid-stream, once the server has answered
    /// our Abort), or says Goodbye after the last.
    private func startNextUploadIfReady() {
        guard phase == .uploading, upload == nil, var connection, connection.canStartUpload,
              case .load(let files) = work.kind else { return }
        guard nextFile < files else { return finish() }
        let index = nextFile
        nextFile += 1
        let path = "loadtest/\(target.runID)/\(work.slot)-\(work.iteration)-\(index)"
        self.connection = nil
        connection.startUpload(UploadRequest(path: path, size: target.payload.size), now: Clock.now())
        self.connection = connection
        upload = Upload(index: index, openedAt: EventLoop.hrtimeNanoseconds)
        arm("upload \(index + 1)")
        flush()
    }

    /// Seals the payload from where the upload stands, while the socket and the protocol allow; Close at the end.
    private func pump() {
        guard phase == .uploading, var current = upload, current.accepted, !current.closed, var connection, let tcp else { return }
        self.connection = nil
        let payload = target.payload
        let chunkLimit = connection.maxDataChunk
        payload.block.withUnsafeBytes { block in
            while current.sent < payload.size, connection.canSendData, tcp.pendingWriteBytes < Self.highWater {
                let range = payload.chunk(at: current.sent, limit: chunkLimit)
                connection.sendData(UnsafeRawBufferPointer(rebasing: block[range]), now: Clock.now())
                current.sent += UInt64(range.count)
                let output = connection.takeOutput()
                if !output.isEmpty { tcp.write(output) }
            }
        }
        if current.sent == payload.size {
            connection.finishUpload(digest: payload.digest, now: Clock.now())
            current.closed = true
        }
        self.connection = connection
        upload = current
        flush()
    }

    // MARK: Ending

    private func arm(_ operation: String) {
        self.operation = operation
        deadline = EventLoop.hrtimeNanoseconds + target.timeoutNanoseconds
    }

    private func report(_ failure: LoadFailure) {
        failures += 1
        delegate?.session(self, didFail: failure)
    }

    /// Goodbye, then close after the write queue drains: the session did its work.
    private func finish() {
        guard phase != .finished else { return }
        phase = .finished
        deadline = nil
        if var connection {
            connection.goodbye(now: Clock.now())
            self.connection = connection
            flush()
        }
        let rotations = connection?.rotations ?? (0, 0)
        tcp?.closeAfterPendingWrites()
        reportEnd(completed: failures == 0, rotations: rotations)
    }

    /// Counts `failure` and ends the session: any alert we queued goes out, then the socket closes.
    private func fail(_ failure: LoadFailure) {
        guard phase != .finished else { return }
        report(failure)
        phase = .finished
        deadline = nil
        flush()
        let rotations = connection?.rotations ?? (0, 0)
        if let tcp {
            if failure.kind == .timeout { tcp.close() } else { tcp.closeAfterPendingWrites() }
        }
        reportEnd(completed: false, rotations: rotations)
    }

    private func reportEnd(completed: Bool, rotations: (sent: Int, received: Int)) {
        guard !endReported else { return }
        endReported = true
        delegate?.sessionDidEnd(self, completed: completed, rotations: rotations)
    }

    private func end() {
        tcp = nil
        connection = nil
    }

    private func flush() {
        guard var connection, let tcp else { return }
        let output = connection.takeOutput()
        self.connection = connection
        if !output.isEmpty { tcp.write(output) }
    }
}
