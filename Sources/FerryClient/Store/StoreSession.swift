// One conversation with the store (docs/PROTOCOL.md §14) for `ferry ls`, `stat`, `get`, `rm`, `mv`, `verify`: resolve the server's name,
// connect (each address in turn), handshake, then the conversation's requests one after another, each answered before
// the next, then Goodbye. Timeouts as for uploads (ClientTimeouts through StallWatch: connect, handshake, no bytes
// moving); a lost connection, a timeout or a busy server is tried again with RetryPolicy's backoff, and the request
// that was not answered is asked again — a listing goes on from its cursor, never from the start.
//
//   resolving ─► connecting ─► handshaking ─► asking ⇄ (answer) ─► Goodbye ─► done
//        │            │             │            │
//        └────────────┴─────────────┴────────────┴──failure──► waiting (backoff) ─► connecting … or failed
import ArgumentParser
import EventLoop
import Foundation
import Protocol

/// What a store command asks, one request at a time.
protocol StoreConversation: AnyObject {
    /// The request to send now, nil once everything is asked. Asked again after a retry until it is answered.
    var nextRequest: StoreRequest? { get }
    /// The answer to the request `nextRequest` gave.
    func answered(_ answer: StoreAnswer)
    /// A Get's file (PROTOCOL.md §14.4): its header, its bytes in order, its end. Only conversations that send Get
    /// hear them. `.stop` ends the Get there (a local failure: the rest would be read for nothing).
    func getStarted(_ header: GetHeader) -> GetFlow
    func getData(_ bytes: ArraySlice<UInt8>) -> GetFlow
    func getFinished()
    /// Once, with the session's loop and a way to be asked again (`nextRequest`) for a conversation that prepares a
    /// request off the loop (a Get's resumed partial, hashed on the thread pool).
    func attach(loop: EventLoop, askAgain: @escaping () -> Void)
    /// The next request is being prepared: nothing is sent (nor Goodbye) until the conversation calls `askAgain`;
    /// no byte moves meanwhile, by design (the stall timeout waits).
    var preparing: Bool { get }
    /// The attempt ended with the request sent and unanswered: the server may have done it (a Delete, a Rename) before
    /// the connection was lost. The same request is asked again on the next attempt; its answer may then say so.
    func requestMayHaveRun()
    /// `busy` answers its requests themselves (a Delete or Rename of a name being uploaded: that name fails, the rest
    /// goes on) rather than saying the server is busy (then the request is asked again after a backoff).
    var busyAnswersTheRequest: Bool { get }
    /// The bytes the server reads before it answers the request in flight (a Verify's file): the stall timeout is
    /// extended by them, as for an upload's commit. nil: it answers at once.
    var serverReadsBeforeAnswering: UInt64? { get }
}

extension StoreConversation {
    func requestMayHaveRun() {}
    var busyAnswersTheRequest: Bool { false }
    var serverReadsBeforeAnswering: UInt64? { nil }
    func getStarted(_ header: GetHeader) -> GetFlow { .more }
    func getData(_ bytes: ArraySlice<UInt8>) -> GetFlow { .more }
    func getFinished() {}
    func attach(loop: EventLoop, askAgain: @escaping () -> Void) {}
    var preparing: Bool { false }
}

/// Whether a Get's file is still wanted (StoreConversation.getStarted, getData).
enum GetFlow {
    case more
    /// Stop receiving it: the session closes its connection (PROTOCOL.md §14.4: the one way a client stops a Get) and
    /// goes on with the next request on a new one, without counting a failure.
    case stop
}

final class StoreSession: TCPConnectionDelegate {
    private let loop: EventLoop
    private let target: ServerTarget
    private let conversation: StoreConversation
    private var budget: RetryBudget
    /// Why the conversation could not be completed; nil once it was.
    private(set) var failure: SessionFailure?
    /// A line for the user (a retry and its wait).
    var onNote: ((String) -> Void)?
    /// -v: the address connected to and the negotiated algorithms.
    var verbose = false

    private var addresses: [ResolvedAddress] = []
    private var tcp: TCPConnection?
    /// Connecting to the server's addresses in turn; nil once connected or failed.
    private var dialer: AddressDialer?
    private var connection: ClientConnection?
    private var watch: StallWatch
    private var bytesRead: UInt64 = 0
    private let watchdog: LoopTimer
    private var retryTimer: LoopTimer?
    /// The current attempt ended (its failure handled); callbacks of its socket are ignored from then on.
    private var attemptOver = true
    private var saidGoodbye = false
    private var done = false
    /// A request was sent in this attempt and is not answered yet.
    private var awaitingAnswer = false

