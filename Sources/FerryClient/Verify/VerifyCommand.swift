// `ferry verify LOCAL [REMOTE]`: compare local files with their stored copies without sending them (rclone check's
// job): the local SHA-256s against what the server recorded at commit and, unless --quick, against a fresh re-read
// of each stored copy by the server (PROTOCOL.md §14.10), which also finds a copy that changed or decayed there.
import ArgumentParser
import Foundation
import Platform
import Protocol

package struct VerifyCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that files stored on a ferryd server are the local ones, without sending them.",
        discussion: """
            Compares LOCAL (a file, or a directory and every file below it) with what the server stores under \
            REMOTE: by default the name `ferry upload LOCAL` gives it (LOCAL's own name); give REMOTE when it was \
            stored elsewhere (--dest, a rename). Each local file is hashed here; the server re-reads its copy of each \
            file and reports the SHA-256 it finds and the one it recorded when the file was stored, so a copy damaged \
            on the server is told from a different file. --quick compares with the recorded SHA-256 alone: no file \
            is read on the server.

            Prints a line for each file that does not match (differs, damaged on server, missing on server, only \
            on server, failed) and, with -v, for each that does; a summary on stderr. --json prints one JSON object \
            per file and line (path, local, status, local_sha256, recorded_sha256, read_sha256, error).

            Connection options, their defaults, timeouts and retries are those of `ferry upload`.

            Exit status:
              0   every file matches
              1   a file differs, is damaged, missing on either side, or could not be compared
              64, 69, 75, 77, 78 as `ferry ls`
            """)

    @Argument(help: "A local file or directory.")
    var local: String

    @Argument(help: "Its path on the server (default: LOCAL's name, as `ferry upload` stores it).")
    var remote: String?

    @Flag(help: "Compare with the SHA-256 recorded at upload only; the server reads no file.")
    var quick = false

    @Flag(name: .shortAndLong, help: "Also a line for each file that matches.")
    var verbose = false

    @Flag(help: "One JSON object per file and line.")
    var json = false

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    package init() {}

    package func run() throws {
        let name = URL(fileURLWithPath: local).standardizedFileURL.lastPathComponent
        let root = remote.map(RemotePath.normalized) ?? NamePolicy.normalized(name)
        let copies: [LocalCopy]
        do { copies = try LocalCopies.of(local, remote: root) } catch {
            throw ValidationError(error.description)
        }
        var counts: [VerifyVerdict.Status: Int] = [:]
        let report = VerifyReport(json: json, verbose: verbose)
        let failure = try StoreSession.run(command: "verify", paths: [root], connection: connection) { paths in
            VerifyConversation(root: paths[0], copies: copies, quick: quick) { verdict in
                counts[verdict.status, default: 0] += 1
                report.print(verdict)
            }
        }
        report.summary(counts)
        let mismatches = counts.filter { $0.key != .match }.values.reduce(0, +)
        let status = StoreExitStatus.of(failure, failedArguments: mismatches)
        if status != 0 { throw ExitCode(status) }
    }
}

/// How verdicts are printed.
struct VerifyReport {
    let json: Bool
    let verbose: Bool
    var write: (String) -> Void = { TextOutput.writeAll($0, to: STDOUT_FILENO) }
    var error: (String) -> Void = { FileHandle.standardError.write(Data("ferry verify: \($0)\n".utf8)) }

    func print(_ verdict: VerifyVerdict) {
        if json { return write(Self.json(verdict)) }
        let path = TerminalText.printable(verdict.remote.isEmpty ? "." : verdict.remote)
        switch verdict.status {
        case .match: if verbose { write("ok: \(path)\n") }
        case .differs: write("differs: \(path)\n")
        case .damaged: write("damaged on server: \(path) (re-read, it is no longer the file stored: tell the server's operator)\n")
        case .missingOnServer: write("missing on server: \(path)\n")
        case .onlyOnServer: write("only on server: \(path)\n")
        case .failed: write("failed: \(path): \(TerminalText.printable(verdict.error ?? "unknown error"))\n")
        }
    }

    func summary(_ counts: [VerifyVerdict.Status: Int]) {
        guard !json else { return }
        let total = counts.values.reduce(0, +)
        let parts: [(VerifyVerdict.Status, String)] = [(.match, "match"), (.differs, "differ"), (.damaged, "damaged on server"),
                                                       (.missingOnServer, "missing on server"), (.onlyOnServer, "only on server"),
                                                       (.failed, "failed")]
        let said = parts.compactMap { status, word in counts[status].map { "\($0) \(word)" } }
        error("\(total) file\(total == 1 ? "" : "s"): \(said.isEmpty ? "nothing to compare" : said.joined(separator: ", "))")
    }

    static func json(_ verdict: VerifyVerdict) -> String {
        var out = "{\"path\":"
        JSONText.appendQuoted(verdict.remote, to: &out)
        if let local = verdict.local {
            out += ",\"local\":"
            JSONText.appendQuoted(local, to: &out)
        }
        out += ",\"status\":\"\(verdict.status.rawValue)\""
        for (key, digest) in [("local_sha256", verdict.localSHA256), ("recorded_sha256", verdict.recordedSHA256),
                              ("read_sha256", verdict.readSHA256)] {
            if let digest { out += ",\"\(key)\":\"\(hex(digest))\"" }
        }
        if let error = verdict.error {
            out += ",\"error\":"
            JSONText.appendQuoted(error, to: &out)
        }
        return out + "}\n"
    }
}
