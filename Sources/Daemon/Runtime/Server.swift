// The running daemon: N workers on SO_REUSEPORT listeners, and the main thread's loop that owns the signals.
//
//   SIGTERM / SIGINT (first):  drain — stop accepting, let uploads in flight finish for `shutdown_grace` seconds,
//                              close the rest, exit 0
//   SIGTERM / SIGINT (second): exit at once
import EventLoop
import Foundation
import Logging

final class Server {
    private let settings: RuntimeSettings
    private let logger: Logger
    private let shared = DaemonShared()
    private var workers: [Worker] = []

    init(settings: RuntimeSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
    }

    /// Runs until a shutdown signal; throws if a listener cannot be set up.
    func run() throws {
        let mainLoop = try EventLoop()
        for index in 0..<settings.workers {
            let worker = Worker(index: index, settings: settings, shared: shared, logger: logger)
            do {
                try worker.start()
            } catch {
                for started in workers { started.send(.stopNow) }
                for started in workers { started.join() }
                throw error
            }
            workers.append(worker)
        }
        logger.info("ferryd ready", metadata: [
            "listen": "\(settings.listen.map(\.description).joined(separator: ","))",
            "workers": "\(settings.workers)", "storage": "\(settings.storageRoot.path)",
        ])

        // The main loop lives until every worker has ended: a waker (woken by the joining thread) closes its handles.
        final class Handles { var watchers: [SignalWatcher] = []; var workersDone: LoopWaker? }
        let handles = Handles()
        handles.workersDone = try LoopWaker(loop: mainLoop) {
            for watcher in handles.watchers { watcher.close() }
            handles.workersDone?.close()
        }
        var signalsSeen = 0
        let onSignal: (Int32) -> Void = { [self] signal in
            signalsSeen += 1
            if signalsSeen > 1 {
                logger.warning("second signal: exiting at once", metadata: ["signal": "\(signal)"])
                exit(1)
            }
            logger.info("shutting down: draining sessions", metadata: [
                "signal": "\(signal)", "grace_s": "\(settings.shutdownGraceSeconds)",
                "active_sessions": "\(shared.activeSessions.load(ordering: .relaxed))",
            ])
            for worker in workers { worker.send(.drain(graceSeconds: settings.shutdownGraceSeconds)) }
            let workers = self.workers
            let done = handles.workersDone
            Thread.detachNewThread {
                for worker in workers { worker.join() }
                done?.wake()
            }
        }
        handles.watchers.append(try SignalWatcher(loop: mainLoop, signal: SIGTERM, onSignal))
        handles.watchers.append(try SignalWatcher(loop: mainLoop, signal: SIGINT, onSignal))
        mainLoop.run()
        _ = mainLoop.close()
        logger.info("ferryd stopped", metadata: ["sessions_served": "\(shared.totalSessions.load(ordering: .relaxed))"])
    }
}
