// The store commands (`ferry ls`, `stat`, `get`, `rm`, `mv`, `verify`, PROTOCOL.md §14) run as alice (or another
// identity) against a daemon, and what they print: lines, and one JSON object per line for --json. Shared by
// StoreChangeTests, VerifyTests and AccessGrantTests.
import Foundation
import TestSupport
import XCTest

extension TestEnvironment {
    /// `ferry COMMAND --server … ARGUMENTS` as `client` (alice when nil), bounded by `timeout`. `server` defaults to
    /// the daemon's address (a proxy's to go through it).
    func ferry(_ command: String, _ arguments: [String], daemon: Daemon, as client: ClientCredentials? = nil,
               server: String? = nil, timeout: Double = 60,
               file: StaticString = #filePath, line: UInt = #line) throws -> RunResult {
        try runToCompletion(binaries.ferry, storeArguments(command, server: server ?? daemon.address, as: client) + arguments,
                            outputDirectory: directory, name: "ferry-\(command)", timeout: timeout, file: file, line: line)
    }

    /// The same, started without waiting (for a command that must still be running while another changes the store).
    func startFerry(_ command: String, _ arguments: [String], server: String) throws -> ChildProcess {
        try ChildProcess(binaries.ferry, storeArguments(command, server: server) + arguments, outputDirectory: directory,
                         name: "ferry-\(command)")
    }

    private func storeArguments(_ command: String, server: String, as client: ClientCredentials? = nil) -> [String] {
        let client = client ?? alice
        return [command, "--server", server, "--ca", client.ca.path, "--cert", client.certificate.path,
                "--key", client.key.path]
    }
}

/// The lines of a command's output, without their ends.
func outputLines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

/// One JSON object per line (--json); a line that is none fails the test.
func jsonObjects(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [[String: Any]] {
    outputLines(text).compactMap { text in
        let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        if object == nil { XCTFail("not a JSON object: \(text)", file: file, line: line) }
        return object
    }
}

/// Every directory under `directory` (not itself), as paths relative to it, sorted.
func directories(under directory: URL) -> [String] {
    guard let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isDirectoryKey]) else {
        return []
    }
    var found: [String] = []
    let base = directory.standardizedFileURL.path
    for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isDirectoryKey]))?.isDirectory == true {
        found.append(String(url.standardizedFileURL.path.dropFirst(base.count).drop { $0 == "/" }))
    }
    return found.sorted()
}
