// Runs an upload plan over N concurrent sessions on one event loop: each session takes the next file from a shared
// queue when its previous one is committed, so N files are in flight at once.
//
// Retry (issue #15, point 4; the policy is RetryPolicy, the engine performs it): each of the N session slots is
//
//   running ──ended, retryable, retries left──► waiting (backoff timer) ──► running (a new session)
//      └──ended otherwise, or nothing left to send──► done
//
// A session that ends hands back the file it was sending; the engine puts it at the head of the queue (it is sent
// again: the server answers its Open with the offset it kept) or, when the slot gives up, fails it with the reason.
// Files not started wait in the queue meanwhile. A file is thus in exactly one place — queued, in one session, or
// finished — and never sent twice at once nor lost. Once no slot is running or waiting, what is still queued fails
// with the last reason.
//
// Stopping (`stop`, on SIGINT or SIGTERM): no file is started any more and no slot tries again; each session is
// interrupted (ClientSession.interrupt: a file being committed finishes, the others are cut so that the server keeps
// their partials), and every file not done ends as interrupted — with where the next run resumes it, when known.
import EventLoop
import Platform
import Foundation
import Protocol

struct UploadTarget: Sendable {
    let host: String
    let port: UInt16
    let configuration: ClientConfiguration
    let overwrite: Bool
    /// --ignore-existing: a name the server holds with other content is skipped, not failed.
    var ignoreExisting = false
    /// --times (the default): the source's modification time and execute bit go with the file (PROTOCOL.md §8.9).
    var keepTimes = true
    let timeouts: ClientTimeouts
    var retry = RetryPolicy()
    /// The files and name behind the configuration, for messages that say what to change (CertificateAdvice).
    var advice: CertificateAdvice?
    /// --dry-run with a server: every file is hashed and probed (PROTOCOL.md §8.10), nothing sent; each result says
    /// what the upload would do (FileResult.dryRun).
    var dryRun = false
    /// --namespace: the area to store into (PROTOCOL.md §8.1, §14.1); "" for the client's own.
    var namespace = ""
}

final class UploadEngine {
    let loop: EventLoop
    let target: UploadTarget
    private var queue: ArraySlice<Int>
    /// Files handed back by a session that ended, sent before the rest of the queue (oldest first).
    private var requeued: [Int] = []
    private(set) var results: [FileResult]
    private var ledgers: [FileLedger]
    private var slots: [Slot] = []
    private var budgets: [RetryBudget] = []
    private var lastFailure: SessionFailure?
    /// The signal that stopped the run (`stop`); nil while it runs.
    private(set) var stoppedBy: Int32?
    /// The wait before the server's name is asked again, if one is armed.
    private var resolveTimer: LoopTimer?
    let startedAt = EventLoop.hrtimeNanoseconds
    /// File blocks (two per file in flight), reused from one file to the next.
    let blocks = IOBufferPool(bufferCapacity: ClientSession.readSize, maximumKept: 128, maximumCapacity: ClientSession.readSize)
    var onFileDone: ((FileResult) -> Void)?
    /// A line for the user: a retry and its wait, a file resumed (ProgressDisplay.note).
    var onNote: ((String) -> Void)?
    /// A number in [0, 1) for the backoff's jitter (a fixed one in tests).
    var unitRandom: () -> Double = { Double.random(in: 0..<1) }
    /// --bwlimit, shared by every session; nil: as fast as the link goes.
    var bandwidth: BandwidthLimit?
    /// -v (1) and -vv (2): how much `detail` says; 0 by default and with --quiet.
    var verbosity = 0
    /// Pipelined files are probed before they are sent (PROTOCOL.md §8.10) while the run looks like a re-run: the last
    /// answer said a file was there. A probe answered `absent` clears it. Never with --overwrite.
    lazy var probeFirst = target.dryRun || !target.overwrite

    private enum Slot {
        case running(ClientSession)
        case waiting(LoopTimer)
        case done
    }

