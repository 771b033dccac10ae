// Runs the sessions of one load test on one event loop, phase by phase:
//
//   [staging] ──(files stored)──► establishing idle ──(K idle sessions up or failed)──► load
//   one session stores             at most 256 handshakes in flight
//   the files the load reads       (the listen backlog is 511)
//
//   load ──(work done, or --max-seconds / SIGINT)──► closing
//   closed loop: N slots, each repeating its          Goodbye to the idle ones;
//   session until --duration (or once);               loop ends
//   open loop: OpenLoopSchedule, ≤ N in flight
//
// Staging runs only when the mix has get or list above 0 (LoadTarget.filesToStage). The gets read files stored before
// the load rather than what the load's puts store, so a get never waits for or races a put, the first operation of a
// session may be a get, every get reads a file of the same size, and a run of gets alone (--mix get=1) works; and the
// directory the lists read exists from the first list on. Staging is in no figure (its handshake, uploads, time and
// rotations are not counted); its failures are, and a run whose staging failed stops there (stopped: why) without
// starting the load.
//
// One sweep timer (100 ms) ticks every live session (timeouts, time-based rotation); the daemon sampler has its own.
// Everything runs on the loop thread.
import EventLoop
import Foundation

final class LoadRunner: LoadSessionDelegate {
    /// Idle sessions handshaking at once: well under the daemon's listen backlog (511), so no SYN is dropped.
    static let maximumIdleHandshakesInFlight = 256
    static let sweepMilliseconds: UInt64 = 100
    static let progressIntervalNanoseconds: UInt64 = 5_000_000_000
    /// How long the closing phase may take before the loop is stopped regardless.
    static let closingGraceMilliseconds: UInt64 = 5_000

    enum Phase { case staging, establishingIdle, load, closing }

    private let loop: EventLoop
    private let plan: LoadTestPlan
    private let target: LoadTarget
    private let sampler: DaemonSampler?
    private let diagnostics: Diagnostics
    private let deadline: UInt64
    let stats = LoadStats()

    private var phase = Phase.establishingIdle
    private var live: [ObjectIdentifier: LoadSession] = [:]
    private var stopReason: String?

    // Idle sessions.
    private var idleToStart: Int
    private var idleHandshaking: Set<ObjectIdentifier> = []
    private var idleOpen: Set<ObjectIdentifier> = []
    private(set) var idleEstablished = 0
    private(set) var idleOpenAtEnd = 0

    // Load.
    private let schedule: OpenLoopSchedule?
    private var slotsRunning = 0
    private var inFlight = 0
    private var released = 0
    /// Sessions due (released) but not started yet: indices `nextToStart..<released`, started in order.
    private var nextToStart = 0
    private var backlog: Int { released - nextToStart }
    private(set) var sessionsStarted = 0
    private var windowOver = false

    // Clocks (hrtime nanoseconds) and CPU.
    private(set) var runStartedAt: UInt64 = 0
    private(set) var idleEstablishedAt: UInt64?
    private(set) var loadStartedAt: UInt64?
    private(set) var loadEndedAt: UInt64?
    private var clientCPUAtLoadStart = 0.0
    private(set) var clientCPUSeconds = 0.0

    private var sweepTimer: LoopTimer?
    private var loadTimer: LoopTimer?
    private var deadlineTimer: LoopTimer?
    private var signalWatchers: [SignalWatcher] = []
    private var lastProgress: UInt64 = 0

    /// `deadline`: hrtime at which --max-seconds is reached (counted from the command's start).
    init(loop: EventLoop, plan: LoadTestPlan, target: LoadTarget, sampler: DaemonSampler?, diagnostics: Diagnostics,
         deadline: UInt64) {
        self.loop = loop
        self.plan = plan
        self.target = target
        self.sampler = sampler
        self.diagnostics = diagnostics
        self.deadline = deadline
        idleToStart = plan.idleSessions
        schedule = plan.rate.map { OpenLoopSchedule(rate: $0, duration: plan.duration ?? 0) }
    }

