// #17, point 6: many small files through one session, pipelined (PROTOCOL.md §8.10) — every file of at most 1 MiB sent
// whole without waiting for the previous one's answer, larger ones as v1 uploads between them; failures among them
// fail only their file; a daemon killed in the middle leaves nothing half-stored, and the client's retry completes
// the run; a re-run reports every file already stored.
import Foundation
import TestSupport
import XCTest

final class PipelinedUploadTests: XCTestCase {
    /// 240 small files (0 B to 9 KiB), files of exactly 1 MiB (pipelined) and 1 MiB + 1 (v1), and a 3 MiB one, in one
    /// session: all stored exactly; only the files over 1 MiB took the v1 path (its "upload started" line).
    func testSmallAndLargeFilesInOneSessionAreAllStoredAndOnlyLargeOnesGoV1() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let tree = try env.sourceDirectory("many").appendingPathComponent("tree", isDirectory: true)
        var files: [String: [UInt8]] = [:]
        for index in 0..<240 {
            files["d\(index % 7)/s\(index).bin"] = Content.random((index * 37) % 9_300)
        }
        files["big/exactly-1MiB"] = Content.random(1 << 20)
        files["big/one-more"] = Content.random((1 << 20) + 1)
        files["big/three"] = Content.random(3 << 20)
        for (relative, bytes) in files { try Content.write(bytes, to: tree.appendingPathComponent(relative)) }

        let outcome = try env.upload([tree.path], to: daemon, parallel: 1, extra: ["-vv"], timeout: 120)
        XCTAssertEqual(outcome.status, 0, outcome.run.stderr)
        XCTAssertEqual(outcome.files.count, files.count)
        for entry in outcome.files { XCTAssertTrue(entry.ok, "\(entry.path): \(entry.error ?? "")") }
        let area = daemon.area("alice")
        XCTAssertEqual(regularFiles(under: area), files.keys.map { "tree/\($0)" }.sorted())
        for (relative, bytes) in files {
            assertStored(area.appendingPathComponent("tree/\(relative)"), equals: bytes, "tree/\(relative)")
        }
        XCTAssertEqual(daemon.stagingEntries(), [], "nothing left in staging")
        XCTAssertEqual(daemon.logLines(message: "session established").count, 1)
        XCTAssertEqual(daemon.logLines(message: "upload committed").count, files.count)
        // v1's Accepted is logged "upload started": only the two files over the pipelining limit.
        let started = daemon.logLines(message: "upload started").compactMap { $0["path"] }.sorted()
        XCTAssertEqual(started, ["tree/big/one-more", "tree/big/three"])
        let output = outcome.run.stdout + outcome.run.stderr
        XCTAssertTrue(output.contains("pipelined"), "-vv names the pipelined Opens:\n\(output.prefix(2000))")
        daemon.assertRunning("after the pipelined run")

