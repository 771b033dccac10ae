// Beyond the brief's list: what the daemon does with uploads in flight when it is stopped (SIGTERM: drain within
// server.shutdown_grace) or dies (SIGKILL), and that it serves again after a restart on the same storage root.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class ShutdownTests: XCTestCase {
    /// SIGTERM while a 512 MiB upload runs, with shutdown_grace = 30: the upload finishes and is committed, then the
    /// daemon exits 0 on its own.
    func testSIGTERMLetsTheRunningUploadFinish() throws {
        let env = try TestEnvironment(self)
        let size: UInt64 = 512 << 20
        guard env.freeBytes() > 2 * size + (256 << 20) else { throw XCTSkip("needs about 1.3 GiB free") }
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["server": ["shutdown_grace = 30"]])
        let source = try env.sourceDirectory("drain")
        let big = source.appendingPathComponent("drain-512MiB.bin")
        let digest = try Content.writeLarge(size: size, to: big)

        let client = try env.startUpload([big.path], to: daemon)
        defer { client.stop(grace: 1) }
        XCTAssertNotNil(daemon.waitForLog(timeout: 15) { $0.message == "upload started" }, "upload never started")
        XCTAssertTrue(waitUntil(timeout: 20) {
            daemon.stagingEntries().contains { (Content.size(of: daemon.stagingDirectory.appendingPathComponent($0)) ?? 0) >= 8 << 20 }
        }, "no data reached staging")
        XCTAssertTrue(client.isRunning, "the upload ended before SIGTERM could be sent")
        daemon.child.signal(SIGTERM)

        XCTAssertTrue(client.wait(timeout: 60), "ferry did not finish within 60 s of SIGTERM")
        XCTAssertEqual(client.exitStatus, 0, "ferry: \(client.terminationDescription)\n\(client.stdout)\n\(client.stderr)")
        let json = try? JSONSerialization.jsonObject(with: client.stdoutData) as? [String: Any]
        XCTAssertEqual(json?["ok"] as? Bool, true, "ferry JSON: \(client.stdout)")
        let stored = daemon.area("alice").appendingPathComponent("drain-512MiB.bin")
        XCTAssertEqual(try? Content.sha256(of: stored), digest, "the upload in flight at SIGTERM was not stored intact")

        XCTAssertTrue(daemon.child.wait(timeout: 10), "ferryd still running 10 s after its last upload ended")
        XCTAssertEqual(daemon.child.exitStatus, 0, "ferryd: \(daemon.child.terminationDescription)")
        XCTAssertEqual(daemon.logLines(message: "shutting down: draining sessions").count, 1)
        XCTAssertEqual(daemon.logLines(message: "ferryd stopped").count, 1, daemon.log)
        XCTAssertEqual(daemon.logLines(message: "grace period over: closing sessions still uploading").count, 0)
        XCTAssertEqual(daemon.stagingEntries(), [])
    }

    /// SIGTERM while a client is in the first of three files: that upload finishes, but no new upload starts during the
    /// drain (ServerSession.shutdown: "Goodbye now unless an operation is in flight (it finishes first…)"), so the
    /// daemon stops soon after the upload in flight instead of taking new files until the grace period cuts one.
    func testNoNewUploadStartsWhileDraining() throws {
        let env = try TestEnvironment(self)
        let size: UInt64 = 128 << 20
        guard env.freeBytes() > 6 * size + (256 << 20) else { throw XCTSkip("needs about 1 GiB free") }
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["server": ["shutdown_grace = 20"]])
        let source = try env.sourceDirectory("drain-batch")
        let files = try (1...3).map { index -> URL in
            let url = source.appendingPathComponent("batch-\(index).bin")
            try Content.writeLarge(size: size, to: url)
            return url
        }
        // --retries 0: without it the client waits for the stopped daemon to come back (RetryTests).
        let client = try ChildProcess(env.binaries.ferry, ["upload", "--server", daemon.address, "--ca", env.alice.ca.path,
                                                           "--cert", env.alice.certificate.path, "--key", env.alice.key.path,
                                                           "--parallel", "1", "--json", "--retries", "0", "--"] + files.map(\.path),
                                      outputDirectory: env.directory, name: "ferry-upload")
        defer { client.stop(grace: 1) }
        XCTAssertTrue(waitUntil(timeout: 20) {
            daemon.stagingEntries().contains { (Content.size(of: daemon.stagingDirectory.appendingPathComponent($0)) ?? 0) >= 8 << 20 }
        }, "the first upload never got going")
        XCTAssertEqual(daemon.logLines(message: "upload committed").count, 0, "the first file finished too soon for this test")
        let signalledAt = monotonicSeconds()
        daemon.child.signal(SIGTERM)
        XCTAssertTrue(client.wait(timeout: 30), "ferry still running 30 s after the daemon's SIGTERM")
        XCTAssertTrue(daemon.child.wait(timeout: 30), "ferryd still running 30 s after SIGTERM")
        let stoppedAfter = monotonicSeconds() - signalledAt
        report("ferryd stopped \(String(format: "%.2f", stoppedAfter)) s after SIGTERM (grace 20 s); ferry: \(client.stdout)")

        // The file in flight at SIGTERM is committed intact.
        let lines = daemon.logLines()
        XCTAssertEqual(lines.filter { $0.message == "upload committed" }.first?["path"], "batch-1.bin")
        XCTAssertEqual(try? Content.sha256(of: daemon.area("alice").appendingPathComponent("batch-1.bin")),
                       try Content.sha256(of: files[0]))
        // No upload starts after the drain began, and the daemon does not wait out the grace period.
        guard let drainIndex = lines.firstIndex(where: { $0.message == "shutting down: draining sessions" }) else {
            return XCTFail("no drain in the log:\n\(daemon.log)")
        }
        let startedDuringDrain = lines[drainIndex...].filter { $0.message == "upload started" }.compactMap { $0["path"] }
        XCTAssertEqual(startedDuringDrain, [], "uploads started while the daemon was draining")
        XCTAssertEqual(lines.filter { $0.message == "grace period over: closing sessions still uploading" }.count, 0,
                       "the drain ran into the grace period and cut an upload")
        XCTAssertLessThan(stoppedAfter, 15)
        XCTAssertEqual(daemon.child.exitStatus, 0)
        XCTAssertEqual(daemon.stagingEntries(), [])
    }

    /// SIGTERM with shutdown_grace = 1 while a client holds an upload open without sending: after the grace period
    /// the session is closed, its partial file kept for resume with everything received (written and recorded before
    /// the daemon exits), and the daemon exits 0.
    func testAnUploadStillRunningWhenTheGracePeriodEndsIsKeptForResume() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["server": ["shutdown_grace = 1"]])
        let client = try RawClient(port: daemon.port, client: env.alice)
        _ = try client.handshake()
        guard case .uploadAccepted = try client.open("stalled.bin", size: 8 << 20) else { return XCTFail("not accepted") }
        try client.sendData(Content.random(1 << 20))
        // Some of it on disk is the sign the upload is under way (the sink writes in batches, so a tail of the MiB may
        // wait in memory for more data).
        XCTAssertTrue(waitUntil(timeout: 5) {
            daemon.stagingEntries().contains { (Content.size(of: daemon.stagingDirectory.appendingPathComponent($0)) ?? 0) > 0 }
        }, "nothing of the first MiB reached staging: \(daemon.stagingEntries())")

        let stoppedAt = monotonicSeconds()
        daemon.child.signal(SIGTERM)
        XCTAssertTrue(daemon.child.wait(timeout: 10), "ferryd still running 10 s after SIGTERM with shutdown_grace = 1")
        report("ferryd exited \(String(format: "%.2f", monotonicSeconds() - stoppedAt)) s after SIGTERM (grace 1 s)")
        XCTAssertEqual(daemon.child.exitStatus, 0, daemon.child.terminationDescription)
        XCTAssertEqual(daemon.logLines(message: "grace period over: closing sessions still uploading").count, 1, daemon.log)
        let entries = daemon.stagingEntries().sorted()
        XCTAssertEqual(entries.count, 2, "\(entries)")
        XCTAssertTrue(entries.first?.hasSuffix(".part") == true && entries.last?.hasSuffix(".resume") == true, "\(entries)")
        let record = (try? String(contentsOf: daemon.stagingDirectory.appendingPathComponent(entries.last ?? ""), encoding: .utf8)) ?? ""
        XCTAssertTrue(record.contains("\noffset \(1 << 20)\n"), "the record does not hold the MiB received: \(record)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: daemon.area("alice").appendingPathComponent("stalled.bin").path))
        // The client learns that the session is over (Goodbye, or the connection closing).
        var ended = false
        do {
            ended = try client.nextEvent(timeout: 5) == .peerClosed
        } catch {
            ended = client.closedByServer
        }
        XCTAssertTrue(ended, "the client was not told that the session ended")
    }

    /// A daemon that dies (SIGKILL) in the middle of an upload leaves no file under the final name. Restarted on the same
    /// storage root it must serve the same client again. StoragePaths.partFile documents: "Open with O_CREAT | O_EXCL,
    /// and clear stale .part files at start-up (a previous process may have left some with the same IDs)".
    func testAfterADaemonCrashMidUploadTheRestartedDaemonServesTheSameClient() throws {
        let env = try TestEnvironment(self)
        let first = try Daemon.start(environment: env, workers: 1)
        let client = try RawClient(port: first.port, client: env.alice)
        _ = try client.handshake()
        guard case .uploadAccepted = try client.open("crash/interrupted.bin", size: 4 << 20) else { return XCTFail("not accepted") }
        try client.sendData(Content.random(1 << 20))
        // The sink writes in batches of at least UploadSink.minimumBatch (256 KiB) while more is expected, so up to that
        // much of the MiB may still be in memory when the client pauses: wait for the first batch, not the whole MiB.
        XCTAssertTrue(waitUntil(timeout: 5) {
            first.stagingEntries().contains { (Content.size(of: first.stagingDirectory.appendingPathComponent($0)) ?? 0) >= 256 << 10 }
        }, "nothing of the first MiB reached staging: \(first.stagingEntries())")
        let stale = first.stagingEntries()
        first.child.signal(SIGKILL)
        XCTAssertTrue(first.child.wait(timeout: 5))
        XCTAssertFalse(FileManager.default.fileExists(atPath: first.area("alice").appendingPathComponent("crash/interrupted.bin").path),
                       "a crash mid-upload left a file under the final name")
        report("after SIGKILL, staging holds \(stale)")

        // Restart on the same root: the next upload of the same client (first session, first upload: the same
        // session and upload numbers as the interrupted one) must work.
        let second = try Daemon.start(environment: env, workers: 1)
        XCTAssertEqual(second.stagingEntries(), [], "stale .part files from the crashed process were not cleared at start-up")
        let source = try env.sourceDirectory("crash")
        let file = source.appendingPathComponent("after-restart.bin")
        let bytes = Content.random(123_456)
        try Content.write(bytes, to: file)
        let outcome = try env.upload([file.path], to: second, dest: "crash")
        XCTAssertEqual(outcome.status, 0, "the first upload after the restart failed: \(outcome.files.first?.error ?? outcome.run.stderr)")
        assertStored(second.area("alice").appendingPathComponent("crash/after-restart.bin"), equals: bytes)
        second.assertRunning("after the restart")
    }
}
