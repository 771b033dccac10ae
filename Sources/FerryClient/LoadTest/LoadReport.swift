// The figures of one run and the JSON object `--json` prints (the schema scripts/bench reads; keys exactly as below,
// null where a figure does not apply):
//
// {"config": {"server", "spawned", "sessions", "files_per_session", "size_bytes", "rate", "duration_seconds",
//             "idle_sessions", "group", "cipher"
//             + with --mix: "mix": {"put", "get", "list"}, "seed", "get_files" (null when get weighs 0)},
//  "elapsed_seconds",
//  "handshakes": {"completed", "per_second", "latency_ms": {"p50", "p90", "p99", "p999", "max"}},
//  "uploads": {"completed", "per_second", "bytes", "mb_per_second", "latency_ms": {…}},
//  with --mix only: "operations": {"put": {…}, "get": {…}, "list": {…}}   (OperationReport.swift)
//  "rate": {"requested", "achieved"} | null,
//  "idle_sessions": {"requested", "established", "open_at_end"},
//  "errors": {"connect", "handshake", "integrity", "timeout", "server", "total", "examples": […]},
//  "rotations": {"client_to_server", "server_to_client"},
//  "client": {"cpu_seconds"},
//  "daemon": {"pid", "rss_kib_before", "rss_kib_with_idle", "rss_kib_peak", "rss_kib_end", "cpu_seconds",
//             "cpu_seconds_per_gb"} | null}
//
// Time bases. elapsed_seconds: from the first connect (idle sessions included) to the end of the load; handshakes
// per second use it, as idle handshakes count among the handshakes. uploads per second, MB/s (10^6 bytes), the achieved
// rate and the CPU figures use the load phase alone (a run with --sessions 0 has none: its CPU figures cover setting up
// the idle sessions). MB = 10^6 bytes, GB = 10^9 bytes. With --mix, files_per_session is operations per session,
// "uploads" counts the put operations, and the files stored before the load (for the gets and lists) are in no figure.

struct LoadReport {
    struct Config: Equatable {
        var server: String
        var spawned: Bool
        var sessions: Int
        var filesPerSession: Int
        var sizeBytes: UInt64
        var rate: Double?
        var durationSeconds: Double?
        var idleSessions: Int
        var group: String?
        var cipher: String?
        /// --mix; nil for a pure-put run (and then no key of it in the JSON).
        var mix: Mix?
    }

    struct Mix: Equatable {
        var mix: OperationMix
        var seed: UInt64
        /// Files stored for the gets; nil when get weighs 0.
        var getFiles: Int?
    }

    struct Daemon: Equatable {
        var pid: Int32
        var rssKiBBefore: Int
        var rssKiBWithIdle: Int?
        var rssKiBPeak: Int
        var rssKiBEnd: Int
        var cpuSeconds: Double
        /// Nil when nothing was uploaded.
        var cpuSecondsPerGB: Double?
    }

    var config: Config
    var elapsedSeconds: Double
    var loadSeconds: Double
    /// Time to establish the idle sessions; nil without any.
    var idleSeconds: Double?
    var handshakes: Int
    var handshakeLatency: LatencySummary
    var uploads: Int
    var bytes: UInt64
    var uploadLatency: LatencySummary
    /// Sessions that did all their work (the achieved rate).
    var sessionsCompleted: Int
    var idleEstablished: Int
    var idleOpenAtEnd: Int
    var errors: [FailureClass: Int]
    var examples: [String]
    var rotationsClientToServer: Int
    var rotationsServerToClient: Int
    var clientCPUSeconds: Double
    var daemon: Daemon?
    /// Why the run stopped early (--max-seconds, a signal, staging failed), if it did.
    var stoppedBecause: String?
    /// With --mix: put, get, list in that order; nil for a pure-put run.
    var operations: [OperationFigures]?

    // MARK: Derived figures

    static func perSecond(_ count: Double, _ seconds: Double) -> Double { seconds > 0 ? count / seconds : 0 }

    var handshakesPerSecond: Double { Self.perSecond(Double(handshakes), elapsedSeconds) }
    var uploadsPerSecond: Double { Self.perSecond(Double(uploads), loadSeconds) }
    var megabytesPerSecond: Double { Self.perSecond(Double(bytes) / 1e6, loadSeconds) }
    var achievedRate: Double? { config.rate.map { _ in Self.perSecond(Double(sessionsCompleted), loadSeconds) } }
    var totalErrors: Int { errors.values.reduce(0, +) }
    func errors(_ kind: FailureClass) -> Int { errors[kind] ?? 0 }

    /// 0 without errors, 1 with any.
    var exitStatus: Int32 { totalErrors == 0 ? 0 : 1 }

    // MARK: JSON

