// `ferry get`: stored files back, checked against the SHA-256 the server recorded, resumable (PROTOCOL.md §14.4).
import ArgumentParser
import Foundation
import Platform
import Protocol

package struct GetCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Download files and directories (recursively) from a ferryd server.",
        discussion: """
            ferry get REMOTE [LOCAL] puts REMOTE (a file, or a directory and everything below it) at LOCAL, as cp -r \
            does: into LOCAL when it is a directory (./ by default; LOCAL ending in / is one, made when missing), as \
            LOCAL otherwise. With several REMOTEs, LOCAL is a directory. REMOTE is relative to your own files on the \
            server. A local file of the same name with other content is replaced, as rsync does; names from the \
            server never reach through a symbolic link inside LOCAL.

            Each file is written to NAME.part beside its destination (locked: a second get to the same place is \
            refused) and renamed to NAME only once its SHA-256 is the one the server recorded when it was uploaded \
            and it is on the disk: a file is never left half written or damaged under its name. A local write that \
            fails (a full disk) stops that file at once; the others go on. An interrupted get (Ctrl-C, a lost connection) leaves the .part; the next run, or the automatic \
            retry, goes on from where it ends. A file already here with the server's size and modification time (or, \
            when its upload carried no time, its SHA-256) is left as it is (reported unchanged), so running the same command again completes a set. Each file gets \
            the server's modification time, and execute bits when the server's copy has them.

            --parallel N (-j) gets N files at once, each session taking the next file when its last is done: what \
            many small files need (one round trip each); a large file goes at the speed of one session.

            Output: one line per file on stdout as it completes (got, unchanged), errors on stderr, and on a \
            terminal a progress line on stderr (files, bytes, rate, the file being got) that is erased at the end; \
            --json prints one JSON object at the end instead. Connection options, defaults, timeouts and retries are those of \
            `ferry upload`.

            Ctrl-C (SIGINT) or SIGTERM stops the get: each file being got keeps its .part for the next run, and \
            the report says which files were interrupted (a second one quits at once).

            Exit status: 0 every file got or unchanged; 1 a file failed (each says why); 130 (SIGINT) or 143 \
            (SIGTERM) interrupted; 64, 69, 75, 77, 78 as `ferry upload`.
            """)

    @Argument(help: "Paths on the server, then optionally where to put them (default: the current directory).")
    var paths: [String]

    @Flag(help: "Print one JSON object at the end instead of a line per file.")
    var json = false

    @Flag(name: .shortAndLong, help: "Print nothing but failures.")
    var quiet = false

    @Option(name: [.customShort("j"), .long], help: "Files got at once, each in a session of its own (1-64; else $FERRY_PARALLEL, else `parallel`, else 4).")
    var parallel: Int?

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    package init() {}

    package func run() throws {
        var remotes = paths
        var local = "."
        if remotes.count > 1, let last = remotes.popLast() { local = last }
        guard !remotes.isEmpty else { throw ValidationError("name a file or directory on the server") }
        let environment = try ClientEnvironment(ProcessInfo.processInfo.environment)
        let settings = try connection.settings(environment, command: "get")
        let parallel = parallel ?? environment.parallel ?? settings.parallel
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be between 1 and 64") }
        let (target, normalized) = try StoreSession.prepare(command: "get", paths: remotes, connection: connection)
        let started = Date()
        let report = { (result: GetResult) in Self.report(result, json: json, quiet: quiet) }

        // What to get: one session asks about every argument (Stat, and List -R for a directory).
        let planner = GetPlanner(arguments: try Self.arguments(normalized, local: local))
        planner.onFailure = report
        let interruption = StoreInterruption()
        var failure = try StoreSession.run(command: "get", target: target, [planner], interruption: interruption).first ?? nil
        // Then the files, `parallel` sessions taking them from one queue.
        let jobs = GetJobs(planner.jobs)
        let progress = !quiet && !json && isatty(STDERR_FILENO) == 1 ? GetProgress(jobs: planner.jobs) : nil
        jobs.onResult = { result in
            progress?.erase()
            report(result)
        }
        if interruption.signal != nil {
            // Stopped while the files were being found: none was started, each one found is reported interrupted.
            for job in planner.jobs { jobs.record(GetResult(remote: job.remote, local: job.local, status: .interrupted)) }
            failure = nil
        } else if failure == nil, !planner.jobs.isEmpty {
            let downloaders = (0..<min(parallel, planner.jobs.count)).map { _ in GetDownloader(jobs: jobs) }
            let failures = try StoreSession.run(command: "get", target: target, downloaders,
                                                tick: progress.map { progress in { progress.draw(jobs, downloaders) } },
                                                interruption: interruption)
            progress?.erase()
            if interruption.signal != nil {
                for downloader in downloaders {
                    for (job, kept) in downloader.interrupt() {
                        jobs.record(GetResult(remote: job.remote, local: job.local, status: .interrupted, bytes: kept))
                    }
                }
                for job in jobs.takeRemaining() {
                    jobs.record(GetResult(remote: job.remote, local: job.local, status: .interrupted))
                }
            } else {
                // A session that gave up leaves its file, and (when every one gave up) the rest, failed with its reason.
                for (downloader, ended) in zip(downloaders, failures) {
                    guard let ended else { continue }
                    for job in downloader.unfinished {
                        jobs.record(GetResult(remote: job.remote, local: job.local, status: .failed, error: ended.message))
                    }
                }
                failure = failures.allSatisfy { $0 != nil } ? failures.last ?? nil : nil
                for job in jobs.takeRemaining() {
                    jobs.record(GetResult(remote: job.remote, local: job.local, status: .failed,
                                          error: failure?.message ?? "not got: every session ended"))
                }
            }
        }
        let results = planner.failures + jobs.results
        if json { TextOutput.writeAll(Self.json(results, failure: failure, seconds: Date().timeIntervalSince(started)), to: STDOUT_FILENO) }
        let status = interruption.signal.map { 128 + $0 }
            ?? StoreExitStatus.of(failure, failedArguments: results.filter { $0.status == .failed }.count)
        if status != 0 { throw ExitCode(status) }
    }

    /// Where each REMOTE goes (cp -r's rules): into LOCAL when it is a directory; as LOCAL when there is one REMOTE
    /// and LOCAL is not a directory (a directory REMOTE then makes it).
    /// LOCAL ending in "/" names a directory, made when missing.
    static func arguments(_ remotes: [String], local: String) throws -> [GetPlanner.Argument] {
        var info = stat()
        let exists = stat(local, &info) == 0
        let isDirectory = exists && info.st_mode & S_IFMT == S_IFDIR
        let namesDirectory = local.utf8.last == UInt8(ascii: "/")
        if exists, !isDirectory, namesDirectory {
            throw ValidationError("\(local) is not a directory (a file is there)")
        }
        if remotes.count > 1, !isDirectory, !namesDirectory {
            throw ValidationError("with several paths to get, the last (\(local)) must be a directory: an existing one, "
                + "or one to make, written with a trailing /")
        }
        return remotes.map { remote in
            let base = LocalPath.components(remote).last ?? ""
            if isDirectory || namesDirectory {
                let inside = base.isEmpty ? local : LocalPath.appending(base, to: local)
                return GetPlanner.Argument(remote: remote, asFile: inside, asDirectory: inside)
            }
            return GetPlanner.Argument(remote: remote, asFile: local, asDirectory: local)
        }
    }

    static func report(_ result: GetResult, json: Bool, quiet: Bool) {
        if result.status == .failed {
            let what = result.remote.isEmpty ? "." : result.remote
            FileHandle.standardError.write(Data("ferry get: cannot get '\(TerminalText.printable(what))': \(result.error ?? "")\n".utf8))
            return
        }
        guard !json, !quiet else { return }
        var line = "\(result.status.rawValue) \(TerminalText.printable(result.remote)) -> \(TerminalText.printable(result.local))  "
            + Figures.bytes(result.bytes)
        if result.status == .interrupted {
            line += result.bytes > 0 ? " kept in its .part: the next run goes on from there" : ", not started"
        }
        if result.status == .got {
            line += "  " + String(format: "%.1f s", result.seconds)
            if result.resumedFrom > 0 { line += "  resumed at \(Figures.bytes(result.resumedFrom))" }
            if let digest = result.sha256 { line += "  sha256 \(hex(Array(digest.prefix(6))))" }
        }
        TextOutput.writeAll(line + "\n", to: STDOUT_FILENO)
    }

    static func json(_ results: [GetResult], failure: SessionFailure?, seconds: Double) -> String {
        var out = "{\"ok\":\(failure == nil && results.allSatisfy { $0.status == .got || $0.status == .unchanged }),\"seconds\":\(String(format: "%.3f", seconds))"
        if let failure {
            out += ",\"error\":"
            JSONText.appendQuoted(failure.message, to: &out)
        }
        out += ",\"files\":["
        for (index, result) in results.enumerated() {
            if index > 0 { out += "," }
            out += "{\"remote\":"
            JSONText.appendQuoted(result.remote, to: &out)
            out += ",\"local\":"
            JSONText.appendQuoted(result.local, to: &out)
            out += ",\"status\":\"\(result.status.rawValue)\",\"bytes\":\(result.bytes),\"resumed_from\":\(result.resumedFrom)"
            if let digest = result.sha256 { out += ",\"sha256\":\"\(hex(digest))\"" }
            if let error = result.error {
                out += ",\"error\":"
                JSONText.appendQuoted(error, to: &out)
            }
            out += "}"
        }
        return out + "]}\n"
    }
}
