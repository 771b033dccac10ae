// Beyond the brief's list: SIGHUP re-reads the configuration. An invalid file keeps the old settings (and the daemon
// keeps running); a valid one applies reloadable keys to what starts afterwards; restart-only keys keep their values.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class ReloadTests: XCTestCase {
    func testSIGHUPAppliesAValidFileAndKeepsTheOldSettingsOnAnInvalidOne() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["limits": ["max_file_size = \"1MiB\""]])
        let source = try env.sourceDirectory("reload")
        var attempt = 0
        func upload2MiB() throws -> TestEnvironment.UploadOutcome {
            attempt += 1
            let url = source.appendingPathComponent("two-mib-\(attempt).bin")
            try Content.writeLarge(size: 2 << 20, to: url)
            return try env.upload([url.path], to: daemon)
        }
        func hangUp(expecting message: String, file: StaticString = #filePath, line: UInt = #line) -> LogLine? {
            let before = daemon.logLines(message: message).count
            daemon.child.signal(SIGHUP)
            var found: LogLine?
            waitUntil(timeout: 10) {
                let lines = daemon.logLines(message: message)
                found = lines.count > before ? lines.last : nil
                return found != nil
            }
            XCTAssertNotNil(found, "no '\(message)' after SIGHUP:\n\(daemon.log)", file: file, line: line)
            return found
        }
        let original = try String(contentsOf: daemon.configURL, encoding: .utf8)

        let refused = try upload2MiB()
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue((refused.files.first?.error ?? "").contains("exceeds the server's limit of 1048576"))

        // An invalid file: an error in the log, the old limit stays, the daemon keeps serving.
        try (original + "\n[limits2]\nbogus = 1\n").write(to: daemon.configURL, atomically: true, encoding: .utf8)
        let failed = hangUp(expecting: "reload failed: keeping the current configuration")
        XCTAssertTrue(failed?["error"]?.contains("limits2") ?? false, "\(failed?.text ?? "")")
        daemon.assertRunning("after an invalid reload")
        let stillRefused = try upload2MiB()
        XCTAssertEqual(stillRefused.status, 1, "the invalid file's reload changed the limit")

        // A valid file: the new limit applies to the next upload; a restart-only key is reported and ignored.
        let raised = original.replacingOccurrences(of: "max_file_size = \"1MiB\"", with: "max_file_size = \"4MiB\"")
            .replacingOccurrences(of: "workers = 1", with: "workers = 3")
        XCTAssertNotEqual(raised, original)
        try raised.write(to: daemon.configURL, atomically: true, encoding: .utf8)
        let reloaded = hangUp(expecting: "configuration reloaded")
        XCTAssertTrue(reloaded?["changed"]?.contains("limits.max_file_size") ?? false, "\(reloaded?.text ?? "")")
        let restart = daemon.logLines(message: "reload: these settings need a restart and keep their current values").last
        XCTAssertTrue(restart?["keys"]?.contains("server.workers") ?? false, "restart-only change not reported: \(daemon.log)")
        let accepted = try upload2MiB()
        XCTAssertEqual(accepted.status, 0, "after raising max_file_size: \(accepted.files.first?.error ?? accepted.run.stderr)")
        XCTAssertEqual(Content.size(of: daemon.area("alice").appendingPathComponent("two-mib-3.bin")), 2 << 20)
        XCTAssertEqual(Set(daemon.logLines(message: "session established").compactMap { $0["worker"] }), ["0"],
                       "workers changed without a restart")
        daemon.assertRunning("after the reloads")
    }
}
