// `ferry stat`: what the server's index holds of a stored file or directory (PROTOCOL.md §14.2), one Stat each.
import ArgumentParser
import Foundation
import Platform
import Protocol

package struct StatCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "Show what a ferryd server stores under a path.",
        discussion: """
            For a file: its size, SHA-256, modification time (when the upload kept it), when it was uploaded and by \
            whom. For a directory (a path some stored file is below): how many files are below it, at any depth, and \
            their bytes. --json prints one JSON object per REMOTE and line (one that failed: path, code and error, as \
            ferry rm gives them). The server answers from its index.

            Connection options, defaults, timeouts and retries are those of `ferry upload`.

            Exit status: 0 every REMOTE found; 1 a REMOTE not stored or refused; 64, 69, 75, 77, 78 as `ferry ls`.
            """)

    @Argument(help: "Paths on the server, relative to your own files.")
    var remote: [String]

    @Flag(help: "One JSON object per REMOTE and line.")
    var json = false

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    package init() {}

    package func run() throws {
        var conversation: StatConversation?
        let failure = try StoreSession.run(command: "stat", paths: remote, connection: connection) { paths in
            let made = StatConversation(paths: paths, json: json)
            conversation = made
            return made
        }
        let status = StoreExitStatus.of(failure, failedArguments: conversation?.failures ?? 0)
        if status != 0 { throw ExitCode(status) }
    }
}

/// One Stat per path, each answer printed as it comes.
final class StatConversation: StoreConversation {
    private var remaining: ArraySlice<String>
    private let json: Bool
    private(set) var failures = 0
    private var printed = 0

    init(paths: [String], json: Bool) {
        remaining = paths[...]
        self.json = json
    }

    var nextRequest: StoreRequest? { remaining.first.map { .stat(StatRequest(path: $0)) } }

    func answered(_ answer: StoreAnswer) {
        guard let path = remaining.popFirst() else { return }
        switch answer {
        case .stat(let result):
            TextOutput.writeAll(json ? Self.json(result) + "\n" : (printed > 0 ? "\n" : "") + Self.text(result), to: STDOUT_FILENO)
            printed += 1
        case .failed(let failure):
            failures += 1
            let shown = TerminalText.printable(path.isEmpty ? "." : path)
            FileHandle.standardError.write(Data("ferry stat: cannot stat '\(shown)': \(failure.message)\n".utf8))
            if json { TextOutput.writeAll(StoreEntryText.jsonFailure(path: path, failure) + "\n", to: STDOUT_FILENO) }
        case .list, .deleted, .verified:
            failures += 1  // never: the protocol checks an answer against its request
        }
    }

    static func text(_ result: StatResult) -> String {
        switch result {
        case .file(let file):
            var lines = ["path: \(TerminalText.printable(file.path))", "type: file", "size: \(file.size)", "sha256: \(hex(file.sha256))"]
            if let modified = file.modified { lines.append("modified: \(StoreEntryText.localFull(modified))") }
            lines += ["uploaded: \(StoreEntryText.localFull(file.uploaded))", "uploader: \(TerminalText.printable(file.uploader))"]
            return lines.joined(separator: "\n") + "\n"
        case .directory(let path, let files, let bytes):
            return "path: \(TerminalText.printable(path.isEmpty ? "." : path))\ntype: directory\nfiles: \(files)\nbytes: \(bytes)\n"
        }
    }

    static func json(_ result: StatResult) -> String {
        switch result {
        case .file(let file):
            return StoreEntryText.json(.file(file), name: file.path)
        case .directory(let path, let files, let bytes):
            var out = "{\"name\":"
            JSONText.appendQuoted(path, to: &out)
            out += ",\"path\":"
            JSONText.appendQuoted(path.isEmpty ? "" : path + "/", to: &out)
            return out + ",\"type\":\"directory\",\"files\":\(files),\"bytes\":\(bytes)}"
        }
    }
}
