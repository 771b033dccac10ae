// `ferry upload`: many files, N sessions at once, progress while it runs, a summary (or JSON) at the end.
import ArgumentParser
import EventLoop
import Foundation
import Protocol
import Units

package struct UploadCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload files and directories (recursively) to a ferryd server.",
        discussion: """
            Defaults for --server, --ca, --cert, --key and --parallel come from ~/.config/ferry/client.toml (or --config), \
            so daily use is `ferry upload big.iso`. Between the two: $FERRY_SERVER, $FERRY_SERVER_NAME, $FERRY_CA, \
            $FERRY_CERT, $FERRY_KEY, $FERRY_PARALLEL and $FERRY_CONFIG (flag > environment > file).

            --exclude and --include take rsync's patterns (* ** ? [a-z], 'dir/' for directories, '/name' from the \
            top); a path is left out when it matches an --exclude and no --include, so rsync's idiom works: \
            --include '*/' --include '*.jpg' --exclude '*'. -n shows what would be stored where and sends nothing.

            A lost connection, a timeout or a busy server is tried again --retries times (default 6; `retries`), after \
            waits that double from about 1 s up to 30 s (random within each: about a minute in all at most), and every \
            interrupted file is sent again from where the server says it has it. Refusals (a certificate, a name that \
            does not exist, a file the server will not take) are not retried. A file the server already stores (same \
            name, size and SHA-256) is reported as already stored and not sent again, so running the same command \
            again after an interruption completes the set.

            An encrypted --key (PKCS#8 "ENCRYPTED PRIVATE KEY") is opened with the passphrase from \
            --key-passphrase-file, else $FERRY_KEY_PASSPHRASE, else `key_passphrase_file`, else typed on the terminal \
            (only when standard input is one). A key file that group or others may read is used, with a warning.

            A path that is missing or cannot be read, named or met in a directory (an unreadable directory or file, a \
            broken symbolic link, a FIFO or socket), fails with its reason and the rest is sent. An empty directory is \
            reported as skipped.

            Output: on a terminal (stderr), a bar per file in flight and a \
            total, fitted to its width; a file shows "committing" until the \
            server has it durable. At the end the bars are erased and the report \
            goes to stdout: one line per entry (path, stored name when it \
            differs, size, time, rate, first 12 hex digits of the SHA-256: all \
            64 are in --json), then the totals. When stderr is no terminal, each \
            entry's line goes to stdout as it ends ("[3/10] stored ..."), and \
            the totals at the end: per-file lines are on stdout only, so 2>&1 \
            shows each file once. Notes (retries, resumes) and errors go to \
            stderr, which does not repeat what stdout says when both are one \
            file, pipe or terminal.

            Ctrl-C (SIGINT) or SIGTERM stops the run: no more files start, files \
            being committed finish, the others are cut without being abandoned \
            (the server keeps what it received, and the next run resumes \
            there), and the report says what was stored and what was \
            interrupted. A second Ctrl-C quits at once.

            Exit status:
              0   every file stored or already stored (skipped empty directories do not count)
              1   some files failed, each with its reason
              64  usage error: unknown option, bad value, no paths; nothing sent
              69  the server could not be reached: its name did not resolve, the
                  connection was refused or timed out (--connect-timeout), or it
                  turned the session away (at its session limit, shutting down)
              75  the server stopped answering (--handshake-timeout, --timeout)
              77  the handshake was refused: the server's certificate (unknown CA,
                  wrong name, expired), or ours refused by the server
              78  the configuration file, CA, certificate or key cannot be read or
                  used; nothing sent
              130 interrupted by Ctrl-C (SIGINT) before every file was done; run
                  the same command again to complete the set
              143 the same for SIGTERM
            69, 75 and 77 when every file failed for that one reason; files that
            failed for different reasons, or beside files stored, give 1.
            """)

    @Argument(help: "Files and directories to upload.")
    var paths: [String]

    @OptionGroup
    var connection: ConnectionOptions

    @Option(name: [.customShort("j"), .long], help: "Number of concurrent sessions (1-64; else $FERRY_PARALLEL, else `parallel`, else 4).")
    var parallel: Int?

    @Option(help: "Directory on the server (under your own area) to store the files in.")
    var dest: String?

    @Option(help: "Rotate keys after this much data (e.g. 64MiB, 1GiB; 0 = only the server's policy and the hard limits).")
    var rotateAfterBytes: String?

    @Flag(help: "Replace files that already exist on the server (if the server allows it).")
    var overwrite = false

    @Flag(help: "Leave files the server already holds under the same name with other content, and go on (reported as skipped; rsync's name).")
    var ignoreExisting = false

    @Flag(name: [.customShort("t"), .customLong("times")], inversion: .prefixedNo,
          help: "Keep each file's modification time (and its execute bit) on the server: the default, as rclone and scp -p do; --no-times stores the upload's time.")
    var times = true

    @Flag(help: "Print one JSON object on stdout instead of the human summary.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print nothing but failures.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Say more: -v the address connected to, the negotiated suite, group and signatures, rotations and each file's timing; -vv also every session's steps.")
    var verbose: Int

    @Flag(inversion: .prefixedNo, help: "Bars while files are sent, when standard error is a terminal (the default); --no-progress: a line per finished file instead.")
    var progress: Bool?

    @OptionGroup(title: "Selection and pace")
    var selection: UploadSelectionOptions

    package init() {}

    package func run() throws {
        let environment = try ClientEnvironment(ProcessInfo.processInfo.environment)
        // What to send comes first: a --dry-run with no server to ask needs nothing else.
        let plan: UploadPlan.Plan
        do {
            plan = try UploadPlan.make(paths: paths, destination: dest, filter: try selection.filter(),
                                       openingEveryFile: selection.dryRun)
        } catch {
            throw ValidationError("\(error)")  // two paths stored under one name: the command line contradicts itself
        }
        let bandwidth = try selection.bytesPerSecond()
        guard !(overwrite && ignoreExisting) else {
            throw ValidationError("--overwrite and --ignore-existing contradict each other: choose one")
        }
        let settings = try connection.settings(environment)
        if selection.dryRun, connection.serverText(environment, settings) == nil { return try dryRun(plan, answers: nil) }
        var server = try connection.target(environment, settings)
        let parallel = parallel ?? environment.parallel ?? settings.parallel
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be between 1 and 64") }

        var rotateBytes = settings.rotateAfterBytes
        if let text = rotateAfterBytes {
            do { rotateBytes = try ByteSize.parse(text) } catch { throw ValidationError("--rotate-after-bytes: \(error)") }
        }
        server.configuration.rotation = RotationPolicy(afterBytes: rotateBytes, afterSeconds: settings.rotateAfterSeconds)

        let files = plan.files
        let streams = OutputStreams.current()
        // A dry run prints its own report at the end: no bars, no per-file lines (the notes of retries stay).
        let displayMode = selection.dryRun ? .quiet : ProgressDisplay.mode(quiet: quiet, json: json, streams: streams,
                                                                           progress: progress)
        let display = ProgressDisplay(mode: displayMode,
                                      notes: !quiet, streams: streams, fileCount: files.count,
                                      currentDirectory: FileManager.default.currentDirectoryPath)
        if !selection.dryRun { display.planned(plan.unsent) }
        guard !files.isEmpty else {
            if selection.dryRun { return try dryRun(plan, answers: plan.results(sent: [])) }
            return try finish(plan.results(sent: []), seconds: 0, display: display)
        }

        let loop = try EventLoop()
        let engine = UploadEngine(loop: loop, target: UploadTarget(host: server.host, port: server.port,
                                                                     configuration: server.configuration,
                                                                     overwrite: overwrite, ignoreExisting: ignoreExisting,
                                                                     keepTimes: times, timeouts: server.timeouts,
                                                                     retry: server.retry, advice: server.advice,
                                                                     dryRun: selection.dryRun,
                                                                     namespace: server.namespace),
                                  files: files)
        engine.bandwidth = bandwidth.map {
            BandwidthLimit(bytesPerSecond: $0, minimumTake: Limits.maxDataChunk, now: EventLoop.hrtimeNanoseconds)
        }
        engine.verbosity = quiet ? 0 : verbose
        display.snapshot = { [unowned engine] in engine.snapshot() }
        engine.onNote = { display.note($0) }
        let signals = UploadSignals(loop: loop, engine: engine, display: display)
        let ticker = LoopTimer(loop: loop)
        ticker.keepsLoopAlive = false  // the sessions keep the loop running, the bars follow them
        var remaining = files.count
        let reportsEachFile = !selection.dryRun
        engine.onFileDone = { result in
            if reportsEachFile { display.fileDone(result) }  // a dry run reports every file at the end, once
            remaining -= 1
            if remaining == 0 { ticker.close() }
        }
        ticker.start(afterMilliseconds: 200, repeatMilliseconds: 200) { display.redraw() }
        engine.run(parallel: parallel)
        signals.close()
        _ = loop.close()

        let seconds = Double(EventLoop.hrtimeNanoseconds - engine.startedAt) / 1e9
        if selection.dryRun { return try dryRun(plan, answers: plan.results(sent: engine.results)) }
        try finish(plan.results(sent: engine.results), seconds: seconds, display: display)
    }

}
