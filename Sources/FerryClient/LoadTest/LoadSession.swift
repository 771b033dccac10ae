// One load-test session: connect, handshake, then either M operations one after another and Goodbye, or (idle)
// nothing until told to close. An operation is an upload of the payload, or with --mix one picked by weight
// (OperationPicker): an upload, a Get of a staged file whose bytes are hashed and checked (GetCheck), or one List page
// of the run's directory. Drives ClientConnection over a TCPConnection as ClientSession does: bytes in, `nextEvent`
// drained, output written; Data sealed chunk by chunk while `canSendData` and while less than `highWater` bytes wait
// on the socket, resumed when the socket drains or a rotation completes.
//
//   connecting ─► handshaking ─┬─► working(operation k: put | get | list) … ─► (Goodbye) finished
//                              └─► idle ──closeIdle()──► (Goodbye) finished
//   any state ──failure / timeout / stop()──► finished (one LoadFailure reported)
//
// An operation that fails (UploadError, OperationError, a receipt or a get that does not match) is reported and the
// session goes on with the next; what breaks the connection ends the session.
//
// Timeouts and time-based rotation are not timers of their own (10,000 idle sessions would be 10,000 uv_timer_t):
// the runner's sweep calls `tick(now:)` every 100 ms.
import EventLoop
import Foundation
import Protocol

final class LoadSession: TCPConnectionDelegate {
    enum Phase: Equatable {
        case created, connecting, handshaking, idle, working, finished
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
    /// When the current operation (connect, handshake, upload, get, list) times out; nil while idle.
    private var deadline: UInt64?
    private var operation = "connect"
    private var nextOperation = 0
    /// The operation under way; nil between operations.
    private var inFlight: InFlightOperation?
    /// With --mix, for load sessions: what each operation is; nil: every one is an upload.
    private var picker: OperationPicker?
    private var failures = 0
    private var endReported = false

    init(work: SessionWork, target: LoadTarget, loop: EventLoop, delegate: LoadSessionDelegate) {
        self.work = work
        self.target = target
        self.loop = loop
        self.delegate = delegate
        if case .load = work.kind, let mix = target.mix {
            picker = OperationPicker(mix: mix, seed: target.seed, slot: work.slot, iteration: work.iteration)
        }
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

    private var established: Bool { phase == .idle || phase == .working }

    private var whileDoing: String {
        switch phase {
        case .created, .connecting, .handshaking: "during the handshake"
        case .idle: "while the session was idle"
        case .working, .finished:
            inFlight.map { "during \(name($0.started))" } ?? (picker == nil ? "between uploads" : "between operations")
        }
    }

    private func name(_ started: OperationStart) -> String {
        if case .stage(let files) = work.kind { return started.name(staging: files) }
        return started.name
    }

    /// The operation a failure now is counted against (none for the staging session: it is in no figure).
    private var currentOperation: LoadOperation? {
        if case .stage = work.kind { return nil }
        return inFlight?.started.operation
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
        startNextOperationIfReady()
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
            case .load, .stage:
                phase = .working
            }
            delegate?.sessionDidCompleteHandshake(self, nanoseconds: now - startedAt + work.lateness)
            // Whether the store is agreed is the server's choice: a server without it fails the session here, before
            // any request the protocol would refuse to send.
            if phase == .working, picker?.mix.needsStore == true, connection?.storeAgreed != true {
                fail(LoadFailure(.server, "the server does not offer the store's requests (get, list): a ferryd older "
                    + "than this ferry, or not offering them"))
            }
        case .uploadAccepted(let offset):
            guard case .put(var current) = inFlight else { return }
            current.accepted = true
            current.sent = offset
            inFlight = .put(current)
        case .uploadCommitted(let receipt), .uploadAlreadyStored(let receipt):
            guard case .put(let current) = inFlight else { return }
            inFlight = nil
            if receipt.digest != target.payload.digest {
                report(LoadFailure(.integrity, "\(name(current.started)): the receipt's SHA-256 is not that of the data sent",
                                   operation: .put))
            } else {
                completed(current.started, at: now, bytes: target.payload.size)
            }
        case .uploadFailed(let failure):
            guard case .put(let current) = inFlight else { return }
            inFlight = nil
            report(LoadFailure(FailureClass.of(failure), "\(name(current.started)) refused: \(failure.message)",
                               operation: .put))
        case .storeAnswered(let answer):
            storeAnswered(answer, at: now)
        case .getStarted(let header):
            guard case .get(var fetch) = inFlight else { return }
            fetch.check = GetCheck(header: header)
            inFlight = .get(fetch)
        case .getData(let bytes):
            guard case .get(var fetch) = inFlight else { return }
            fetch.check?.append(bytes)
            inFlight = .get(fetch)
        case .getFinished:
            guard case .get(let fetch) = inFlight else { return }
            inFlight = nil
            // The protocol sends getStarted before any getData or getFinished; without it, nothing was checked.
            let problem = fetch.check.map { $0.problem(against: target.payload) } ?? "a GetEnd without a GetHeader"
            if let problem {
                report(LoadFailure(.integrity, "\(name(fetch.started)): \(problem)", operation: .get))
            } else {
                completed(fetch.started, at: now, bytes: target.payload.size)
            }
        case .rotated:
            break  // counted from `connection.rotations` at the end
        case .pipelinedAnswered:
            break  // the load test sends v1 uploads only: the protocol gives this for pipelined ones
        case .peerClosed:
            fail(LoadFailure(.server, "the server said Goodbye \(whileDoing)"))
        }
    }

