// The running daemon: N workers on SO_REUSEPORT listeners, and the main thread's loop that owns the signals.
// With `[metrics] listen` set, that loop also serves /metrics (Metrics/MetricsServer.swift; restart-only).
//
//   SIGTERM / SIGINT (first):  drain — stop accepting, let uploads in flight finish for `shutdown_grace` seconds,
//                              close the rest, exit 0
//   SIGTERM / SIGINT (second): exit at once
//   SIGHUP:                    reload the configuration file; an invalid file keeps the old configuration (and says
//                              why); keys that need a restart (listen, workers, storage paths) are logged as such.
//                              Every live session's client is checked again under the new trust and access rules
//                              (CRLs, CAs, deny lists): one no longer admitted is closed at once (ServerSession.apply)
//
// Under systemd (Type=notify, Systemd/SystemdService.swift): READY=1 once every listener accepts and the signal
// handlers are in place, RELOADING=1 … READY=1 around a reload, STOPPING=1 when the drain begins, WATCHDOG=1 and
// STATUS= from timers on the main loop.
import EventLoop
import Foundation
import Logging
import Store
import Platform
import Protocol

final class Server {
    private var runtime: DaemonRuntime
    private var settings: RuntimeSettings { runtime.settings }
    private let configPath: String
    private let logSettings: LogSettings
    let logger: Logger
    let shared = DaemonShared()
    let store: Store
    private var workers: [Worker] = []
    private let systemd: SystemdService
    /// CRLs past their nextUpdate that were already warned about (at load, or by the check while running).
    private var staleRevocationLists = StaleRevocationLists()
    /// ferry_certificate_expiry_timestamp_seconds and ferry_crl_next_update_timestamp_seconds, in the process's
    /// registry; republished on every reload.
    private lazy var certificateGauges = CertificateExpiryGauges(registry: shared.metrics.registry)

    init(runtime: DaemonRuntime, store: Store, configPath: String, logSettings: LogSettings, logger: Logger) {
        self.runtime = runtime
        self.store = store
        self.configPath = configPath
        self.logSettings = logSettings
        self.logger = logger
        systemd = SystemdService(notifier: SystemdNotifier(logger: logger), shared: shared)
    }

    /// SIGHUP: load and check the file (certificates included) on the main thread, then hand the new settings to the
    /// workers, which swap them on their own loop threads.
    private func reload() {
        systemd.reloading()
        defer { systemd.reloaded() }  // READY=1 also when the file is refused: the old configuration keeps serving
        let next: DaemonRuntime
        do {
            next = try DaemonRuntime.load(configPath: configPath)
        } catch {
            logger.error("reload failed: keeping the current configuration", metadata: ["error": "\(error)"])
            return
        }
        let restart = next.config.restartRequiredChanges(from: runtime.config)
        if !restart.isEmpty {
            logger.warning("reload: these settings need a restart and keep their current values",
                           metadata: ["keys": "\(restart.joined(separator: ","))"])
        }
        var applied = next.settings
        // What needs a restart stays as it is until then.
        applied.listen = settings.listen
        applied.workers = settings.workers
        applied.storageRoot = settings.storageRoot
        applied.stagingName = settings.stagingName
        applied.sharedStorage = settings.sharedStorage
        var config = next.config
        config.server.listen = runtime.config.server.listen
        config.server.workers = runtime.config.server.workers
        config.storage.root = runtime.config.storage.root
        config.storage.staging = runtime.config.storage.staging
        config.storage.shared = runtime.config.storage.shared
        config.metrics.listen = runtime.config.metrics.listen
        let changed = config.changedKeys(from: runtime.config)
        runtime = DaemonRuntime(config: config, settings: applied, warnings: next.warnings, notes: next.notes)
        runtime.certificates = next.certificates
        publishCertificates()
        for warning in next.warnings { logger.warning("configuration", metadata: ["warning": "\(warning)"]) }
        for note in next.notes { logger.notice("configuration", metadata: ["note": "\(note)"]) }
        logSettings.update(level: config.log.level, format: config.log.format)
        for worker in workers { worker.send(.reload(applied)) }
        logger.info("configuration reloaded", metadata: ["changed": "\(changed.isEmpty ? "nothing" : changed.joined(separator: ","))"])
    }

    /// Certificate warnings (an expiry within 30 days, an expired CA in a bundle) to the log, every certificate's
    /// expiry to the metrics: at start and after every reload.
    private func publishCertificates() {
        for warning in runtime.certificates.warnings {
            logger.warning("certificate warning", metadata: ["warning": "\(warning)"])
        }
        certificateGauges.publish(runtime.certificates)
        // The load warned about the CRLs stale by now (runtime.warnings); the check below says the others when due.
        staleRevocationLists.loaded(runtime.certificates.revocationLists, now: SystemClock.unixSeconds())
    }