    /// What the engine keeps of a file across its attempts.
    private struct FileLedger {
        var attempts = 0
        var firstStarted: UInt64?
        /// The offset the server accepted the latest attempt at, and the largest it ever did (progress).
        var resumedBytes: UInt64 = 0
        var furthestOffset: UInt64 = 0
        /// Data bytes sent over all attempts.
        var sentBytes: UInt64 = 0
        /// What fstat said when the file was first opened: later attempts must find the same file.
        var fingerprint: SourceFingerprint?
        /// A resumed upload failed its digest check once and was started over (RetryPolicy: once only).
        var restartedAfterMismatch = false
    }

    init(loop: EventLoop, target: UploadTarget, files: [PlannedFile]) {
        self.loop = loop
        self.target = target
        self.files = files
        queue = Array(files.indices)[...]
        results = files.map { FileResult(file: $0, stored: nil, bytes: 0, sha256: nil, seconds: 0, rotations: 0, error: nil) }
        ledgers = Array(repeating: FileLedger(), count: files.count)
    }

    /// The plan's files, by index. Stored, not derived from `results`: a session asks for one per file, and rebuilding
    /// the list each time made a run quadratic in the number of files (23 of 25 CPU-seconds at 32,000 files).
    let files: [PlannedFile]

    /// The files the sessions hold and what each is doing, in file order (the progress display's rows).
    var inFlight: [(index: Int, state: FileState)] {
        slots.compactMap { slot -> [(index: Int, state: FileState)]? in
            guard case .running(let session) = slot else { return nil }
            return session.fileStates
        }.flatMap { $0 }.sorted { $0.index < $1.index }
    }

    /// The server's addresses, in the order to try them (AddressResolver: IPv6 first where the system prefers it).
    private(set) var addresses: [ResolvedAddress] = []

    /// Resolves the server's name, then opens `parallel` sessions (no more than there are files), and runs the loop
    /// until every file has an outcome. A name that does not resolve fails every file with that reason.
    func run(parallel: Int) {
        let count = max(1, min(parallel, results.count))
        budgets = Array(repeating: RetryBudget(policy: target.retry), count: count)
        slots = Array(repeating: .done, count: count)
        resolve(budget: RetryBudget(policy: target.retry), sessions: count)
        loop.run()
    }

    /// A resolver that did not answer is asked again after the backoff; a name that does not resolve is final.
    private func resolve(budget: RetryBudget, sessions: Int) {
        AddressResolver.resolve(loop: loop, host: target.host, port: target.port) { [self] result in
            guard stoppedBy == nil else { return }  // stop() settled every file already
            switch result {
            case .success(let resolved):
                addresses = resolved
                detail(1, "\(target.host) resolved to \(resolved.map(\.description).joined(separator: ", "))")
                for slot in 0..<sessions { openSession(slot) }
            case .failure(let error):
                let failure = Self.resolutionFailure(target.host, error)
                var budget = budget
                guard case .retry(let number, let delay) = budget.failed(failure, unitRandom: unitRandom) else {
                    lastFailure = failure
                    return failQueued()
                }
                announceRetry(number: number, delay: delay, failure)
                let timer = LoopTimer(loop: loop)
                resolveTimer = timer
                timer.start(afterMilliseconds: Self.milliseconds(delay)) { [self] in
                    timer.close()
                    resolveTimer = nil
                    resolve(budget: budget, sessions: sessions)
                }
            }
        }
    }

    /// What a user reads when the server's name does not resolve.
    static func resolutionFailure(_ host: String, _ error: UVError) -> SessionFailure {
        switch error.name {
        case "EAI_NONAME", "EAI_NODATA":
            SessionFailure(.unresolvable, "cannot resolve the server name \"\(host)\": no such host "
                + "(check the spelling in --server or `server`)")
        case "EAI_AGAIN":
            SessionFailure(.resolverUnavailable, "cannot resolve the server name \"\(host)\": the name server did not "
                + "answer (try again, or check the network)")
        default:
            SessionFailure(.unresolvable, "cannot resolve the server name \"\(host)\": \(error.message) (\(error.name))")
        }
    }

    private func openSession(_ slot: Int) {
        let session = ClientSession(engine: self, slot: slot)
        slots[slot] = .running(session)
        session.start()
    }

    // MARK: Called by sessions

    /// A line for -v (`level` 1) or -vv (2), through the same channel as the notes.
    func detail(_ level: Int, _ line: @autoclosure () -> String) {
        if verbosity >= level { onNote?(line()) }
    }

