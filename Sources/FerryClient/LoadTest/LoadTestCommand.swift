// `ferry loadtest`: N sessions against a ferryd on loopback (one it starts itself with --spawn, or a running one with
// --server), closed loop or at a fixed rate, plus K idle sessions; uploads only, or a mix of put, get and list
// (--mix, OperationMix.swift); reports handshakes, uploads (or each operation), latency percentiles, errors by class,
// rotations and the daemon's memory and CPU. The run itself is LoadRun.swift.
//
// Usage errors exit 2 (not ArgumentParser's 64: scripts/bench tells "you called me wrong" from "the run had errors",
// which exits 1). Parse errors are mapped in main.swift, everything else is checked in `makePlan()`.
import ArgumentParser

package struct LoadTestCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Load-test a ferryd on this machine (loopback only): handshakes/s, uploads/s, latency, memory.",
        discussion: """
            ferry loadtest --spawn --sessions 64 --files-per-session 4 --size 16MiB
            ferry loadtest --spawn --sessions 8 --files-per-session 0 --duration 10
            ferry loadtest --spawn --sessions 4 --files-per-session 1 --size 1MiB --rate 50 --duration 10
            ferry loadtest --spawn --sessions 0 --files-per-session 0 --idle-sessions 10000
            ferry loadtest --spawn --sessions 4 --files-per-session 50 --size 64KiB --mix put=60,get=30,list=10 --seed 1

            Closed loop (no --rate): every session connects, handshakes, uploads its files one after another and says \
            Goodbye; with --duration each of the N slots repeats that until the time is up. Open loop (--rate R \
            --duration T): session i is due at i/R seconds, at most N at once, latency counted from the due time. \
            Exits 0 when there was no error, 1 otherwise, 2 for usage errors.

            Mixed load (--mix): --files-per-session counts operations, each one put (upload a file), get (download \
            one of --get-files files stored before the load, its SHA-256 checked) or list (one page of the run's \
            directory), picked by weight; the same --seed picks the same operations. The report adds count, \
            errors, latency and (put, get) throughput for each operation.
            """)

    // MARK: Target

    @Option(help: ArgumentHelp("A running ferryd as HOST:PORT (127.0.0.1, ::1 or localhost only).", valueName: "host:port"))
    var server: String?

    @Flag(help: "Start a ferryd of its own (own CA and certificates, a temporary directory) and stop it at the end.")
    var spawn = false

    @Option(help: "With --server: CA bundle that signed the server's certificate (PEM).")
    var ca: String?

    @Option(help: "With --server: this client's certificate chain (PEM).")
    var cert: String?

    @Option(help: "With --server: this client's private key (PEM).")
    var key: String?

    @Option(help: "With --server: name the server's certificate must carry (default: the host of --server).")
    var serverName: String?

    @Option(help: ArgumentHelp("With --server: the daemon's process id, to sample its memory and CPU.", valueName: "pid"))
    var daemonPid: Int32?

    // MARK: Load

    @Option(help: "Concurrent sessions (closed loop), or most sessions in flight (with --rate).")
    var sessions: Int

    @Option(help: "Files each session uploads one after another (with --mix: operations it does; 0: handshake only).")
    var filesPerSession: Int

    @Option(help: "Size of each file (e.g. 64KiB, 16MiB, 2GiB, or bytes); needed when --files-per-session > 0.")
    var size: String?

    @Option(help: ArgumentHelp("Mixed load: pick each operation as put, get or list by these weights (default: put only).",
                               valueName: "op=weight,..."))
    var mix: String?

    @Option(help: "With --mix: seed of the picks (0-4294967295); the same seed picks the same operations (default: 1).")
    var seed: UInt32?

    @Option(help: "With --mix and get above 0: files of --size stored first for the gets (default: 16, at most 1 GiB).")
    var getFiles: Int?

    @Option(help: "Open loop: start this many sessions per second (needs --duration).")
    var rate: Double?

    @Option(help: "Keep starting work for this many seconds (closed loop: each slot repeats its session).")
    var duration: Double?

    @Option(help: "Extra sessions that handshake before the load and stay open, silent, until the end.")
    var idleSessions: Int = 0

    @Option(help: "Offer only this key-exchange group (x25519-mlkem768, x25519, p256, ffdhe2048, ffdhe3072).")
    var group: String?

    @Option(help: "Offer only this cipher suite (aes-256-gcm, aes-128-gcm, chacha20-poly1305, aes-256-cbc-hmac-sha256).")
    var cipher: String?

    @Option(help: ArgumentHelp("Client rotation policy: rotate keys after this much data.", valueName: "bytes"))
    var rotateAfter: String?

    @Option(help: "Seconds allowed for each operation: connect, handshake, one upload.")
    var timeout: Double = 60

    @Option(help: "Hard bound on the whole run in seconds; unfinished work counts as timeouts.")
    var maxSeconds: Double = 600

    @Flag(help: "Print one JSON object on stdout instead of the table (and nothing on stderr but fatal errors).")
    var json = false

    // MARK: --spawn

    @Option(help: ArgumentHelp("With --spawn: the ferryd executable (default: ferryd beside this ferry; ignored with --server).",
                               valueName: "path"))
    var ferryd: String?

    @Option(help: ArgumentHelp("With --spawn: where the daemon stores (default: in the temporary directory).", valueName: "dir"))
    var storage: String?

    @Option(help: "With --spawn: daemon worker threads (0: one per core).")
    var workers: Int?

    @Option(help: ArgumentHelp("With --spawn: the daemon's rotate_after_bytes (default: its own default).", valueName: "bytes"))
    var daemonRotateAfter: String?

    @Option(help: ArgumentHelp("With --spawn: `fsync = true|false` under [storage] (default: not written).", valueName: "bool"))
    var daemonFsync: String?

    @Flag(help: "With --spawn: keep the temporary directory (certificates, config, log, stored files) and say where.")
    var keep = false

    package init() {}

    package func run() throws {
        let plan: LoadTestPlan
        do {
            plan = try makePlan()
        } catch {
            throw LoadTestCommand.usageFailure(error.message)
        }
        let exitCode = try LoadRun(plan: plan).execute()
        if exitCode != 0 { throw ExitCode(exitCode) }
    }

    /// Prints "ferry loadtest: <message>" on stderr and exits 2.
    static func usageFailure(_ message: String) -> ExitCode {
        Diagnostics.fatal("ferry loadtest: \(message)")
        return ExitCode(2)
    }

    /// True when the command line runs this subcommand (main.swift maps its parse errors to exit status 2).
    package static func isInvoked(by arguments: [String]) -> Bool {
        arguments.dropFirst().first == configuration.commandName
    }
}