    /// A CRL that passes its nextUpdate while the daemon runs is said in the log when it does (within a minute), once,
    /// with what identity.crl_stale makes of it: the metric alone would leave it to an alert nobody may have set up.
    private func watchRevocationLists(on loop: EventLoop) -> LoopTimer {
        let timer = LoopTimer(loop: loop)
        timer.start(afterMilliseconds: Self.expiryPeriodMilliseconds, repeatMilliseconds: Self.expiryPeriodMilliseconds) { [self] in
            let lists = runtime.certificates.revocationLists
            for list in staleRevocationLists.newlyStale(lists, now: SystemClock.unixSeconds()) {
                let warning = ClientTrust.staleWarning(file: list.file, issuer: list.issuer, nextUpdate: list.nextUpdate ?? 0,
                                                       stale: runtime.config.identity.crlStale)
                logger.warning("revocation list stale", metadata: ["warning": "\(warning)"])
            }
        }
        return timer
    }

    /// Runs until a shutdown signal; throws if a listener cannot be set up or another process holds its address.
    func run() throws {
        // Before anything of ours is bound: a holder of a listen address is refused, not joined (ListenCheck).
        try ListenCheck.ensureAvailable(settings.listen)
        publishCertificates()
        let mainLoop = try EventLoop()
        // [metrics] listen (restart-only), on this loop; bound before the workers start, so a taken port stops the
        // start with nothing to undo.
        let metrics = shared.metrics
        let upkeep = startIndexUpkeep(on: mainLoop)
        let metricsServer = try runtime.config.metrics.listen.map { address in
            try MetricsServer(loop: mainLoop, address: address, logger: logger) { [store] in
                upkeep?.refresh()  // the index's totals for the next scrape
                return metrics.exposition(partials: store.keptPartials)
            }
        }
        for index in 0..<settings.workers {
            let worker = Worker(index: index, settings: settings, shared: shared, store: store, logger: logger)
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
            "version": "\(FerryVersion.release)",
            "listen": "\(settings.listen.map(\.description).joined(separator: ","))",
            "workers": "\(settings.workers)", "storage": "\(settings.storageRoot.path)",
        ])

        // The main loop lives until every worker has ended: a waker (woken by the joining thread) closes its handles.
        final class Handles { var watchers: [SignalWatcher] = []; var workersDone: LoopWaker? }
        let handles = Handles()
        let expiry = startExpiringPartials(on: mainLoop)
        let revocationWatch = watchRevocationLists(on: mainLoop)
        handles.workersDone = try LoopWaker(loop: mainLoop) {
            expiry.close()
            revocationWatch.close()
            upkeep?.timer.close()
            for watcher in handles.watchers { watcher.close() }
            handles.workersDone?.close()
            metricsServer?.close()
            self.systemd.close()
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
            systemd.stopping()
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
        handles.watchers.append(try SignalWatcher(loop: mainLoop, signal: SIGHUP) { [self] _ in
            if signalsSeen == 0 { reload() }
        })
        systemd.start(loop: mainLoop)
        systemd.ready()
        mainLoop.run()
        _ = mainLoop.close()
        logger.info("ferryd stopped", metadata: ["sessions_served": "\(shared.totalSessions.load(ordering: .relaxed))"])
    }

    /// Partials whose client did not come back within `storage.partial_ttl` are removed: checked every minute (the
    /// TTL is at least one), on the thread pool (a few unlinks), with the TTL in force at each check. Shared, unfinished
    /// index changes — this daemon's own, and those of daemons that left the root — are settled at the same time
    /// (Store+Sharing.swift).
    private func startExpiringPartials(on loop: EventLoop) -> LoopTimer {
        let timer = LoopTimer(loop: loop)
        // One round at a time: a round slower than the period (an index that does not answer) is not joined by
        // another each minute, which would take the thread pool from the uploads.
        var running = false
        timer.start(afterMilliseconds: Self.expiryPeriodMilliseconds, repeatMilliseconds: Self.expiryPeriodMilliseconds) { [self] in
            guard !running else { return }
            running = true
            let store = self.store, ttl = settings.partialTTLSeconds
            ThreadPool.run(loop, { () -> (Int, Store.Unfinished) in
                (store.expirePartials(ttlSeconds: ttl, now: SystemClock.unixSeconds()), store.settleUnfinished())
            }, then: { [logger] removed, unfinished in
                running = false
                if removed > 0 { logger.notice("removed expired partial uploads", metadata: ["count": "\(removed)", "ttl_s": "\(ttl)"]) }
                Self.logUnfinished(unfinished, logger)
            })
        }
        return timer
    }

    /// What settling unfinished index changes (this daemon's, departed daemons') did, when it did anything.
    static func logUnfinished(_ unfinished: Store.Unfinished, _ logger: Logger) {
        if unfinished.settled > 0 || !unfinished.nodes.isEmpty {
            logger.notice("unfinished index changes settled against the stored files",
                          metadata: ["departed_nodes": "\(unfinished.nodes.joined(separator: ","))",
                                     "settled": "\(unfinished.settled)", "left_for_later": "\(unfinished.left)"])
        }
        // A few lines a round at most: an index that is down fails every intent alike, every minute.
        for failure in unfinished.failures.prefix(Self.settlingFailuresLogged) {
            logger.error("cannot settle unfinished index changes", metadata: ["error": "\(failure)"])
        }
        if unfinished.failures.count > Self.settlingFailuresLogged {
            logger.error("cannot settle unfinished index changes",
                         metadata: ["more_failures": "\(unfinished.failures.count - Self.settlingFailuresLogged)"])
        }
    }

    static let expiryPeriodMilliseconds: UInt64 = 60_000
    static let settlingFailuresLogged = 5
}
