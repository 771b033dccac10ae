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
