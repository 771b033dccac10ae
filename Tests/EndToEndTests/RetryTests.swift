// Automatic retry (issue #15, point 4): `ferry upload` reconnects after a lost connection, with backoff, and sends every
// interrupted file again; `--retries 0` gives up at once; a busy server (UploadError busy, or at its session limit) is
// tried again until it takes the file. The policy itself is unit-tested (RetryPolicyTests); here it is the real
// client against a real ferryd (or RawServer, for what ferryd cannot be made to answer on cue).
import Foundation
import Protocol
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class RetryTests: XCTestCase {
    static let size: UInt64 = 256 << 20

    /// ferryd SIGKILLed mid-upload and started again 2 s later on the same port and storage: the same `ferry upload`
    /// completes by itself, byte-exact, after saying it retries.
    func testAnUploadCompletesWhenTheDaemonIsKilledAndRestarted() throws {
        let env = try TestEnvironment(self)
        guard env.freeBytes() > 4 * Self.size else { throw XCTSkip("needs about 1 GiB free") }
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["storage": ["resume_interval = \"8MiB\""]])
        let source = try env.sourceDirectory("restart").appendingPathComponent("restart.bin")
        let digest = try Content.writeLarge(size: Self.size, to: source)

        let client = try env.startUpload([source.path], to: daemon)
        defer { client.stop(grace: 1) }
        try waitForData(daemon, client)
        // Killed once a durable resume point beyond 0 is recorded (the first comes after 8 MiB and 2 s).
        XCTAssertTrue(waitUntil(timeout: 20) { (daemon.partialState()?.recorded ?? 0) > 0 || !client.isRunning },
                      "no resume point recorded: \(daemon.stagingEntries())")
        guard client.isRunning else { throw XCTSkip("the upload finished before a resume point was recorded") }
        daemon.child.signal(SIGKILL)
        XCTAssertTrue(daemon.child.wait(timeout: 5), "ferryd did not die on SIGKILL")
        usleep(2_000_000)
        XCTAssertTrue(client.isRunning, "ferry gave up while the server was down: \(client.stdout)\n\(client.stderr)")
        let second = try daemon.restarted(environment: env)

        XCTAssertTrue(client.wait(timeout: 120), "ferry still running 120 s after the daemon came back:\n\(client.stderr)")
        XCTAssertEqual(client.exitStatus, 0, "\(client.terminationDescription)\n\(client.stdout)\n\(client.stderr)")
        XCTAssertTrue(client.stderr.contains("retrying in "), "no retry shown on stderr: \(client.stderr)")
        let entry = try fileEntry(client)
        XCTAssertTrue(entry.ok, entry.error ?? "")
        XCTAssertEqual(entry.sha256, digest)
        XCTAssertGreaterThanOrEqual(entry.attempts ?? 0, 2, "\(entry.raw)")
        // The restarted daemon kept the partial: the last attempt resumed where it ends, and what was sent twice is
        // at most what the server had not recorded durable plus what was in flight (DaemonCrashResumeTests bounds it).
        XCTAssertGreaterThan(entry.resumedBytes ?? 0, 0, "the retry did not resume: \(entry.raw)")
        XCTAssertGreaterThan(entry.sentBytes ?? 0, Self.size, "the bytes sent before the kill are not counted")
        XCTAssertTrue(client.stderr.contains("resumed at"), client.stderr)
        XCTAssertEqual(try Content.sha256(of: second.area("alice").appendingPathComponent("restart.bin")), digest)
        report("after the kill: \(entry.attempts ?? 0) attempts, \(entry.sentBytes ?? 0) bytes sent for \(Self.size); "
            + client.stderr.split(separator: "\n").filter { $0.contains("retrying") }.joined(separator: "; "))
    }

    /// The same with a directory over three sessions: every file stored once, byte-exact — those in flight at the kill
    /// sent again, those not started taken from the queue by the new sessions, none lost or duplicated.
    func testADirectoryCompletesOverParallelSessionsWhenTheDaemonIsKilledAndRestarted() throws {
        let env = try TestEnvironment(self)
        let count = 6, size: UInt64 = 48 << 20
        guard env.freeBytes() > 3 * UInt64(count) * size else { throw XCTSkip("needs about 1 GiB free") }
        let daemon = try Daemon.start(environment: env, workers: 1)
        let directory = try env.sourceDirectory("tree")
        var digests: [String: String] = [:]
        for index in 0..<count {
            digests["tree/f\(index).bin"] = try Content.writeLarge(size: size, to: directory.appendingPathComponent("f\(index).bin"))
        }

        let client = try env.startUpload([directory.path], to: daemon, extra: ["--parallel", "3"])
        defer { client.stop(grace: 1) }
        try waitForData(daemon, client)
        daemon.child.signal(SIGKILL)
        XCTAssertTrue(daemon.child.wait(timeout: 5), "ferryd did not die on SIGKILL")
        usleep(2_000_000)
        let second = try daemon.restarted(environment: env)

        XCTAssertTrue(client.wait(timeout: 120), "ferry still running 120 s after the daemon came back:\n\(client.stderr)")
        XCTAssertEqual(client.exitStatus, 0, "\(client.terminationDescription)\n\(client.stdout)\n\(client.stderr)")
        let json = try? JSONSerialization.jsonObject(with: client.stdoutData) as? [String: Any]
        let entries = ((json?["files"] as? [[String: Any]]) ?? []).map(TestEnvironment.FileEntry.init)
        XCTAssertEqual(entries.count, count, client.stdout)
        XCTAssertTrue(entries.allSatisfy(\.ok), client.stdout)
        XCTAssertGreaterThan(entries.compactMap(\.attempts).reduce(0, +), count, "no file was sent again: \(client.stdout)")
        // What the restarted daemon holds: each file once, under its own name, with its own bytes.
        let area = second.area("alice")
        XCTAssertEqual(regularFiles(under: area), digests.keys.sorted())
        for (name, digest) in digests {
            XCTAssertEqual(try? Content.sha256(of: area.appendingPathComponent(name)), digest, name)
        }
        XCTAssertEqual(second.stagingEntries().filter { $0.hasSuffix(".part") }, [], "partials left behind")
    }

    /// `--retries 0`: the same kill ends the upload at once, with the connection's error and no retry.
    func testNoRetriesGivesUpAtOnceWithTheConnectionsError() throws {
        let env = try TestEnvironment(self)
        guard env.freeBytes() > 3 * Self.size else { throw XCTSkip("needs about 800 MiB free") }
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("noretry").appendingPathComponent("noretry.bin")
        try Content.writeLarge(size: Self.size, to: source)

        let client = try env.startUpload([source.path], to: daemon, extra: ["--retries", "0"])
        defer { client.stop(grace: 1) }
        try waitForData(daemon, client)
        daemon.child.signal(SIGKILL)
        let killedAt = monotonicSeconds()
        XCTAssertTrue(client.wait(timeout: 10), "ferry still running 10 s after the server died")
        let elapsed = monotonicSeconds() - killedAt
        XCTAssertLessThan(elapsed, 5, "ferry took \(elapsed) s to give up with --retries 0")
        XCTAssertEqual(client.exitStatus, 1, "\(client.terminationDescription)\n\(client.stdout)\n\(client.stderr)")
        XCTAssertFalse(client.stderr.contains("retrying"), "retried with --retries 0: \(client.stderr)")
        let entry = try fileEntry(client)
        XCTAssertFalse(entry.ok)
        let error = entry.error ?? ""
        XCTAssertTrue(error.contains("the server closed the connection") || error.contains("connection error"), error)
        XCTAssertEqual(entry.attempts, 1)
    }

    /// A server that answers Open with UploadError(busy) on two connections, then takes the file on the third
    /// (resuming it, at a prefix it holds): the client waits, reconnects, resumes, and says so.
    func testABusyServerIsTriedAgainUntilItTakesTheFile() throws {
        let env = try TestEnvironment(self)
        let bytes = Content.random(3 << 20)
        let source = try env.sourceDirectory("busy").appendingPathComponent("busy.bin")
        try Content.write(bytes, to: source)
        let prefix = 1 << 20
        let server = try RawServer(pki: env.pki, holding: Array(bytes[..<prefix]), busyConnections: 2, deadline: 40)
        let client = env.alice
        let run = try runToCompletion(env.binaries.ferry, [
            "upload", "--server", "127.0.0.1:\(server.port)", "--ca", client.ca.path, "--cert", client.certificate.path,
            "--key", client.key.path, "--json", "--", source.path,
        ], outputDirectory: env.directory, name: "ferry-busy", timeout: 40)
        let seen = try server.finish()

        XCTAssertEqual(run.status, 0, "\(run.termination)\n\(run.stdout)\n\(run.stderr)")
        XCTAssertEqual(seen.busyAnswers, 2)
        XCTAssertEqual(seen.problems, [])
        XCTAssertEqual(seen.committed, true)
        XCTAssertEqual(seen.data.count, bytes.count - prefix, "only the part the server did not hold is sent")
        XCTAssertTrue(run.stderr.contains("retrying in "), run.stderr)
        XCTAssertTrue(run.stderr.contains("(attempt 2 of 7): server busy: another session holds this file"), run.stderr)
        XCTAssertTrue(run.stderr.contains("(attempt 3 of 7)"), run.stderr)
        XCTAssertTrue(run.stderr.contains("busy.bin: resumed at 1.0 MiB"), run.stderr)
        let json = try? JSONSerialization.jsonObject(with: run.stdoutData) as? [String: Any]
        let entry = TestEnvironment.FileEntry((json?["files"] as? [[String: Any]])?.first ?? [:])
        XCTAssertTrue(entry.ok, entry.error ?? "")
        XCTAssertEqual(entry.attempts, 3)
        XCTAssertEqual(entry.resumedBytes, UInt64(prefix))
        XCTAssertEqual(entry.sentBytes, UInt64(bytes.count - prefix))
    }

    /// A server that resumed the file at a prefix that was not the file's fails Close with digest_mismatch and drops
    /// the prefix: the client starts the file over from byte 0, once, on the same session, and it is stored.
    func testAResumeWhosePrefixDifferedStartsOverOnce() throws {
        let env = try TestEnvironment(self)
        let bytes = Content.random(3 << 20)
        let source = try env.sourceDirectory("mismatch").appendingPathComponent("mismatch.bin")
        try Content.write(bytes, to: source)
        let stale = Content.random(1 << 20)  // what the server holds: the same length, other bytes
        let server = try RawServer(pki: env.pki, holding: stale)
        let client = env.alice
        let run = try runToCompletion(env.binaries.ferry, [
            "upload", "--server", "127.0.0.1:\(server.port)", "--ca", client.ca.path, "--cert", client.certificate.path,
            "--key", client.key.path, "--json", "--", source.path,
        ], outputDirectory: env.directory, name: "ferry-mismatch", timeout: 30)
        let seen = try server.finish()

        XCTAssertEqual(run.status, 0, "\(run.termination)\n\(run.stdout)\n\(run.stderr)")
        XCTAssertEqual(seen.problems, [])
        XCTAssertEqual(seen.acceptedAt, [UInt64(stale.count), 0], "resumed, then started over")
        XCTAssertEqual(seen.committed, true)
        XCTAssertTrue(Array(seen.data[(bytes.count - stale.count)...]) == bytes, "the second attempt did not send the whole file")
        let json = try? JSONSerialization.jsonObject(with: run.stdoutData) as? [String: Any]
        let entry = TestEnvironment.FileEntry((json?["files"] as? [[String: Any]])?.first ?? [:])
        XCTAssertTrue(entry.ok, entry.error ?? "")
        XCTAssertEqual(entry.attempts, 2)
        XCTAssertEqual(entry.resumedBytes, 0, "the last attempt started at 0")
        XCTAssertEqual(entry.sentBytes, UInt64(2 * bytes.count - stale.count))
        XCTAssertEqual(entry.sha256, hex(DigestContext.hash(.sha256, bytes)))
    }

    /// ferryd at its session limit (max_sessions = 1, held by another client) turns the upload away with an alert;
    /// the client tries again, and gets in once the slot is free.
    func testAServerAtItsSessionLimitIsTriedAgain() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1, settings: ["limits": ["max_sessions = 1"]])
        let holder = try RawClient(port: daemon.port, client: env.alice)
        _ = try holder.handshake()
        let bytes = Content.random(100_000)
        let source = try env.sourceDirectory("limit").appendingPathComponent("limit.bin")
        try Content.write(bytes, to: source)

        let client = try env.startUpload([source.path], to: daemon)
        defer { client.stop(grace: 1) }
        XCTAssertNotNil(daemon.waitForLog(timeout: 10) { $0.message == "session limit reached: connection refused" },
                        daemon.log)
        XCTAssertTrue(waitUntil(timeout: 10) { client.stderr.contains("retrying in ") }, "no retry: \(client.stderr)")
        try holder.goodbye()
        XCTAssertTrue(client.wait(timeout: 60), "ferry still running 60 s after the slot was freed:\n\(client.stderr)")
        XCTAssertEqual(client.exitStatus, 0, "\(client.terminationDescription)\n\(client.stdout)\n\(client.stderr)")
        XCTAssertTrue(client.stderr.contains("too many sessions"), client.stderr)
        let entry = try fileEntry(client)
        XCTAssertEqual(entry.attempts, 1, "the file's Open went out once, on the session that got in")
        assertStored(daemon.area("alice").appendingPathComponent("limit.bin"), equals: bytes)
    }

    // MARK: Helpers

    /// Waits until the server holds 16 MiB of the upload, with the client still sending.
    private func waitForData(_ daemon: Daemon, _ client: ChildProcess, file: StaticString = #filePath,
                             line: UInt = #line) throws {
        let flowing = waitUntil(timeout: 20) {
            daemon.stagingEntries().contains { (Content.size(of: daemon.stagingDirectory.appendingPathComponent($0)) ?? 0) >= 16 << 20 }
        }
        XCTAssertTrue(flowing, "the upload never got going: \(client.stderr)", file: file, line: line)
        guard client.isRunning else {
            XCTFail("ferry finished before the daemon could be stopped: \(client.stdout)", file: file, line: line)
            throw TestError("upload too fast")
        }
    }

    private func fileEntry(_ client: ChildProcess, file: StaticString = #filePath, line: UInt = #line) throws
        -> TestEnvironment.FileEntry {
        let json = try? JSONSerialization.jsonObject(with: client.stdoutData) as? [String: Any]
        guard let raw = (json?["files"] as? [[String: Any]])?.first else {
            XCTFail("no file in ferry's JSON: \(client.stdout)\n\(client.stderr)", file: file, line: line)
            throw TestError("no JSON")
        }
        return TestEnvironment.FileEntry(raw)
    }
}