    /// Runs every phase; returns when the loop has nothing left (or the closing grace ran out).
    func run() {
        runStartedAt = EventLoop.hrtimeNanoseconds
        lastProgress = runStartedAt
        sampler?.start(loop: loop)
        let sweep = LoopTimer(loop: loop)
        sweep.start(afterMilliseconds: Self.sweepMilliseconds, repeatMilliseconds: Self.sweepMilliseconds) { [unowned self] in
            self.sweep()
        }
        sweepTimer = sweep
        let bound = LoopTimer(loop: loop)
        let now = EventLoop.hrtimeNanoseconds
        bound.start(afterMilliseconds: deadline > now ? (deadline - now) / 1_000_000 : 0) { [unowned self] in
            self.stop(reason: "--max-seconds \(formatSeconds(self.plan.maxSeconds)) reached")
        }
        deadlineTimer = bound
        for signal in [SIGINT, SIGTERM] {
            if let watcher = try? SignalWatcher(loop: loop, signal: signal, { [unowned self] number in
                self.stop(reason: number == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)")
            }) {
                signalWatchers.append(watcher)
            }
        }

        if target.filesToStage > 0 {
            startStaging(files: target.filesToStage)
        } else {
            startIdleOrLoad()
        }
        loop.run()
    }

    private func startIdleOrLoad() {
        phase = .establishingIdle
        // CPU is measured over the load phase; a run without load sessions measures the idle sessions' setup instead.
        if plan.sessions == 0 { startCPUWindow() }
        if plan.idleSessions > 0 {
            diagnostics.say("opening \(plan.idleSessions) idle sessions (at most \(Self.maximumIdleHandshakesInFlight) handshakes at once)…")
            fillIdle()
        } else {
            startLoad()
        }
    }

    // MARK: Staging

    private func startStaging(files: Int) {
        phase = .staging
        diagnostics.say("storing \(files) \(files == 1 ? "file" : "files") of \(ReportTable.bytes(plan.size)) before the load…")
        let session = LoadSession(work: SessionWork(kind: .stage(files: files), slot: 0, iteration: 0), target: target,
                                  loop: loop, delegate: self)
        live[ObjectIdentifier(session)] = session
        session.start()
    }

    private func stagingEnded(completed: Bool) {
        guard phase == .staging else { return }  // stopped meanwhile: stop() goes on to closing
        let now = EventLoop.hrtimeNanoseconds
        guard completed else {
            stopReason = "the files the load reads could not be stored first"
            diagnostics.say("stopping: \(stopReason ?? "")")
            return endLoad()
        }
        diagnostics.say(String(format: "stored in %.2f s", Double(now - runStartedAt) / 1e9))
        // The figures start here: staging is in none of them.
        runStartedAt = now
        lastProgress = now
        startIdleOrLoad()
    }

    // MARK: Idle sessions

    private func fillIdle() {
        while phase == .establishingIdle, idleToStart > 0, idleHandshaking.count < Self.maximumIdleHandshakesInFlight {
            idleToStart -= 1
            let session = LoadSession(work: SessionWork(kind: .idle, slot: plan.idleSessions - idleToStart - 1, iteration: 0),
                                      target: target, loop: loop, delegate: self)
            let id = ObjectIdentifier(session)
            live[id] = session
            idleHandshaking.insert(id)
            session.start()
        }
        if phase == .establishingIdle, idleToStart == 0, idleHandshaking.isEmpty {
            idleEstablishedAt = EventLoop.hrtimeNanoseconds
            sampler?.idleEstablished()
            let seconds = Double(idleEstablishedAt! - runStartedAt) / 1e9
            diagnostics.say("idle sessions: \(idleOpen.count) of \(plan.idleSessions) established in \(String(format: "%.2f", seconds)) s")
            startLoad()
        }
    }

    // MARK: Load