    init(loop: EventLoop, target: ServerTarget, conversation: StoreConversation) {
        self.loop = loop
        self.target = target
        self.conversation = conversation
        budget = RetryBudget(policy: target.retry)
        watch = StallWatch(phase: nil, timeouts: target.timeouts)
        watchdog = LoopTimer(loop: loop)
        conversation.attach(loop: loop) { [weak self] in self?.askAgain() }
    }

    /// Runs the conversation to its end; nil when every request was answered.
    func run() -> SessionFailure? {
        resolve()
        loop.run()
        return failure
    }

    /// The paths as typed, normalised and checked (a usage error when one cannot be sent), and the server and
    /// credentials `connection` names, for `ferry <command>`.
    static func prepare(command: String, paths typed: [String], connection: ConnectionOptions) throws
        -> (target: ServerTarget, paths: [String]) {
        let environment = try ClientEnvironment(ProcessInfo.processInfo.environment)
        let paths = typed.map(RemotePath.normalized)
        for path in paths {
            if let problem = StoreRequest.stat(StatRequest(path: path)).problem { throw ValidationError("\(path): \(problem)") }
        }
        let settings = try connection.settings(environment, command: command)
        return (try connection.target(environment, settings, command: command), paths)
    }

    /// Each conversation in a session of its own, all on one loop at once; notes and each session's failure on
    /// stderr. Returns the sessions' failures, in the conversations' order.
    /// `tick`, when given, runs every 200 ms while they do (a progress line).
    /// `interruption`, when given, is stopped by SIGINT or SIGTERM: every session ends where it is (a Get's partial is
    /// kept: the caller lets it go), the signal is recorded in it, and a second signal exits at once with 128 + it.
    static func run(command: String, target: ServerTarget, _ conversations: [StoreConversation], verbose: Bool = false,
                    tick: (() -> Void)? = nil, interruption: StoreInterruption? = nil) throws -> [SessionFailure?] {
        let loop = try EventLoop()
        let sessions = conversations.map { StoreSession(loop: loop, target: target, conversation: $0) }
        for session in sessions {
            session.verbose = verbose
            session.onNote = { FileHandle.standardError.write(Data("ferry \(command): \($0)\n".utf8)) }
            session.resolve()
        }
        interruption?.watch(loop, command: command) {
            for session in sessions { session.interrupt() }
        }
        defer { interruption?.close() }
        let ticker = tick.map { body in
            let timer = LoopTimer(loop: loop)
            timer.keepsLoopAlive = false  // the sessions keep the loop running; the ticks follow them
            timer.start(afterMilliseconds: 200, repeatMilliseconds: 200, body)
            return timer
        }
        loop.run()
        ticker?.close()  // its close callback runs in loop.close()
        _ = loop.close()
        if interruption?.signal == nil {
            for failure in sessions.compactMap(\.failure) {
                FileHandle.standardError.write(Data("ferry \(command): \(failure.message)\n".utf8))
            }
        }
        return sessions.map(\.failure)
    }

    /// `ferry <command>` (ls, stat): `prepare`, then the conversation `make` builds for the paths, in one session.
    /// Returns the failure, for the command's exit status.
    static func run(command: String, paths typed: [String], connection: ConnectionOptions, verbose: Bool = false,
                    _ make: ([String]) -> StoreConversation) throws -> SessionFailure? {
        let (target, paths) = try prepare(command: command, paths: typed, connection: connection)
        return try run(command: command, target: target, [make(paths)], verbose: verbose).first ?? nil
    }

    // MARK: Attempts

    private func resolve() {
        AddressResolver.resolve(loop: loop, host: target.host, port: target.port) { [self] result in
            guard !done else { return }  // interrupted while the name was resolved
            switch result {
            case .success(let resolved):
                addresses = resolved
                note(verbose, "\(target.host) resolved to \(resolved.map(\.description).joined(separator: ", "))")
                startAttempt()
            case .failure(let error):
                attemptFailed(UploadEngine.resolutionFailure(target.host, error), resolveAgain: true)
            }
        }
    }

    private func startAttempt() {
        guard !done else { return }
        attemptOver = false
        saidGoodbye = false
        bytesRead = 0
        watchdog.start(afterMilliseconds: 1000, repeatMilliseconds: 1000) { [self] in check() }
        connect()
    }

