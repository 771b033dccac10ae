// ferryd: placeholder entry point until the daemon issue lands (see README).
import ArgumentParser
import Protocol

@main
struct Ferryd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferryd",
        abstract: "The Ferry secure file-transfer daemon.",
        discussion: "The daemon itself (listeners, storage, systemd integration) is not built yet; see the README.")

    func run() throws {
        throw ValidationError("ferryd is not implemented yet: only the protocol core exists (see README)")
    }
}