    private func startLoad() {
        guard phase == .establishingIdle else { return }
        phase = .load
        let now = EventLoop.hrtimeNanoseconds
        loadStartedAt = now
        if plan.sessions > 0 { startCPUWindow() }
        if plan.sessions > 0 { diagnostics.say("load: \(describeLoad())…") }
        if let duration = plan.duration {
            let timer = LoopTimer(loop: loop)
            loadTimer = timer
            if schedule == nil {
                timer.start(afterMilliseconds: UInt64(duration * 1000)) { [unowned self] in
                    windowOver = true
                    checkLoadDone()
                }
            }
        } else {
            windowOver = true
        }
        if schedule != nil {
            release()
        } else {
            slotsRunning = plan.sessions
            for slot in 0..<plan.sessions { startLoadSession(slot: slot, iteration: 0, lateness: 0) }
        }
        checkLoadDone()
    }

    private func startCPUWindow() {
        clientCPUAtLoadStart = ProcessStats.ownCPUSeconds()
        sampler?.loadStarted()
    }

    private func startLoadSession(slot: Int, iteration: Int, lateness: UInt64) {
        let session = LoadSession(work: SessionWork(kind: .load(operations: plan.filesPerSession), slot: slot,
                                                    iteration: iteration, lateness: lateness),
                                  target: target, loop: loop, delegate: self)
        live[ObjectIdentifier(session)] = session
        sessionsStarted += 1
        session.start()
    }

    /// Open loop: moves every session now due to the backlog, starts what the slots allow, re-arms for the next.
    private func release() {
        guard phase == .load, let schedule, let start = loadStartedAt else { return }
        let now = EventLoop.hrtimeNanoseconds
        released = max(released, schedule.dueCount(after: now - start))
        startFromBacklog()
        if released < schedule.count {
            let next = start + schedule.offset(of: released)
            loadTimer?.start(afterMilliseconds: next > now ? (next - now + 999_999) / 1_000_000 : 0) { [unowned self] in release() }
        } else {
            let end = start + UInt64(schedule.duration * 1e9)
            if now >= end {
                windowOver = true
            } else {
                loadTimer?.start(afterMilliseconds: (end - now + 999_999) / 1_000_000) { [unowned self] in
                    windowOver = true
                    checkLoadDone()
                }
            }
        }
    }

    private func startFromBacklog() {
        guard let schedule, let start = loadStartedAt else { return }
        while phase == .load, inFlight < plan.sessions, backlog > 0 {
            let index = nextToStart
            nextToStart += 1
            let due = start + schedule.offset(of: index)
            let now = EventLoop.hrtimeNanoseconds
            inFlight += 1
            startLoadSession(slot: index, iteration: 0, lateness: now > due ? now - due : 0)
        }
    }

    private func checkLoadDone() {
        guard phase == .load else { return }
        let done: Bool
        if let schedule {
            done = windowOver && released == schedule.count && backlog == 0 && inFlight == 0
        } else {
            done = slotsRunning == 0 && (plan.sessions > 0 || windowOver)
        }
        if done { endLoad() }
    }

    private func describeLoad() -> String {
        var text = ReportTable.describe(sessions: plan.sessions, files: plan.filesPerSession, size: plan.size, mix: plan.mix)
        if let rate = plan.rate { text += ", \(formatSeconds(rate)) sessions/s" }
        if let duration = plan.duration { text += " for \(formatSeconds(duration)) s" }
        return text
    }

    // MARK: Stopping and closing

    /// --max-seconds or a signal: every session not finished counts as a timeout; then the run closes.
    private func stop(reason: String) {
        guard phase != .closing else { return }
        stopReason = reason
        diagnostics.say("stopping: \(reason)")
        let failure = LoadFailure(.timeout, "unfinished when the run stopped: \(reason)")
        // Work that was due but never started.
        var notStarted = backlog
        if phase == .establishingIdle || phase == .staging {
            notStarted += idleToStart
            if schedule == nil { notStarted += plan.sessions }  // the closed-loop slots were due at the start
        }
        idleToStart = 0
        nextToStart = released
        stats.failed(failure, count: notStarted)
        let stopping = phase
        phase = .closing  // no session starts from here on
        for session in Array(live.values) where !session.isIdle { session.stop(failure) }
        phase = stopping
        endLoad()
    }

