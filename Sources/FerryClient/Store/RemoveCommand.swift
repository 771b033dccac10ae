// `ferry rm`: delete stored files (PROTOCOL.md §14.8) — a file, or with -r a directory's whole tree, which the server
// removes a batch per request (the same Delete sent again while it says more remain). --dry-run asks Stat instead and
// removes nothing.
import ArgumentParser
import Foundation
import Platform
import Protocol

package struct RemoveCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete files stored on a ferryd server.",
        discussion: """
            Deletes each REMOTE, a path relative to your own files. A directory (a path some stored file is below) \
            needs -r, which deletes every file below it and the directories that leaves empty. Like rm, it asks \
            nothing. --dry-run says what each REMOTE would delete (its files and bytes) and deletes nothing. \
            -f: a REMOTE that is not stored is no error. -v says what was deleted; --json prints one JSON object per \
            REMOTE and line (path, files, bytes, dry_run, and error and code when it failed).

            A file that is being uploaded is not deleted: that REMOTE fails (busy), the others are deleted. A delete \
            whose answer a lost connection took is not reported as missing when it is tried again.

            Connection options, their defaults, timeouts and retries are those of `ferry upload`.

            Exit status: 0 every REMOTE deleted (or, -f, not stored); 1 a REMOTE not stored, refused or failed (each \
            says why on stderr), or the connection was lost; 64, 69, 75, 77, 78 as `ferry ls`.
            """)

    @Argument(help: "Paths on the server, relative to your own files.")
    var remote: [String]

    @Flag(name: [.customShort("r"), .customShort("R"), .long], help: "Delete directories and every file below them.")
    var recursive = false

    @Flag(name: .shortAndLong, help: "A REMOTE that is not stored is no error.")
    var force = false

    @Flag(name: [.customShort("n"), .customLong("dry-run")], help: "Say what would be deleted; delete nothing.")
    var dryRun = false

    @Flag(name: .shortAndLong, help: "Say what was deleted.")
    var verbose = false

    @Flag(help: "One JSON object per REMOTE and line.")
    var json = false

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    package init() {}

    package func validate() throws {
        if remote.contains(where: { RemotePath.normalized($0).isEmpty }) {
            throw ValidationError("refusing to delete the top of your files: name what to delete")
        }
    }

    package func run() throws {
        var conversation: RemoveConversation?
        let failure = try StoreSession.run(command: "rm", paths: remote, connection: connection) { paths in
            let made = RemoveConversation(paths: paths, recursive: recursive, force: force, dryRun: dryRun,
                                          report: json ? .json : verbose || dryRun ? .lines : .failuresOnly)
            conversation = made
            return made
        }
        let status = StoreExitStatus.of(failure, failedArguments: conversation?.failures ?? 0)
        if status != 0 { throw ExitCode(status) }
    }
}

/// One Delete per path (again while the server says more remain), or with `dryRun` one Stat.
final class RemoveConversation: StoreConversation {
    enum Report {
        case failuresOnly
        /// A line per REMOTE on stdout.
        case lines
        case json
    }

    private var remaining: ArraySlice<String>
    private let recursive: Bool
    private let force: Bool
    private let dryRun: Bool
    private let report: Report
    private let write: (String) -> Void
    private let error: (String) -> Void
    /// What the current path's Deletes removed so far.
    private var files: UInt64 = 0
    private var bytes: UInt64 = 0
    /// The current path's last Delete may have run without its answer arriving (StoreSession retried it).
    private var mayHaveRun = false
    private(set) var failures = 0

    init(paths: [String], recursive: Bool, force: Bool, dryRun: Bool, report: Report,
         write: @escaping (String) -> Void = { TextOutput.writeAll($0, to: STDOUT_FILENO) },
         error: @escaping (String) -> Void = { FileHandle.standardError.write(Data("ferry rm: \($0)\n".utf8)) }) {
        remaining = paths[...]
        self.recursive = recursive
        self.force = force
        self.dryRun = dryRun
        self.report = report
        self.write = write
        self.error = error
    }

    var nextRequest: StoreRequest? {
        guard let path = remaining.first else { return nil }
        return dryRun ? .stat(StatRequest(path: path)) : .delete(DeleteRequest(path: path, recursive: recursive))
    }

    func requestMayHaveRun() { mayHaveRun = true }

    /// A name being uploaded fails alone; the other paths go on.
    var busyAnswersTheRequest: Bool { true }

    func answered(_ answer: StoreAnswer) {
        guard let path = remaining.first else { return }
        let retried = mayHaveRun
        mayHaveRun = false
        switch answer {
        case .deleted(let outcome):
            files &+= outcome.files
            bytes &+= outcome.bytes
            if !outcome.more { done(path) }
        case .stat(.file(let entry)):
            files = 1
            bytes = entry.size
            done(path)
        case .stat(.directory(_, let count, let size)):
            guard recursive else { return failed(path, UploadFailure(.badPath, "'\(path)' is a directory (delete it with -r)")) }
            files = count
            bytes = size
            done(path)
        case .failed(let failure) where failure.code == .notFound && (retried || files > 0):
            // The Delete whose answer was lost did it, or the last batch emptied the directory meanwhile.
            done(path)
        case .failed(let failure) where failure.code == .notFound && force:
            done(path)
        case .failed(let failure):
            failed(path, failure)
        case .list, .verified:
            failed(path, UploadFailure(.unknown, "an answer that is no Delete's"))  // never: the protocol checks answers
        }
    }

    private func done(_ path: String) {
        let shown = TerminalText.printable(path)
        switch report {
        case .failuresOnly: break
        case .lines:
            let what = files == 1 && bytes > 0 && !recursive ? "" : " (\(files) file\(files == 1 ? "" : "s"), \(bytes) bytes)"
            write("\(dryRun ? "would delete" : "deleted") '\(shown)'\(what)\n")
        case .json: write(json(path, failure: nil))
        }
        next()
    }

    private func failed(_ path: String, _ failure: UploadFailure) {
        failures += 1
        error("cannot delete '\(TerminalText.printable(path))': \(failure.message)")
        if case .json = report { write(json(path, failure: failure)) }
        next()
    }

    private func next() {
        remaining = remaining.dropFirst()
        files = 0
        bytes = 0
    }

    private func json(_ path: String, failure: UploadFailure?) -> String {
        var out = "{\"path\":"
        JSONText.appendQuoted(path, to: &out)
        out += ",\"files\":\(files),\"bytes\":\(bytes),\"dry_run\":\(dryRun)"
        if let failure {
            out += ",\"code\":"
            JSONText.appendQuoted(failure.code.name, to: &out)
            out += ",\"error\":"
            JSONText.appendQuoted(failure.message, to: &out)
        }
        return out + "}\n"
    }
}
