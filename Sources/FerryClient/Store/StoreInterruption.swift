// SIGINT and SIGTERM during a store command that can stop part-way and go on later (`ferry get`): the first stops
// every session where it is — each file being got keeps its partial, which the next run goes on from — and the
// command reports what it got and what was interrupted, exiting with 128 + the signal (130, 143) as a shell reports a
// death by it; a second one exits at once. Through the loop (libuv forwards the signal), never in a signal handler.
import EventLoop
import Foundation

final class StoreInterruption {
    /// The signal that stopped the command, once one did.
    private(set) var signal: Int32?
    private var watchers: [SignalWatcher] = []

    func watch(_ loop: EventLoop, command: String, stop: @escaping () -> Void) {
        for number in [SIGINT, SIGTERM] {
            // A watcher that cannot be set up leaves that signal's default: Ctrl-C then just ends the command.
            guard let watcher = try? SignalWatcher(loop: loop, signal: number, { [self] number in
                guard signal == nil else {
                    OutputStreams.writeError("ferry \(command): \(Interruption.name(of: number)) again: quitting now\n")
                    exit(128 + number)
                }
                signal = number
                OutputStreams.writeError("ferry \(command): \(Interruption.name(of: number)): stopping (what arrived is kept "
                    + "for the next run; \(number == SIGINT ? "Ctrl-C" : "the signal") again quits at once)\n")
                stop()
            }) else { continue }
            watcher.keepsLoopAlive = false
            watchers.append(watcher)
        }
    }

    func close() {
        for watcher in watchers { watcher.close() }
        watchers = []
    }
}
