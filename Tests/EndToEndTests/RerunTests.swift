// Running the same `ferry upload` again (issue #15, point 5; PROTOCOL.md §8.7): every file the server already stores
// with the same size and SHA-256 is reported "already stored", counts as success and is not sent again, so the re-run
// exits 0; a stored file with other content stays an error that says to use --overwrite; a set interrupted half way
// (ferryd killed) and run again completes, with the stored files answered from their recorded digests.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class RerunTests: XCTestCase {
    func testTheSameCommandAgainReportsAlreadyStoredAndSendsNothing() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let tree = try env.sourceDirectory("set")
        var contents: [String: [UInt8]] = [:]
        for name in ["a.bin", "b.bin", "sub/c.bin"] {
            let bytes = Content.random(300_000 + name.count)
            try Content.write(bytes, to: tree.appendingPathComponent(name))
            contents[name] = bytes
        }
        let first = try env.upload([tree.path], to: daemon)
        XCTAssertEqual(first.status, 0, first.run.stderr)

        let again = try env.upload([tree.path], to: daemon)
        XCTAssertEqual(again.status, 0, "\(again.run.stdout)\n\(again.run.stderr)")
        XCTAssertEqual(again.files.count, 3, again.run.stdout)
        for entry in again.files {
            XCTAssertEqual(entry.raw["status"] as? String, "already stored", "\(entry.raw)")
            XCTAssertEqual(entry.raw["already_stored"] as? Bool, true, "\(entry.raw)")
            XCTAssertEqual(entry.sentBytes, 0, "\(entry.raw)")
            XCTAssertTrue(entry.ok)
        }
        XCTAssertEqual(daemon.logLines(message: "upload already stored").count, 3, daemon.log)
        XCTAssertEqual(daemon.logLines(message: "upload committed").count, 3, "a file was stored again")
        for (name, bytes) in contents { assertStored(daemon.area("alice").appendingPathComponent("set/\(name)"), equals: bytes) }

        // Human output says so too.
        let human = try runToCompletion(env.binaries.ferry, ["upload", "--server", daemon.address, "--ca", env.alice.ca.path,
                                                              "--cert", env.alice.certificate.path, "--key", env.alice.key.path,
                                                              "--dest", "set", tree.appendingPathComponent("a.bin").path],
                                        outputDirectory: env.directory, name: "ferry-human", timeout: 60)
        XCTAssertEqual(human.status, 0, human.stderr)
        XCTAssertTrue(human.stdout.contains("already stored"), human.stdout)
    }

    func testAStoredFileWithOtherContentIsAnErrorThatSaysWhatToDo() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("other").appendingPathComponent("f.bin")
        let original = Content.random(200_000)
        try Content.write(original, to: file)
        XCTAssertEqual(try env.upload([file.path], to: daemon).status, 0)
        try Content.write(Content.random(200_000), to: file)  // same size, other bytes
        let run = try env.upload([file.path], to: daemon)
        XCTAssertEqual(run.status, 1, run.run.stdout)
        let error = run.files.first?.error ?? ""
        XCTAssertTrue(error.contains("other content") && error.contains("--overwrite"), error)
        assertStored(daemon.area("alice").appendingPathComponent("f.bin"), equals: original)
    }

    /// ferryd killed while a set is half stored; run again after it restarts: the stored files are "already stored",
    /// the rest is sent (the one in flight resumed or restarted), and the run exits 0 with the set complete.
    func testASetInterruptedHalfWayCompletesWhenRunAgain() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let tree = try env.sourceDirectory("half")
        var digests: [String: String] = [:]
        for index in 0..<6 {
            digests["f\(index).bin"] = try Content.writeLarge(size: 48 << 20, to: tree.appendingPathComponent("f\(index).bin"))
        }
        let client = try env.startUpload([tree.path], to: daemon, extra: ["--parallel", "1", "--retries", "0"])
        defer { client.stop(grace: 1) }
        XCTAssertTrue(waitUntil(timeout: 60) { daemon.logLines(message: "upload committed").count >= 2 },
                      "two files were not stored within 60 s")
        daemon.child.signal(SIGKILL)
        XCTAssertTrue(daemon.child.wait(timeout: 5))
        XCTAssertTrue(client.wait(timeout: 30), "ferry did not give up with --retries 0")
        XCTAssertNotEqual(client.exitStatus, 0, "the interrupted run said it succeeded")
        let restarted = try daemon.restarted(environment: env)

        let again = try env.upload([tree.path], to: restarted, timeout: 120)
        XCTAssertEqual(again.status, 0, "\(again.run.stdout)\n\(again.run.stderr)")
        let already = again.files.filter { $0.raw["status"] as? String == "already stored" }.count
        XCTAssertGreaterThanOrEqual(already, 2, again.run.stdout)
        XCTAssertEqual(again.files.filter(\.ok).count, 6, again.run.stdout)
        for (name, digest) in digests {
            XCTAssertEqual(try Content.sha256(of: restarted.area("alice").appendingPathComponent("half/\(name)")), digest, name)
        }
    }
}