        // A re-run: every file is already stored (the small ones answered `exists`, then sent again with their digest).
        let again = try env.upload([tree.path], to: daemon, parallel: 1, timeout: 120)
        XCTAssertEqual(again.status, 0, again.run.stderr)
        XCTAssertEqual(again.files.count, files.count)
        XCTAssertTrue(again.files.allSatisfy { $0.raw["already_stored"] as? Bool == true },
                      "not reported already stored: \(again.files.filter { $0.raw["already_stored"] as? Bool != true }.map(\.path))")
        XCTAssertEqual(regularFiles(under: area).count, files.count, "the re-run stored nothing new")
    }

    /// Refusals among pipelined files: a file whose name exists with other content (`exists`, saying how to replace
    /// it), files below a symbolic link planted on the server (refused, not followed); the others are stored, the
    /// session goes on, and the exit status says some failed.
    func testFailuresAmongPipelinedFilesFailOnlyTheirFiles() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let tree = try env.sourceDirectory("mixed").appendingPathComponent("tree", isDirectory: true)
        var good: [String: [UInt8]] = [:]
        for index in 0..<60 { good["ok/f\(index)"] = Content.random(100 + index) }
        let clash = Content.random(500)
        let linked = ["trap/a", "trap/b"]
        for (relative, bytes) in good { try Content.write(bytes, to: tree.appendingPathComponent(relative)) }
        try Content.write(clash, to: tree.appendingPathComponent("ok/clash"))
        for relative in linked { try Content.write(Content.random(64), to: tree.appendingPathComponent(relative)) }

        let area = daemon.area("alice")
        try Content.write(Content.random(500), to: area.appendingPathComponent("tree/ok/clash"))  // other content
        let elsewhere = env.directory.appendingPathComponent("elsewhere", isDirectory: true)
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: area.appendingPathComponent("tree/trap"), withDestinationURL: elsewhere)

        let outcome = try env.upload([tree.path], to: daemon, parallel: 1, timeout: 120)
        XCTAssertNotEqual(outcome.status, 0, "some files failed")
        XCTAssertEqual(outcome.files.count, good.count + 1 + linked.count)
        for (relative, bytes) in good {
            let entry = outcome.file(tree.appendingPathComponent(relative).path)
            XCTAssertEqual(entry?.ok, true, "\(relative): \(entry?.error ?? "no entry")")
            assertStored(area.appendingPathComponent("tree/\(relative)"), equals: bytes, relative)
        }
        let clashEntry = outcome.file(tree.appendingPathComponent("ok/clash").path)
        XCTAssertEqual(clashEntry?.ok, false)
        XCTAssertTrue(clashEntry?.error?.contains("--overwrite") == true, clashEntry?.error ?? "no entry")
        for relative in linked {
            let entry = outcome.file(tree.appendingPathComponent(relative).path)
            XCTAssertEqual(entry?.ok, false, relative)
            XCTAssertTrue(entry?.error?.contains("symbolic link") == true, entry?.error ?? "no entry")
        }
        XCTAssertEqual(regularFiles(under: elsewhere), [], "nothing was written through the link")
        XCTAssertEqual(daemon.logLines(message: "session established").count, 1, "one session carried every answer")
        XCTAssertEqual(daemon.stagingEntries(), [])
        daemon.assertRunning("after the refusals")
    }

    /// ferryd SIGKILLed while pipelined files flow, started again: the client retries and every file ends stored
    /// exactly; nothing half-written is ever under a final name, and nothing is left in staging.
    func testDaemonKilledDuringAPipelinedRunLeavesNoPartialFileAndTheRetryCompletes() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["storage": ["fsync = true"]])
        let tree = try env.sourceDirectory("kill").appendingPathComponent("tree", isDirectory: true)
        var files: [String: [UInt8]] = [:]
        for index in 0..<1_500 { files["d\(index % 13)/k\(index)"] = Content.random(2_000 + index % 3_000) }
        for (relative, bytes) in files { try Content.write(bytes, to: tree.appendingPathComponent(relative)) }

        let client = try env.startUpload([tree.path], to: daemon, extra: ["--parallel", "1", "--retries", "10"])
        let some = waitUntil(timeout: 60) { daemon.logLines(message: "upload committed").count >= 100 || !client.isRunning }
        XCTAssertTrue(some)
        guard client.isRunning else { return XCTFail("the run ended before the kill: \(client.stdout)") }
        daemon.child.signal(SIGKILL)
        XCTAssertTrue(waitUntil(timeout: 10) { !daemon.isRunning })
        // What the killed daemon left: every stored file is whole (its content is its source's), nothing else.
        let area = daemon.area("alice")
        for stored in regularFiles(under: area) {
            let relative = String(stored.dropFirst("tree/".count))
            guard let bytes = files[relative] else { XCTFail("unexpected file \(stored)"); continue }
            assertStored(area.appendingPathComponent(stored), equals: bytes, "after the kill: \(stored)")
        }
        let restarted = try daemon.restarted(environment: env)
        XCTAssertTrue(waitUntil(timeout: 120) { !client.isRunning }, "the client did not finish after the restart")
        XCTAssertEqual(client.exitStatus, 0, client.stderr)
        XCTAssertEqual(regularFiles(under: area), files.keys.map { "tree/\($0)" }.sorted())
        for (relative, bytes) in files { assertStored(area.appendingPathComponent("tree/\(relative)"), equals: bytes, relative) }
        XCTAssertEqual(restarted.stagingEntries(), [], "staging after the retry")
    }
}