    /// Starts the next operation once the previous one is settled (after a refusal mid-stream, once the server has
    /// answered our Abort), or says Goodbye after the last.
    private func startNextOperationIfReady() {
        guard phase == .working, inFlight == nil, let connection, connection.canStartUpload else { return }
        let count: Int
        switch work.kind {
        case .load(let operations): count = operations
        case .stage(let files): count = files
        case .idle: return
        }
        guard nextOperation < count else { return finish() }
        let index = nextOperation
        nextOperation += 1
        let operation = picker?.next() ?? .put
        let started = OperationStart(operation: operation, index: index, openedAt: EventLoop.hrtimeNanoseconds)
        switch operation {
        case .put:
            let path = if case .stage = work.kind { target.getPath(index) } else {
                target.putPath(slot: work.slot, iteration: work.iteration, index: index)
            }
            startUpload(UploadRequest(path: path, size: target.payload.size), started)
        case .get:
            // A file of the run's, stored before the load (LoadRunner's staging): the plan keeps --get-files >= 1.
            let file = target.getFiles > 0 ? picker?.file(of: target.getFiles) ?? 0 : 0
            send(.get(GetRequest(path: target.getPath(file))), as: .get(InFlightGet(started: started)), started)
        case .list:
            // One page (at most Limits.maxListEntries entries): a list is one request and its answer, the same work
            // whatever the directory has grown to, so its latency compares across the run. Not recursive: the run's
            // files, and "get/" as one directory entry.
            send(.list(ListRequest(directory: target.runDirectory, limit: Limits.maxListEntries)), as: .list(started), started)
        }
    }

    private func startUpload(_ request: UploadRequest, _ started: OperationStart) {
        guard var connection else { return }
        self.connection = nil
        connection.startUpload(request, now: Clock.now())
        self.connection = connection
        inFlight = .put(InFlightUpload(started: started))
        arm(name(started))
        flush()
    }

    private func send(_ request: StoreRequest, as current: InFlightOperation, _ started: OperationStart) {
        guard var connection else { return }
        // Checked after the handshake too; the protocol traps on a store request without `store` agreed, so this is
        // asked again right before one goes.
        guard connection.canSendStoreRequest else {
            return fail(LoadFailure(.server, "the server does not offer the store's requests (get, list)",
                                    operation: started.operation))
        }
        // The run's own names (a run ID, a number): far inside §14's bounds, so `problem` is nil.
        self.connection = nil
        connection.sendStoreRequest(request, now: Clock.now())
        self.connection = connection
        inFlight = current
        arm(name(started))
        flush()
    }

    /// The answer to a get (refused, or failed after its header) or a list.
    private func storeAnswered(_ answer: StoreAnswer, at now: UInt64) {
        guard let current = inFlight, current.started.operation != .put else { return }
        inFlight = nil
        let started = current.started
        switch answer {
        case .list where started.operation == .list:
            completed(started, at: now, bytes: 0)
        case .failed(let failure):
            report(LoadFailure(FailureClass.of(failure), "\(name(started)) refused: \(failure.message)",
                               operation: started.operation))
        case .list, .stat, .deleted, .verified:
            // ClientConnection checks each answer against its request: no other answer reaches here.
            report(LoadFailure(.server, "\(name(started)): an answer of another request", operation: started.operation))
        }
    }

    private func completed(_ started: OperationStart, at now: UInt64, bytes: UInt64) {
        delegate?.session(self, completed: started.operation, nanoseconds: now - started.openedAt + work.lateness,
                          bytes: bytes)
    }

    /// Seals the payload from where the upload stands, while the socket and the protocol allow; Close at the end.
    private func pump() {
        guard phase == .working, case .put(var current) = inFlight, current.accepted, !current.closed, var connection,
              let tcp else { return }
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
        inFlight = .put(current)
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

    /// Counts `failure` (against the operation under way, if any) and ends the session: any alert we queued goes
    /// out, then the socket closes.
    private func fail(_ failure: LoadFailure) {
        guard phase != .finished else { return }
        report(failure.operation == nil ? LoadFailure(failure.kind, failure.message, operation: currentOperation) : failure)
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
