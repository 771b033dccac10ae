// Starting ferryd again where a stopped one was: the same configuration file, so the same port and storage root —
// what a client that retries (issue #15, point 4) sees when a server it lost comes back.
import Foundation
import TestSupport
import XCTest

extension Daemon {
    /// A new ferryd on this one's configuration, once this one has exited (SIGKILL, a drain). Waits (10 s at most)
    /// for `ferryd ready`; the new daemon is stopped at the end of the test like every other.
    func restarted(environment env: TestEnvironment, file: StaticString = #filePath, line: UInt = #line) throws -> Daemon {
        XCTAssertFalse(isRunning, "restarted while the previous ferryd still runs", file: file, line: line)
        let child = try ChildProcess(env.binaries.ferryd, ["--config", configURL.path], outputDirectory: env.directory,
                                     name: "ferryd")
        let daemon = Daemon(child: child, port: port, configURL: configURL, root: root)
        env.register(daemon)
        guard waitUntil(timeout: 10, { daemon.log.contains("msg=\"ferryd ready\"") || !child.isRunning }), child.isRunning
        else {
            XCTFail("the restarted ferryd did not become ready within 10 s; log:\n\(daemon.log)", file: file, line: line)
            throw TestError("ferryd did not restart")
        }
        return daemon
    }
}

extension Daemon {
    /// The recorded durable offset of the one partial in staging, and the size of its .part.
    func partialState() -> (recorded: UInt64, part: UInt64)? {
        let entries = stagingEntries()
        guard let record = entries.first(where: { $0.hasSuffix(".resume") }),
              let part = entries.first(where: { $0.hasSuffix(".part") }),
              let text = try? String(contentsOf: stagingDirectory.appendingPathComponent(record), encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("offset ") }),
              let recorded = UInt64(line.dropFirst(7)),
              let partSize = Content.size(of: stagingDirectory.appendingPathComponent(part)) else { return nil }
        return (recorded, partSize)
    }
}