    private func endLoad() {
        guard phase != .closing else { return }
        phase = .closing
        let now = EventLoop.hrtimeNanoseconds
        loadStartedAt = loadStartedAt ?? now
        loadEndedAt = now
        clientCPUSeconds = ProcessStats.ownCPUSeconds() - clientCPUAtLoadStart
        if idleEstablishedAt == nil, plan.idleSessions > 0 { idleEstablishedAt = now }
        sampler?.loadEnded()
        sampler?.stop()
        idleOpenAtEnd = idleOpen.count
        for timer in [sweepTimer, loadTimer, deadlineTimer] { timer?.close() }
        for watcher in signalWatchers { watcher.close() }
        signalWatchers = []
        for id in idleOpen { live[id]?.closeIdle() }
        // The loop ends once every socket has closed; a peer that never lets go does not hold the report up.
        let grace = LoopTimer(loop: loop)
        grace.keepsLoopAlive = false
        grace.start(afterMilliseconds: Self.closingGraceMilliseconds) { [unowned self] in loop.stop() }
    }

    private func sweep() {
        let now = EventLoop.hrtimeNanoseconds
        for session in Array(live.values) { session.tick(now: now) }
        if now - lastProgress >= Self.progressIntervalNanoseconds {
            lastProgress = now
            let seconds = Double(now - runStartedAt) / 1e9
            let work = plan.mix == nil ? "\(stats.uploads) uploads (\(ReportTable.bytes(stats.bytes)))"
                : "\(stats.operationsCompleted) operations"
            diagnostics.say(String(format: "%6.1f s: ", seconds) + "\(stats.handshakes) handshakes, \(work), "
                + "\(live.count) sessions open, \(stats.totalErrors) errors")
        }
    }

    // MARK: LoadSessionDelegate

    func sessionDidCompleteHandshake(_ session: LoadSession, nanoseconds: UInt64) {
        if case .stage = session.work.kind { return }
        stats.handshakeCompleted(nanoseconds: nanoseconds)
        guard session.work.kind == .idle else { return }
        let id = ObjectIdentifier(session)
        idleHandshaking.remove(id)
        idleOpen.insert(id)
        idleEstablished += 1
        fillIdle()
    }

    func session(_ session: LoadSession, completed operation: LoadOperation, nanoseconds: UInt64, bytes: UInt64) {
        if case .stage = session.work.kind { return }
        stats.completed(operation, nanoseconds: nanoseconds, bytes: bytes)
    }

    func session(_ session: LoadSession, didFail failure: LoadFailure) {
        if case .stage = session.work.kind {
            // Counted (the run has an error) but against no operation: no measured operation failed.
            return stats.failed(LoadFailure(failure.kind, "before the load: \(failure.message)"))
        }
        stats.failed(failure)
    }

    func sessionDidEnd(_ session: LoadSession, completed: Bool, rotations: (sent: Int, received: Int)) {
        let id = ObjectIdentifier(session)
        live[id] = nil
        if case .stage = session.work.kind { return stagingEnded(completed: completed) }
        stats.rotations(sent: rotations.sent, received: rotations.received)
        switch session.work.kind {
        case .idle:
            idleOpen.remove(id)
            if idleHandshaking.remove(id) != nil { fillIdle() }
        case .stage:
            break  // above
        case .load:
            if completed { stats.sessionCompleted() }
            guard phase == .load else { return }
            if schedule != nil {
                inFlight -= 1
                startFromBacklog()
            } else if !windowOver, EventLoop.hrtimeNanoseconds - loadStartedAt! < UInt64((plan.duration ?? 0) * 1e9) {
                startLoadSession(slot: session.work.slot, iteration: session.work.iteration + 1, lateness: 0)
                return
            } else {
                slotsRunning -= 1
            }
            checkLoadDone()
        }
    }

    // MARK: Results

    var stoppedBecause: String? { stopReason }

    /// Seconds from the first idle connect (or the load's start) to the load's end.
    var elapsedSeconds: Double { Double((loadEndedAt ?? runStartedAt) - runStartedAt) / 1e9 }
    var loadSeconds: Double { Double((loadEndedAt ?? 0) - (loadStartedAt ?? loadEndedAt ?? 0)) / 1e9 }
    var idleSeconds: Double? { idleEstablishedAt.map { Double($0 - runStartedAt) / 1e9 } }
}
