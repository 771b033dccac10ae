// ferry: the Ferry client.
import ArgumentParser

struct Ferry: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Upload files to a ferryd server over an authenticated, encrypted channel; run a small CA.",
        subcommands: [UploadCommand.self, CACommand.self])
}

Ferry.main()
