// `ferry ls`: what the server stores, from its metadata index (PROTOCOL.md §14), page by page as it arrives.
import ArgumentParser
import Foundation
import Platform
import Protocol

package struct ListCommand: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the files stored on a ferryd server.",
        discussion: """
            Lists your own files on the server: the top with no REMOTE, else each REMOTE: a directory's files and \
            subdirectories (subdirectories end in "/"), or a file itself. -R lists every file below instead, by its \
            path; -l adds each file's size in bytes, its time (the source's modification time when the upload kept \
            it, else the upload's) and the first 12 hex digits of its SHA-256; --json prints one JSON object per \
            line (JSON Lines: name, path, type, size, sha256, modified, uploaded, uploader; times in RFC 3339, UTC; a \
            REMOTE that failed: path, code and error, as ferry rm gives them). \
            Entries come in byte order of their names, as the server's index keeps them; a long listing is printed \
            as it arrives.

            The server answers from its index, never by walking its disk: a server run with `[index] backend = \
            "off"` cannot list. A directory is there while a file is stored below it.

            Connection options, their defaults (~/.config/ferry/client.toml, $FERRY_*), timeouts and retries are \
            those of `ferry upload`; a listing interrupted by a lost connection goes on from where it was.

            Exit status:
              0   everything listed
              1   a REMOTE is not stored or was refused (each says why on stderr), or the connection was lost
              64  usage error
              69  the server could not be reached, or turned the session away
              75  the server stopped answering (--handshake-timeout, --timeout)
              77  the handshake was refused (a certificate)
              78  the configuration, CA, certificate or key cannot be read or used
              141 the output was closed before the end (`ferry ls | head`): nothing more was asked
            """)

    @Argument(help: "Paths on the server, relative to your own files (default: the top).")
    var remote: [String] = []

    @Flag(name: .short, help: "Long format: size, time, SHA-256 (12 hex digits), name.")
    var long = false

    @Flag(name: [.customShort("R"), .long], help: "Every file below each directory, by its path.")
    var recursive = false

    @Flag(help: "One JSON object per entry and line (JSON Lines), with every field.")
    var json = false

    @Flag(name: .shortAndLong, help: "Say which address was connected to and what was negotiated.")
    var verbose = false

    @OptionGroup(title: "Connection")
    var connection: ConnectionOptions

    package init() {}

    package func run() throws {
        var conversation: ListConversation?
        let failure = try StoreSession.run(command: "ls", paths: remote.isEmpty ? [""] : remote, connection: connection,
                                           verbose: verbose) { paths in
            let made = ListConversation(
                paths: paths, recursive: recursive, format: json ? .json : long ? .long : .names,
                write: { TextOutput.writeAll($0, to: STDOUT_FILENO) },
                error: { FileHandle.standardError.write(Data("ferry ls: \($0)\n".utf8)) })
            conversation = made
            return made
        }
        // As ls killed by SIGPIPE: what a shell reports when the reader of the output went away.
        if conversation?.outputClosed == true { throw ExitCode(128 + SIGPIPE) }
        let status = StoreExitStatus.of(failure, failedArguments: conversation?.failures ?? 0)
        if status != 0 { throw ExitCode(status) }
    }
}
