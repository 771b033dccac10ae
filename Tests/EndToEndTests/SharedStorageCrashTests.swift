// A shared daemon (`storage.shared`, PostgreSQL) SIGKILLed in the middle of a commit — strace injects the signal at the
// system call itself (CrashInjection) — and, instead of it, another daemon of the root starting: it finds the departed
// daemon's journal free, settles its intents against the tree (the file linked: its row written; not linked: nothing),
// removes that journal, and the index then equals the tree (`ferryd reindex --check`, with every daemon stopped).
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class SharedStorageCrashTests: PostgresSchemaTestCase {
    private func settings(_ url: String, node: String) -> [String: [String]] {
        ["storage": ["shared = true"],
         "index": ["backend = \"postgresql\"", "url = \"\(url)\"", "pool_size = 2", "node = \"\(node)\""]]
    }

    func testADaemonKilledMidCommitIsSettledByAnotherOfTheRoot() throws {
        guard FileManager.default.isExecutableFile(atPath: SyscallTrace.strace.path) else {
            throw XCTSkip("strace is not installed")
        }
        let url = try XCTUnwrap(schema?.url)
        let env = try TestEnvironment(self)
        let points = [(CrashPoint(name: "intent durable, before the link", calls: "linkat", when: 1), false),
                      (CrashPoint(name: "after the link, before its directory's fsync", calls: "fsync", when: 2), true)]
        let source = try env.sourceDirectory("crash")
        for (number, (point, linked)) in points.enumerated() {
            let doomed = try Daemon.start(environment: env, workers: 1, settings: settings(url, node: "a\(number)"),
                                          name: "a\(number)")
            let file = source.appendingPathComponent("p\(number).bin")
            try Content.write(Content.random((64 << 10) + number), to: file)
            let died = try point.inject(into: doomed, in: env) { () throws -> Bool in
                _ = try env.upload([file.path], to: doomed, dest: "crash", extra: ["--retries", "0"], timeout: 30)
                return waitUntil(timeout: 10) { !doomed.isRunning }
            }
            XCTAssertTrue(died, "\(point): the daemon was not killed there")
            let stored = doomed.area("alice").appendingPathComponent("crash/p\(number).bin")
            XCTAssertEqual(FileManager.default.fileExists(atPath: stored.path), linked, "\(point)")
            let rowsBefore = try TestPostgres.psql(url, "SELECT count(*) FROM ferry_files WHERE path = 'crash/p\(number).bin'")
            XCTAssertEqual(rowsBefore, "0\n", "\(point): the row was written before the kill")

            let settler = try Daemon.start(environment: env, workers: 1, settings: settings(url, node: "b"), name: "b\(number)")
            let settled = settler.logLines(message: "unfinished index changes settled against the stored files")
            XCTAssertEqual(settled.first?["departed_nodes"], "a\(number)", "\(point):\n\(settler.log)")
            let listed = try env.ferry("ls", ["-R"], daemon: settler)
            XCTAssertEqual(listed.status, 0, listed.stderr)
            XCTAssertEqual(outputLines(listed.stdout).contains("crash/p\(number).bin"), linked, "\(point): \(listed.stdout)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: doomed.root.appendingPathComponent(".index/nodes/a\(number)").path),
                           "\(point): the departed daemon's settled journal stayed")
            XCTAssertTrue(settler.stop())
            try assertIndexMatchesTree(settler, env, "\(point), settled by the other daemon")
        }
    }
}
