// `ferry mv`: rename stored files (PROTOCOL.md §14.9), as mv does: SOURCE to DEST, or each SOURCE into the directory
// DEST. The server renames one file at a time, atomically, keeping its bytes, digest and times; a directory moves file
// by file, listed page by page (List -R, from a cursor, so a file that could not move is never asked about twice).
//
//   destination? (Stat) ─► for each SOURCE: Stat ─► a file: Rename
//                                              └─► a directory: List -R a page ─► Rename each ─► the next page …
import ArgumentParser
import Foundation
import Platform
import Protocol

package struct MoveCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "mv",
        abstract: "Rename or move files stored on a ferryd server.",
        discussion: """
            Renames SOURCE to DEST, or moves each SOURCE into the directory DEST, as mv does. DEST is a directory \
            when files are stored below it, when it ends in "/", or when there are several SOURCEs; it need not \
            exist (directories are made as uploads make them). A SOURCE directory moves with every file below it, \
            file by file: each file's rename is atomic on the server, the directory's as a whole is not. Nothing is \
            sent: each file keeps its content, SHA-256 and times. A file already stored at the new name stays, and \
            that file's move is refused, unless -f replaces it.

            -v says what moved. A move whose answer a lost connection took is not reported as missing when it is \
            tried again. Connection options, their defaults, timeouts and retries are those of `ferry upload`.

            Exit status: 0 every SOURCE moved; 1 a SOURCE (or a file below it) not stored, refused or failed (each \
            says why on stderr), or the connection was lost; 64, 69, 75, 77, 78 as `ferry ls`.
            """)

    @Argument(help: "SOURCE... DEST: paths on the server, relative to your own files.")
    var paths: [String]

    @Flag(name: .shortAndLong, help: "Replace files already stored at the new names.")
    var force = false

    @Flag(name: .shortAndLong, help: "Say what moved.")
    var verbose = false

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    package init() {}

    package func validate() throws {
        guard paths.count >= 2 else { throw ValidationError("name a SOURCE and a DEST") }
        if paths.dropLast().contains(where: { RemotePath.normalized($0).isEmpty }) {
            throw ValidationError("the top of your files cannot be moved: name what to move")
        }
    }

    package func run() throws {
        var conversation: MoveConversation?
        let typedDestination = paths[paths.count - 1]
        let failure = try StoreSession.run(command: "mv", paths: paths, connection: connection) { normalized in
            let made = MoveConversation(sources: Array(normalized.dropLast()), destination: normalized[normalized.count - 1],
                                        destinationIsDirectory: typedDestination.hasSuffix("/"), overwrite: force,
                                        verbose: verbose)
            conversation = made
            return made
        }
        let status = StoreExitStatus.of(failure, failedArguments: conversation?.failures ?? 0)
        if status != 0 { throw ExitCode(status) }
    }
}

final class MoveConversation: StoreConversation {
    private enum Phase {
        /// Is the destination a directory, a file, or nothing yet?
        case statDestination
        /// Is the first remaining source a file or a directory?
        case statSource
        /// A directory source: the page of its files after `cursor`.
        case listing(source: String, target: String, cursor: String)
        /// Renames to send, then the listing's next page after `cursor` (nil: there is none).
        case renaming(source: String, target: String, moves: ArraySlice<(String, String)>, cursor: String?)
        case done
    }

    private var phase: Phase
    private var sources: ArraySlice<String>
    private let destination: String
    /// The destination names a directory the sources go into (not the new name of the one source).
    private var intoDirectory: Bool
    /// A file is stored at the destination (a source file may replace it with -f; a directory never).
    private var destinationIsFile = false
    private let overwrite: Bool
    private let verbose: Bool
    private let write: (String) -> Void
    private let error: (String) -> Void
    private var mayHaveRun = false
    private(set) var failures = 0

    init(sources: [String], destination: String, destinationIsDirectory: Bool, overwrite: Bool, verbose: Bool,
         write: @escaping (String) -> Void = { TextOutput.writeAll($0, to: STDOUT_FILENO) },
         error: @escaping (String) -> Void = { FileHandle.standardError.write(Data("ferry mv: \($0)\n".utf8)) }) {
        self.sources = sources[...]
        self.destination = destination
        intoDirectory = destinationIsDirectory || destination.isEmpty || sources.count > 1
        self.overwrite = overwrite
        self.verbose = verbose
        self.write = write
        self.error = error
        phase = destination.isEmpty ? .statSource : .statDestination
    }

