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
// error (2) from a run with errors (1); and that a usage error a subcommand finds while running (a value that parses
// but cannot be used: a server address, two paths that contradict each other) is followed by the usage of that
// subcommand, not ArgumentParser's there, which is the root command's ("Usage: ferry <subcommand>").
var command: ParsableCommand
do {
    command = try Ferry.parseAsRoot()
} catch {
    if Ferry.exitCode(for: error) == .validationFailure, LoadTestCommand.isInvoked(by: CommandLine.arguments) {
        FileHandle.standardError.write(Data((Ferry.fullMessage(for: error) + "\n").utf8))
        exit(2)
    }
    Ferry.exit(withError: error)
}
do {
    try command.run()
} catch let error as ValidationError {
    let loadTest = LoadTestCommand.isInvoked(by: CommandLine.arguments)
    let usage = Ferry.usageString(for: type(of: command))
    FileHandle.standardError.write(Data("Error: \(error.message)\nUsage: \(usage)\n  See 'ferry help' for more.\n".utf8))
    exit(loadTest ? 2 : ExitCode.validationFailure.rawValue)
} catch {
    Ferry.exit(withError: error)
}
