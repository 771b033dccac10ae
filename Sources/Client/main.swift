// ferry: placeholder entry point until the daemon issue lands (see README).
import ArgumentParser
import Protocol

@main
struct FerryClient: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "The Ferry client.",
        discussion: "Uploads and the CA tooling are is not built yet; see the README.")

    func run() throws {
        throw ValidationError("ferry is not implemented yet: only the protocol core exists (see README)")
    }
}