    private func connect() {
        let dialer = AddressDialer(loop: loop, host: target.host, port: target.port, timeouts: target.timeouts,
                                   addresses: addresses)
        self.dialer = dialer
        dialer.dial(attempting: { [self] in watch.phase = .connecting(since: EventLoop.hrtimeNanoseconds) },
                    connected: { [self] tcp, address in
            self.dialer = nil
            self.tcp = tcp
            tcp.delegate = self
            note(verbose, "connected to \(address)")
            watch.phase = .handshaking(since: EventLoop.hrtimeNanoseconds)
            do {
                connection = try ClientConnection.open(on: tcp, configuration: target.configuration)
                tcp.startReading()
            } catch {
                attemptFailed(SessionFailure(.local, "\(error)"))
            }
        }, failed: { [self] failure in
            self.dialer = nil
            attemptFailed(failure)
        })
    }

    private func check() {
        let reading = awaitingAnswer ? conversation.serverReadsBeforeAnswering : nil
        switch watch.check(now: EventLoop.hrtimeNanoseconds, moved: bytesRead + (tcp?.writtenBytes ?? 0),
                           committingSize: reading, hashingLocally: conversation.preparing, serverReading: reading != nil) {
        case nil: break
        case .connect:
            dialer?.timeOut()
        case .end(let message):
            attemptFailed(SessionFailure(.timedOut, message))
        }
    }

    /// The attempt failed: tried again after the backoff when RetryPolicy allows, else the conversation fails.
    private func attemptFailed(_ failure: SessionFailure, resolveAgain: Bool = false) {
        guard !done else { return }
        endAttempt()
        switch budget.failed(failure, unitRandom: { Double.random(in: 0..<1) }) {
        case .giveUp:
            finish(failure)
        case .retry(let number, let delay):
            onNote?("\(failure.message); trying again in \(String(format: "%.1f", delay)) s (retry \(number) of "
                + "\(target.retry.retries))")
            let timer = LoopTimer(loop: loop)
            retryTimer = timer
            timer.start(afterMilliseconds: UInt64(delay * 1000)) { [self] in
                timer.close()
                retryTimer = nil
                if resolveAgain || addresses.isEmpty { resolve() } else { startAttempt() }
            }
        }
    }

    private func endAttempt() {
        if awaitingAnswer { conversation.requestMayHaveRun() }
        awaitingAnswer = false
        attemptOver = true
        watchdog.stop()
        watch.phase = nil
        dialer?.cancel()
        dialer = nil
        tcp?.delegate = nil
        tcp?.close()
        tcp = nil
        connection = nil
    }

    private func finish(_ failure: SessionFailure?) {
        guard !done else { return }
        done = true
        self.failure = failure
        endAttempt()
        watchdog.close()
        retryTimer?.close()
        retryTimer = nil
    }

    private func note(_ wanted: Bool, _ line: String) { if wanted { onNote?(line) } }

    // MARK: TCPConnectionDelegate

    func connection(_ connection: TCPConnection, didRead bytes: UnsafeRawBufferPointer) {
        guard !attemptOver else { return }
        bytesRead += UInt64(bytes.count)
        self.connection?.receive(bytes)
        drain()
    }

    /// While a Get's file arrives, the socket is read straight into the session's receive buffer, where its records
    /// are decrypted in place: no copy out of the loop's shared read buffer (SessionDriver does the same for uploads).
    func readBuffer(for connection: TCPConnection) -> UnsafeMutableRawBufferPointer? {
        guard !attemptOver, self.connection?.isReceivingFile == true else { return nil }
        return self.connection?.receiveSpace(minimum: Limits.maxRecordBodyAfterAuthentication + Limits.recordHeaderLength,
                                             preferredCapacity: 512 << 10)
    }

    func connection(_ connection: TCPConnection, didReadInPlace count: Int) {
        guard !attemptOver else { return }
        bytesRead += UInt64(count)
        self.connection?.didReceive(count: count)
        drain()
    }

    func connectionDidReachEnd(_ connection: TCPConnection) { lost("the server closed the connection") }

    func connection(_ connection: TCPConnection, didFail error: UVError) { lost("connection error: \(error.message)") }

    func connectionDidDrain(_ connection: TCPConnection) {}

    func connectionDidClose(_ connection: TCPConnection) { lost("the connection closed") }

    private func lost(_ message: String) {
        guard !attemptOver else { return }
        if saidGoodbye { return finish(nil) }
        attemptFailed(SessionFailure(.connectionLost, message))
    }