    var nextRequest: StoreRequest? {
        switch phase {
        case .statDestination: .stat(StatRequest(path: destination))
        case .statSource: sources.first.map { .stat(StatRequest(path: $0)) }
        case .listing(let source, _, let cursor): .list(ListRequest(directory: source + "/", recursive: true, cursor: cursor))
        case .renaming(_, _, let moves, _):
            moves.first.map { .rename(RenameRequest(from: $0.0, to: $0.1, overwrite: overwrite)) }
        case .done: nil
        }
    }

    func requestMayHaveRun() { mayHaveRun = true }

    /// A name being uploaded fails alone; the other paths go on.
    var busyAnswersTheRequest: Bool { true }

    func answered(_ answer: StoreAnswer) {
        let retried = mayHaveRun
        mayHaveRun = false
        switch phase {
        case .statDestination: destinationFound(answer)
        case .statSource: sourceFound(answer)
        case .listing(let source, let target, _): listed(answer, source: source, target: target)
        case .renaming(let source, let target, var moves, let cursor):
            guard let (from, to) = moves.popFirst() else { return nextSource() }
            switch answer {
            case .stat(.file): if verbose { write("renamed '\(shown(from))' -> '\(shown(to))'\n") }
            case .failed(let failure) where failure.code == .notFound && retried:
                if verbose { write("renamed '\(shown(from))' -> '\(shown(to))' (the server's answer was lost)\n") }
            case .failed(let failure): fail("cannot move '\(shown(from))' to '\(shown(to))': \(failure.message)")
            default: fail("cannot move '\(shown(from))': an answer that is no Rename's")
            }
            if !moves.isEmpty {
                phase = .renaming(source: source, target: target, moves: moves, cursor: cursor)
            } else if let cursor {
                phase = .listing(source: source, target: target, cursor: cursor)
            } else {
                nextSource()
            }
        case .done: break
        }
    }

    private func destinationFound(_ answer: StoreAnswer) {
        switch answer {
        case .stat(.directory): intoDirectory = true
        case .stat(.file) where intoDirectory:
            failAll("target '\(shown(destination))' is a file, not a directory")
            return
        case .stat(.file): destinationIsFile = true
        case .failed(let failure) where failure.code == .notFound: break
        case .failed(let failure):
            failAll("cannot move to '\(shown(destination))': \(failure.message)")
            return
        default: break
        }
        phase = .statSource
    }

    private func sourceFound(_ answer: StoreAnswer) {
        guard let source = sources.first else { return phase = .done }
        let name = LocalPath.components(source).last ?? source
        let target = intoDirectory ? (destination.isEmpty ? name : destination + "/" + name) : destination
        switch answer {
        case .stat(.file):
            phase = .renaming(source: source, target: target, moves: [(source, target)][...], cursor: nil)
        case .stat(.directory):
            if destinationIsFile, !intoDirectory {
                fail("cannot move the directory '\(shown(source))' onto the file '\(shown(destination))'")
                return nextSource()
            }
            if target == source || target.utf8.starts(with: (source + "/").utf8) {
                fail("cannot move '\(shown(source))' into itself ('\(shown(target))')")
                return nextSource()
            }
            phase = .listing(source: source, target: target, cursor: "")
        case .failed(let failure):
            fail("cannot move '\(shown(source))': \(failure.message)")
            nextSource()
        default:
            fail("cannot move '\(shown(source))': an answer that is no Stat's")
            nextSource()
        }
    }

    private func listed(_ answer: StoreAnswer, source: String, target: String) {
        guard case .list(let page) = answer else {
            if case .failed(let failure) = answer { fail("cannot move '\(shown(source))': \(failure.message)") }
            return nextSource()
        }
        let moves = page.entries.compactMap { entry -> (String, String)? in
            guard case .file(let file) = entry else { return nil }
            return (file.path, target + String(decoding: Array(file.path.utf8.dropFirst(source.utf8.count)), as: UTF8.self))
        }
        let cursor = page.nextCursor.isEmpty ? nil : page.nextCursor
        if moves.isEmpty {
            if let cursor { phase = .listing(source: source, target: target, cursor: cursor) } else { nextSource() }
        } else {
            phase = .renaming(source: source, target: target, moves: moves[...], cursor: cursor)
        }
    }

    private func nextSource() {
        sources = sources.dropFirst()
        phase = sources.isEmpty ? .done : .statSource
    }

    private func fail(_ message: String) {
        failures += 1
        error(message)
    }

    private func failAll(_ message: String) {
        failures += sources.count
        error(message)
        sources = []
        phase = .done
    }

    private func shown(_ path: String) -> String { TerminalText.printable(path.isEmpty ? "." : path) }
}