    var jsonValue: JSONValue {
        var configMembers: [(String, JSONValue)] = [
            ("server", .string(config.server)), ("spawned", .bool(config.spawned)), ("sessions", .int(config.sessions)),
            ("files_per_session", .int(config.filesPerSession)), ("size_bytes", .int(config.sizeBytes)),
            ("rate", .double(config.rate)), ("duration_seconds", .double(config.durationSeconds)),
            ("idle_sessions", .int(config.idleSessions)), ("group", .text(config.group)), ("cipher", .text(config.cipher)),
        ]
        if let mix = config.mix {
            configMembers.append(("mix", .object(LoadOperation.allCases.map { ($0.rawValue, .int(mix.mix.weight($0))) })))
            configMembers.append(("seed", .int(mix.seed)))
            configMembers.append(("get_files", .int(mix.getFiles)))
        }
        var errorMembers = FailureClass.allCases.map { ($0.rawValue, JSONValue.int(errors($0))) }
        errorMembers.append(("total", .int(totalErrors)))
        errorMembers.append(("examples", .array(examples.map { .string($0) })))
        let daemonValue: JSONValue = daemon.map { daemon in
            .object([
                ("pid", .int(daemon.pid)), ("rss_kib_before", .int(daemon.rssKiBBefore)),
                ("rss_kib_with_idle", .int(daemon.rssKiBWithIdle)), ("rss_kib_peak", .int(daemon.rssKiBPeak)),
                ("rss_kib_end", .int(daemon.rssKiBEnd)), ("cpu_seconds", .number(daemon.cpuSeconds)),
                ("cpu_seconds_per_gb", .double(daemon.cpuSecondsPerGB)),
            ])
        } ?? .null
        var members: [(String, JSONValue)] = [
            ("config", .object(configMembers)),
            ("elapsed_seconds", .number(elapsedSeconds)),
            ("handshakes", .object([("completed", .int(handshakes)), ("per_second", .number(handshakesPerSecond)),
                                    ("latency_ms", handshakeLatency.jsonValue)])),
            ("uploads", .object([("completed", .int(uploads)), ("per_second", .number(uploadsPerSecond)),
                                 ("bytes", .int(bytes)), ("mb_per_second", .number(megabytesPerSecond)),
                                 ("latency_ms", uploadLatency.jsonValue)])),
        ]
        if let operations {
            members.append(("operations", .object(operations.map { ($0.operation.rawValue, $0.jsonValue(loadSeconds: loadSeconds)) })))
        }
        return .object(members + [
            ("rate", config.rate.map { .object([("requested", .number($0)), ("achieved", .number(achievedRate ?? 0))]) } ?? .null),
            ("idle_sessions", .object([("requested", .int(config.idleSessions)), ("established", .int(idleEstablished)),
                                       ("open_at_end", .int(idleOpenAtEnd))])),
            ("errors", .object(errorMembers)),
            ("rotations", .object([("client_to_server", .int(rotationsClientToServer)),
                                   ("server_to_client", .int(rotationsServerToClient))])),
            ("client", .object([("cpu_seconds", .number(clientCPUSeconds))])),
            ("daemon", daemonValue),
        ])
    }

    func json() -> String { jsonValue.rendered }
}

extension LoadReport {
    /// The report of a finished runner.
    init(config: Config, runner: LoadRunner, sampler: DaemonSampler?) {
        let stats = runner.stats
        var daemon: Daemon?
        if let sampler {
            let cpu = sampler.loadCPUSeconds ?? 0
            daemon = Daemon(pid: sampler.pid, rssKiBBefore: sampler.before ?? 0, rssKiBWithIdle: sampler.withIdle,
                            rssKiBPeak: sampler.peak, rssKiBEnd: sampler.end ?? 0, cpuSeconds: cpu,
                            cpuSecondsPerGB: stats.bytes > 0 ? cpu / (Double(stats.bytes) / 1e9) : nil)
        }
        self.init(config: config, elapsedSeconds: runner.elapsedSeconds, loadSeconds: runner.loadSeconds,
                  idleSeconds: runner.idleSeconds, handshakes: stats.handshakes,
                  handshakeLatency: LatencySummary(stats.handshakeLatency), uploads: stats.uploads, bytes: stats.bytes,
                  uploadLatency: LatencySummary(stats.uploadLatency), sessionsCompleted: stats.sessionsCompleted,
                  idleEstablished: runner.idleEstablished, idleOpenAtEnd: runner.idleOpenAtEnd, errors: stats.errors,
                  examples: stats.examples, rotationsClientToServer: stats.rotationsSent,
                  rotationsServerToClient: stats.rotationsReceived, clientCPUSeconds: runner.clientCPUSeconds,
                  daemon: daemon, stoppedBecause: runner.stoppedBecause,
                  operations: config.mix == nil ? nil : LoadOperation.allCases.map { OperationFigures($0, stats.operation($0)) })
    }
}