    // MARK: The conversation

    /// Each event handled as it comes: a Get's bytes are written before the next record is decrypted, so no slice
    /// of the receive buffer outlives its turn (holding one would make the buffer copy itself).
    private func drain() {
        while !attemptOver, var connection {
            self.connection = nil
            let next: ClientEvent?
            do throws(ProtocolError) {
                next = try connection.nextEvent(now: Clock.now())
            } catch {
                self.connection = connection
                flush()
                return attemptFailed(SessionFailure.from(error, advice: target.advice))
            }
            self.connection = connection
            guard let event = next else { break }
            handle(event)
        }
        flush()
    }

    private func handle(_ event: ClientEvent) {
        switch event {
        case .handshakeCompleted(let parameters):
            note(verbose, "authenticated \(parameters.peerIdentity): \(parameters.cipherSuite.name), \(parameters.group.name)")
            watch.phase = .flowing(mark: bytesRead + (tcp?.writtenBytes ?? 0), since: EventLoop.hrtimeNanoseconds)
            guard connection?.storeAgreed == true else {
                // Not a failure another attempt could get past.
                finish(SessionFailure(.local, "the server does not offer ls, stat, get, rm, mv or verify (a ferryd older "
                    + "than this ferry): ask its operator to upgrade it"))
                return
            }
            ask()
        case .storeAnswered(.failed(let failure)) where failure.code == .busy && !conversation.busyAnswersTheRequest:
            // The server is shutting down: not an answer about the path; the request is asked again on a new
            // session, after the backoff.
            awaitingAnswer = false
            attemptFailed(SessionFailure(.busy, "server busy: \(failure.message)"))
        case .storeAnswered(let answer):
            awaitingAnswer = false
            budget.progressed()
            conversation.answered(answer)
            ask()
        case .peerClosed:
            attemptFailed(SessionFailure(.connectionLost, "the server ended the session"))
        case .getStarted(let header):
            if conversation.getStarted(header) == .stop { stopGet() }
        case .getData(let bytes):
            if conversation.getData(bytes) == .stop { stopGet() }
        case .getFinished:
            awaitingAnswer = false
            budget.progressed()
            conversation.getFinished()
            ask()
        case .rotated:
            break
        case .uploadAccepted, .uploadCommitted, .uploadAlreadyStored, .uploadFailed, .pipelinedAnswered:
            break  // no upload is sent here: the protocol delivers none of these
        }
    }

    /// The conversation stopped the Get in flight: this connection ends (the server sees it go, as PROTOCOL.md §14.4
    /// says a client stops a Get), and the next request goes on a new one, on the loop's next turn (not inside the
    /// read that brought the data). Not a failure: the retry budget is untouched.
    private func stopGet() {
        awaitingAnswer = false
        endAttempt()
        let timer = LoopTimer(loop: loop)
        retryTimer = timer
        timer.start(afterMilliseconds: 0) { [self] in
            timer.close()
            retryTimer = nil
            if conversation.nextRequest == nil, !conversation.preparing { finish(nil) } else { startAttempt() }
        }
    }

    /// Ends the conversation where it is (SIGINT, SIGTERM): the connection closes, nothing is tried again.
    func interrupt() {
        finish(SessionFailure(.local, "interrupted"))
    }

    /// The conversation has its next request ready (it was preparing it).
    private func askAgain() {
        guard !attemptOver, !done else { return }
        ask()
    }

    /// The next request, or Goodbye once there is none.
    private func ask() {
        guard var connection, connection.canSendStoreRequest else { return }
        let next = conversation.nextRequest
        if next == nil, conversation.preparing { return }  // asked again when it is ready
        if let request = next?.inNamespace(target.namespace) {
            if let problem = request.problem {
                // A name the conversation made (a move's new name past 4,096 bytes): that request fails here.
                self.connection = connection
                conversation.answered(.failed(UploadFailure(.badPath, problem)))
                return ask()
            }
            connection.sendStoreRequest(request, now: Clock.now())
            awaitingAnswer = true
        } else {
            connection.goodbye(now: Clock.now())
            saidGoodbye = true
        }
        self.connection = connection
        flush()
        if saidGoodbye { tcp?.closeAfterPendingWrites() }
    }

    private func flush() {
        guard let tcp, var connection else { return }
        let output = connection.takeOutput()
        self.connection = connection
        if !output.isEmpty { tcp.write(output) }
    }
}