    /// Whether `bytes` of Data may be sealed now under --bwlimit (taken if so).
    func takeBandwidth(_ bytes: Int) -> Bool {
        guard bandwidth != nil else { return true }
        guard bandwidth?.available(now: EventLoop.hrtimeNanoseconds) ?? 0 >= bytes else { return false }
        bandwidth?.take(bytes)
        return true
    }

    /// Milliseconds until `bytes` may be sealed under --bwlimit.
    func bandwidthDelay(_ bytes: Int) -> UInt64 { bandwidth?.delay(until: bytes) ?? 0 }

    /// The next file to send; nil once the queue is empty or the run is stopping.
    func nextFile() -> Int? { stoppedBy == nil ? takeQueued() : nil }

    private func takeQueued() -> Int? { requeued.isEmpty ? queue.popFirst() : requeued.removeFirst() }

    /// The size of the file `nextFile` would give; nil when it would give none.
    func nextFileSize() -> UInt64? {
        guard stoppedBy == nil, let index = requeued.first ?? queue.first else { return nil }
        return files[index].size
    }

    /// A file a session took but never opened on the wire (it ended, or the run is stopping): next in line again.
    func giveBack(_ index: Int) { requeued.append(index) }

    private var hasQueuedFiles: Bool { !requeued.isEmpty || !queue.isEmpty }

    /// Open is being sent for the file.
    func opening(_ index: Int) {
        ledgers[index].attempts += 1
        if ledgers[index].firstStarted == nil { ledgers[index].firstStarted = EventLoop.hrtimeNanoseconds }
    }

    /// The server took the file at `offset`. An offset beyond any before means it kept what an earlier attempt sent:
    /// progress, so the slot's retry count starts again.
    func accepted(_ index: Int, offset: UInt64, slot: Int) {
        ledgers[index].resumedBytes = offset
        if offset > ledgers[index].furthestOffset {
            ledgers[index].furthestOffset = offset
            budgets[slot].progressed()
        }
        if offset > 0 { onNote?("\(files[index].localPath): resumed at \(Figures.bytes(offset))") }
    }

    /// The fingerprint of the file from its first open (nil before): every later attempt must find the same.
    func fingerprint(_ index: Int) -> SourceFingerprint? { ledgers[index].fingerprint }

    func opened(_ index: Int, fingerprint: SourceFingerprint) {
        if ledgers[index].fingerprint == nil { ledgers[index].fingerprint = fingerprint }
    }

    /// The file's outcome (committed, or failed for good); `sent` the Data bytes of this attempt.
    func finished(_ index: Int, result: FileResult, sent: UInt64, slot: Int) {
        ledgers[index].sentBytes += sent
        if result.ok { budgets[slot].progressed() }
        finish(index, result)
        if verbosity >= 1, result.ok, !result.alreadyStored {
            let final = results[index]
            let rate = final.seconds > 0 ? Double(final.bytes) / final.seconds : 0
            detail(1, "\(final.file.localPath): stored as \(final.stored ?? final.file.remotePath) in "
                + String(format: "%.2f s (%@/s)", final.seconds, Figures.bytes(UInt64(rate)))
                + ", \(final.rotations) key rotations, attempt \(final.attempts)")
        }
    }

    /// A resumed upload failed the server's digest check: the server dropped the prefix it held, so the file may
    /// start over from byte 0 — once (the same failure again is the file's).
    func mayRestartAfterMismatch(_ index: Int) -> Bool { !ledgers[index].restartedAfterMismatch }

    /// Puts the file at the head of the queue to start over; `sent` the Data bytes of the failed attempt.
    func restartAfterMismatch(_ index: Int, sent: UInt64) {
        ledgers[index].sentBytes += sent
        ledgers[index].restartedAfterMismatch = true
        requeued.insert(index, at: 0)
    }

    /// A file a session was sending when it ended, with what it would report if it failed now.
    struct Interrupted {
        let index: Int
        let result: FileResult
        /// Data bytes sent in this attempt.
        let sent: UInt64
        /// The session was cut by `stop` and every byte it had sealed went out before its Goodbye.
        var flushed = false
    }

