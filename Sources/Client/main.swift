// ferry: the Ferry client.
import ArgumentParser
import FerryClient
import Foundation
import Protocol

struct Ferry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Upload files to a ferryd server over an authenticated, encrypted channel; get, list, stat, move, delete and verify them; run a small CA.",
        discussion: """
            Each subcommand has its own options: `ferry help <subcommand>` lists them. `ferry upload` takes its \
            defaults from ~/.config/ferry/client.toml.
            """,
        version: FerryVersion.description(tool: "ferry"),
        subcommands: [UploadCommand.self, GetCommand.self, ListCommand.self, StatCommand.self, RemoveCommand.self,
                      MoveCommand.self, VerifyCommand.self, CACommand.self,
                      LoadTestCommand.self])
}

// Ferry.main(), except that `ferry loadtest` exits 2 (not 64) when its command line does not parse: scripts tell a usage
// error (2) from a run with errors (1).
do {
    var command = try Ferry.parseAsRoot()
    try command.run()
} catch {
    if Ferry.exitCode(for: error) == .validationFailure, LoadTestCommand.isInvoked(by: CommandLine.arguments) {
        FileHandle.standardError.write(Data((Ferry.fullMessage(for: error) + "\n").utf8))
        exit(2)
    }
    Ferry.exit(withError: error)
}
