// The metadata index as an operator meets it: kept by default under the root, rebuilt by `ferryd reindex` when lost
// (`--check` says what differs and exits 1), never rebuilt under a running daemon, and a damaged or linked index
// refusing the start with what to do.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class ReindexCommandTests: XCTestCase {
    private func reindex(_ daemon: Daemon, _ env: TestEnvironment, check: Bool) throws -> RunResult {
        try runToCompletion(env.binaries.ferryd, ["reindex", "--config", daemon.configURL.path] + (check ? ["--check"] : []),
                            outputDirectory: env.directory, name: "ferryd-reindex", timeout: 30)
    }

    func testALostIndexIsRebuiltWithTheDaemonStoppedAndNeverUnderARunningOne() throws {
        let env = try TestEnvironment(self)
        var daemon = try Daemon.start(environment: env, workers: 1)
        // Refused under a running daemon — whose intent journal is empty then, the easiest to disturb — and leaving it
        // alone: the commits after it, killed before their rows were written, are settled at the next start.
        let running = try reindex(daemon, env, check: false)
        XCTAssertEqual(running.status, 2)
        XCTAssertTrue(running.stderr.contains("another ferryd (pid \(daemon.pid)) is using this storage root"), running.stderr)
        let source = try env.sourceDirectory("kept")
        for name in ["a.bin", "b.bin"] { _ = try Content.write(Content.random(10_000), to: source.appendingPathComponent(name)) }
        XCTAssertEqual(try env.upload([source.path], to: daemon).status, 0)
        let later = try env.sourceDirectory("later").appendingPathComponent("later.bin")
        _ = try Content.write(Content.random(5_000), to: later)
        XCTAssertEqual(try env.upload([later.path], to: daemon).status, 0)
        daemon.child.signal(SIGKILL)
        XCTAssertTrue(daemon.child.wait(timeout: 5))
        daemon = try daemon.restarted(environment: env)
        XCTAssertNotNil(daemon.waitForLog(timeout: 5) { $0.message == "index changes a stop left unfinished, settled against the stored files" && $0["settled"] == "3" },
                        daemon.log)
        XCTAssertTrue(daemon.stop())
        XCTAssertEqual(try reindex(daemon, env, check: true).status, 0, "the daemon kept the index")

        let indexDirectory = daemon.root.appendingPathComponent(".index")
        try FileManager.default.removeItem(at: indexDirectory)
        daemon = try daemon.restarted(environment: env)
        XCTAssertTrue(FileManager.default.fileExists(atPath: indexDirectory.appendingPathComponent("metadata.sqlite").path))
        XCTAssertTrue(daemon.stop())
        let check = try reindex(daemon, env, check: true)
        XCTAssertEqual(check.status, 1, check.stdout)
        XCTAssertTrue(check.stdout.contains("added: alice/kept/a.bin"), check.stdout)
        XCTAssertTrue(check.stdout.contains("run `ferryd reindex` with ferryd stopped"), check.stdout)
        let rebuilt = try reindex(daemon, env, check: false)
        XCTAssertEqual(rebuilt.status, 0, rebuilt.stderr)
        XCTAssertTrue(rebuilt.stdout.contains("index rebuilt: 3 added"), rebuilt.stdout)
        let after = try reindex(daemon, env, check: true)
        XCTAssertEqual(after.status, 0, after.stdout)
        XCTAssertTrue(after.stdout.contains("the index matches the stored files"), after.stdout)
    }

    func testADamagedOrLinkedIndexRefusesTheStartWithWhatToDo() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        XCTAssertTrue(daemon.stop())
        let file = daemon.root.appendingPathComponent(".index/metadata.sqlite")
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file.path + suffix) }
        try Data(repeating: 0x5A, count: 8192).write(to: file)
        let damaged = try runToCompletion(env.binaries.ferryd, ["--config", daemon.configURL.path],
                                          outputDirectory: env.directory, name: "ferryd-damaged", timeout: 20)
        XCTAssertEqual(damaged.status, 1)
        XCTAssertTrue(damaged.stderr.contains("move it away and run `ferryd reindex`"), damaged.stderr)

        let elsewhere = env.directory.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.removeItem(at: file.deletingLastPathComponent())
        try FileManager.default.createSymbolicLink(at: file.deletingLastPathComponent(), withDestinationURL: elsewhere)
        let linked = try runToCompletion(env.binaries.ferryd, ["--config", daemon.configURL.path],
                                         outputDirectory: env.directory, name: "ferryd-linked", timeout: 20)
        XCTAssertEqual(linked.status, 1)
        XCTAssertTrue(linked.stderr.contains("the index directory \(daemon.root.path)/.index is a symbolic link"), linked.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path), [], "nothing created through it")
    }
}
