// What systemd sees of ferryd (Type=notify), driven from the main loop's thread only:
//
//   starting ──ready()──► serving ──reloading()──► reloading ──reloaded()──► serving
//       │                    │                                                  (also when the new file was refused:
//       └────────────────────┴──stopping()──► stopping                            the old configuration keeps serving)
//
//   ready()      READY=1, MAINPID=, STATUS=   after every worker's listeners accept and the signal handlers are in
//                                             place (a `systemctl reload` right after READY=1 must find SIGHUP handled)
//   reloading()  RELOADING=1, MONOTONIC_USEC=  a SIGHUP reload begins
//   reloaded()   READY=1, STATUS=             it ended, applied or refused
//   stopping()   STOPPING=1, STATUS=          the drain begins
//   timers       WATCHDOG=1 every $WATCHDOG_USEC/2; STATUS= every `statusIntervalMilliseconds` when it changed
//
// With $NOTIFY_SOCKET unset every call returns at once and no timer is armed.
import EventLoop
import Foundation
import Logging
import Units

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class SystemdService {
    enum Phase: Equatable { case starting, serving, reloading, stopping }

    /// How often STATUS= is refreshed between state changes ("every few seconds": `systemctl status` shows it; five
    /// seconds keeps the manager's work negligible even with many services doing the same).
    static let statusIntervalMilliseconds: UInt64 = 5000

    private let notifier: SystemdNotifier
    private let shared: DaemonShared
    private let pid: Int32
    /// nil: no watchdog for us.
    let watchdogIntervalMilliseconds: UInt64?
    private(set) var phase = Phase.starting
    private var watchdogTimer: LoopTimer?
    private var statusTimer: LoopTimer?
    private var lastStatus: String?

    init(notifier: SystemdNotifier, shared: DaemonShared,
         environment: [String: String] = ProcessInfo.processInfo.environment, pid: Int32 = getpid()) {
        self.notifier = notifier
        self.shared = shared
        self.pid = pid
        watchdogIntervalMilliseconds = SystemdWatchdog.pingIntervalMilliseconds(environment: environment, pid: pid)
    }

    /// Arms the watchdog and status timers on the main loop. The timers do not keep the loop alive (`close()` ends
    /// them anyway when the workers are done).
    func start(loop: EventLoop) {
        guard notifier.isEnabled, watchdogTimer == nil, statusTimer == nil else { return }
        if let interval = watchdogIntervalMilliseconds {
            let timer = LoopTimer(loop: loop)
            timer.start(afterMilliseconds: interval, repeatMilliseconds: interval) { [notifier] in
                notifier.send(NotifyMessage.watchdog)
            }
            timer.keepsLoopAlive = false
            watchdogTimer = timer
        }
        let timer = LoopTimer(loop: loop)
        timer.start(afterMilliseconds: Self.statusIntervalMilliseconds, repeatMilliseconds: Self.statusIntervalMilliseconds) {
            [weak self] in self?.refreshStatus()
        }
        timer.keepsLoopAlive = false
        statusTimer = timer
    }

    /// Start-up finished.
    func ready() {
        guard phase == .starting else { return }
        phase = .serving
        send(NotifyMessage.ready(mainPID: pid, status: statusText()))
    }

    /// A SIGHUP reload begins.
    func reloading() {
        guard phase == .serving else { return }
        phase = .reloading
        lastStatus = nil
        notifier.send(NotifyMessage.reloading(monotonicMicroseconds: NotifyMessage.monotonicMicroseconds()))
    }

    /// The reload ended, whatever its outcome.
    func reloaded() {
        guard phase == .reloading else { return }
        phase = .serving
        send(NotifyMessage.reloaded(status: statusText()))
    }

    /// The drain begins (first SIGTERM / SIGINT).
    func stopping() {
        guard phase != .stopping else { return }
        phase = .stopping
        send(NotifyMessage.stopping(status: statusText()))
    }

    /// Closes the timers (the main loop is ending).
    func close() {
        watchdogTimer?.close()
        watchdogTimer = nil
        statusTimer?.close()
        statusTimer = nil
    }

    /// The STATUS= text for the current phase: what `systemctl status ferryd` shows under "Status:".
    func statusText() -> String {
        let active = shared.activeSessions.load(ordering: .relaxed)
        let received = ByteSize.approximate(shared.bytesReceived.load(ordering: .relaxed))
        let counts = "\(active) active session\(active == 1 ? "" : "s"), \(received) received"
        switch phase {
        case .starting: return "starting"
        case .serving: return "serving: " + counts
        case .reloading: return "reloading the configuration"
        case .stopping: return "draining: " + counts
        }
    }

    private func refreshStatus() {
        let text = statusText()
        guard text != lastStatus else { return }
        lastStatus = text
        notifier.send(NotifyMessage.status(text))
    }

    private func send(_ message: String) {
        lastStatus = statusText()
        notifier.send(message)
    }
}
