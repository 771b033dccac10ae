// The signals `ferry upload` answers while it sends (through the loop: libuv's handler forwards them, so these run as
// ordinary callbacks, never inside a signal handler):
//
//   SIGINT, SIGTERM  the first stops the run (UploadEngine.stop): files being committed finish, the others are cut so
//                    the server keeps what it has, and the report says what was stored and what was interrupted;
//                    the exit status is then 128 + the signal (130, 143), as a shell reports a death by it. A second
//                    one exits at once, with that status: the person asked twice.
//   SIGWINCH         the terminal changed size: the bars are drawn again to fit it.
//
// None of them keeps the loop alive: the run ends when its sessions do.
import EventLoop
import Foundation

final class UploadSignals {
    private var watchers: [SignalWatcher] = []

    init(loop: EventLoop, engine: UploadEngine, display: ProgressDisplay) {
        for signal in [SIGINT, SIGTERM] {
            watch(loop, signal) { [unowned engine, display] number in
                guard engine.stoppedBy == nil else {
                    display.clear()
                    OutputStreams.writeError("ferry: \(Interruption.name(of: number)) again: quitting now; "
                        + "run the same command again to complete the set\n")
                    exit(128 + number)
                }
                display.note("\(Interruption.name(of: number)): stopping (files being committed finish first; "
                    + "\(number == SIGINT ? "Ctrl-C" : "the signal") again quits at once)")
                engine.stop(signal: number)
            }
        }
        watch(loop, SIGWINCH) { [display] _ in display.resized() }
    }

    private func watch(_ loop: EventLoop, _ signal: Int32, _ callback: @escaping (Int32) -> Void) {
        // A watcher that cannot be set up leaves that signal's default: the run still works, Ctrl-C just ends it.
        guard let watcher = try? SignalWatcher(loop: loop, signal: signal, callback) else { return }
        watcher.keepsLoopAlive = false
        watchers.append(watcher)
    }

    func close() {
        for watcher in watchers { watcher.close() }
        watchers = []
    }
}
