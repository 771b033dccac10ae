// The daemon's resident memory at the moments the report names (before the load, with the idle sessions up, at the
// end), its peak sampled every 200 ms on the client's loop, and its CPU seconds over the load phase.
import EventLoop

final class DaemonSampler {
    static let intervalMilliseconds: UInt64 = 200

    let pid: Int32
    private(set) var before: Int?
    private(set) var withIdle: Int?
    private(set) var end: Int?
    private(set) var peak = 0
    private var cpuAtLoadStart: Double?
    private(set) var loadCPUSeconds: Double?
    private var timer: LoopTimer?

    init(pid: Int32) { self.pid = pid }

    /// One reading; also feeds the peak. Nil once the process is gone.
    @discardableResult
    func sample() -> Int? {
        guard let kib = ProcessStats.residentKiB(pid: pid) else { return nil }
        peak = max(peak, kib)
        return kib
    }

    func start(loop: EventLoop) {
        before = sample()
        let timer = LoopTimer(loop: loop)
        timer.start(afterMilliseconds: Self.intervalMilliseconds, repeatMilliseconds: Self.intervalMilliseconds) { [weak self] in
            self?.sample()
        }
        self.timer = timer
    }

    func idleEstablished() { withIdle = sample() }

    func loadStarted() { cpuAtLoadStart = ProcessStats.cpuSeconds(pid: pid) }

    func loadEnded() {
        end = sample() ?? end
        if let start = cpuAtLoadStart, let now = ProcessStats.cpuSeconds(pid: pid) { loadCPUSeconds = max(now - start, 0) }
    }

    func stop() {
        timer?.close()
        timer = nil
    }
}