    /// A session ended: with no failure once it had nothing left to send, else why. RetryPolicy decides whether its
    /// slot tries again (after the backoff) and whether the file it was sending goes back to the queue or fails.
    func sessionEnded(_ session: ClientSession, failure: SessionFailure?, interrupted: [Interrupted]) {
        let slot = session.slot
        slots[slot] = .done
        for file in interrupted { ledgers[file.index].sentBytes += file.sent }
        if let stoppedBy {
            for file in interrupted { finish(file.index, Self.stopped(file, by: stoppedBy)) }
            return settle()
        }
        guard let failure else { return settle() }
        lastFailure = failure
        let decision = !interrupted.isEmpty || hasQueuedFiles ? budgets[slot].failed(failure, unitRandom: unitRandom) : .giveUp
        guard case .retry(let number, let delay) = decision else {
            for interrupted in interrupted {
                let index = interrupted.index
                var result = interrupted.result
                let attempts = ledgers[index].attempts
                result.error = failure.message + (attempts > 1 ? " (gave up after \(attempts) attempts)" : "")
                result.failure = FailureKind(failure)
                finish(index, result)
            }
            return settle()
        }
        requeued.append(contentsOf: interrupted.map(\.index))
        announceRetry(number: number, delay: delay, failure)
        let timer = LoopTimer(loop: loop)
        slots[slot] = .waiting(timer)
        timer.start(afterMilliseconds: Self.milliseconds(delay)) { [self] in
            timer.close()
            guard hasQueuedFiles else {
                slots[slot] = .done
                return settle()
            }
            openSession(slot)
        }
    }

    private func announceRetry(number: Int, delay: Double, _ failure: SessionFailure) {
        onNote?(String(format: "retrying in %.1f s (attempt %d of %d): ", delay, number + 1, target.retry.attempts)
            + failure.message)
    }

    // MARK: Stopping

    /// The user interrupted the run (`signal`: SIGINT or SIGTERM): start nothing more, retry nothing, interrupt every
    /// session; each file not done ends as interrupted. Idempotent.
    func stop(signal: Int32) {
        guard stoppedBy == nil else { return }
        stoppedBy = signal
        resolveTimer?.close()
        resolveTimer = nil
        for (slot, state) in slots.enumerated() {
            switch state {
            case .running(let session): session.interrupt()
            case .waiting(let timer):
                timer.close()
                slots[slot] = .done
            case .done: break
            }
        }
        settle()
    }

    /// The result of a file a stopped session hands back: how far it got, and where the next run takes it up.
    private static func stopped(_ interrupted: Interrupted, by signal: Int32) -> FileResult {
        var result = interrupted.result
        let resume = interrupted.flushed ? Interruption.resumePoint(sent: result.bytes) : nil
        let interruption = Interruption(signal: signal, started: true, resumeFrom: resume)
        result.interruption = interruption
        result.error = interruption.message
        return result
    }

    private static func milliseconds(_ seconds: Double) -> UInt64 { UInt64((seconds * 1000).rounded()) }

    private func finish(_ index: Int, _ result: FileResult) {
        var result = result
        let ledger = ledgers[index]
        result.attempts = ledger.attempts
        result.resumedBytes = ledger.resumedBytes
        result.sentBytes = ledger.sentBytes
        if let first = ledger.firstStarted { result.seconds = Double(EventLoop.hrtimeNanoseconds - first) / 1e9 }
        results[index] = result
        onFileDone?(result)
    }

    /// Once no slot is running or waiting, the files still queued fail with the last reason (or, when the run was
    /// stopped, end as interrupted).
    private func settle() {
        let active = slots.contains {
            switch $0 {
            case .running, .waiting: true
            case .done: false
            }
        }
        if !active { failQueued() }
    }

    private func failQueued() {
        while let index = takeQueued() {
            var result = results[index]
            if let stoppedBy {
                // A file handed back by an earlier attempt was started: the server may hold part of it.
                let interruption = Interruption(signal: stoppedBy, started: ledgers[index].attempts > 0, resumeFrom: nil)
                result.interruption = interruption
                result.error = interruption.message
                finish(index, result)
                continue
            }
            result.error = lastFailure?.message ?? "no session could be established"
            result.failure = lastFailure.map(FailureKind.init) ?? .other
            finish(index, result)
        }
    }
}
