// Ctrl-C during `ferry upload` (issue #17, point 4), with real processes: the first SIGINT starts no more files, lets
// a file being committed finish, cuts the others without an Abort (ferryd keeps their partials), reports what was
// stored and what was interrupted, and exits 130; the same command run again completes the set, resuming the cut
// files where the report said. SIGTERM does the same with 143 (and --json says "interrupted"); a second Ctrl-C quits
// at once, even while a commit is awaited.
import Foundation
import TestSupport
import XCTest

final class UploadInterruptTests: XCTestCase {
    func testCtrlCReportsWhatWasStoredAndInterruptedAndTheRunAgainResumes() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 2)
        let tree = try env.sourceDirectory("set")
        var digests: [String: String] = [:]
        for index in 0..<8 {
            digests["f\(index).bin"] = try Content.writeLarge(size: 96 << 20, to: tree.appendingPathComponent("f\(index).bin"))
        }
        let client = try ChildProcess(env.binaries.ferry, arguments(env, daemon) + ["--parallel", "2", tree.path],
                                      outputDirectory: env.directory, name: "ferry-upload")
        defer { client.kill() }
        // Once a file is stored and another is well under way (not near its end, where it would be committing).
        let underWay = waitUntil(timeout: 60) {
            let parts = daemon.stagingEntries().filter { $0.hasSuffix(".part") }
                .compactMap { Content.size(of: daemon.stagingDirectory.appendingPathComponent($0)) }
            return !daemon.logLines(message: "upload committed").isEmpty && parts.contains { (8 << 20..<48 << 20).contains($0) }
        }
        XCTAssertTrue(underWay, "no file stored with another under way within 60 s:\n\(daemon.log.suffix(2000))")
        XCTAssertTrue(client.isRunning, "ferry finished before it could be interrupted: \(client.stdout)")
        client.signal(SIGINT)
        XCTAssertTrue(client.wait(timeout: 30), "ferry did not stop within 30 s of Ctrl-C")
        let out = client.stdout
        report("ferry after Ctrl-C (\(client.terminationDescription)):\n\(out)\(client.stderr)")
        XCTAssertEqual(client.exitStatus, 130, client.terminationDescription)

        let lines = out.split(separator: "\n").map(String.init)
        for name in digests.keys {
            XCTAssertEqual(lines.filter { $0.contains(name) }.count, 1, "\(name) is not reported once:\n\(out)")
        }
        let stored = lines.filter { $0.contains("] stored ") }
        let cut = lines.filter { $0.contains("] interrupted ") }
        let waiting = lines.filter { $0.contains("] not started ") }
        XCTAssertGreaterThanOrEqual(stored.count, 1, out)
        XCTAssertGreaterThanOrEqual(cut.count, 1, out)
        XCTAssertEqual(stored.count + cut.count + waiting.count, 8, out)
        XCTAssertTrue(waiting.allSatisfy { $0.hasSuffix(": will be sent when run again") }, out)
        XCTAssertTrue(lines.contains { $0.hasPrefix("\(stored.count) of 8 files") }, out)
        XCTAssertTrue(out.contains("interrupted by SIGINT: \(cut.count) file"), out)
        XCTAssertTrue(client.stderr.contains("SIGINT: stopping"), client.stderr)
        // Cut, not abandoned: the daemon kept what it had received, for the next run.
        XCTAssertEqual(daemon.logLines(message: "upload aborted by the client").count, 0, daemon.log)
        // The file found well under way has a resume point; one the other session had only just opened (nothing
        // of it durable yet) is honestly "sent again".
        let resumable = cut.filter { !$0.hasSuffix(": will be sent again") }
        XCTAssertGreaterThanOrEqual(resumable.count, 1, out)
        let kept = waitUntil(timeout: 5) {
            daemon.logLines(message: "upload interrupted; kept for resume").count >= resumable.count
        }
        XCTAssertTrue(kept, daemon.log.suffix(2000).description)
        var promised: [String: Double] = [:]  // file → MiB the report said the next run resumes from
        for line in resumable {
            guard let name = digests.keys.first(where: { line.contains($0) }),
                  let range = line.range(of: "will resume from "), line.hasSuffix(" MiB when run again"),
                  let value = Double(line[range.upperBound...].prefix { $0 != " " }) else {
                XCTFail("an interrupted file without its resume point in MiB: \(line)")
                continue
            }
            promised[name] = value
        }

        let again = try env.upload([tree.path], to: daemon, timeout: 180)
        XCTAssertEqual(again.status, 0, "\(again.run.stdout)\n\(again.run.stderr)")
        XCTAssertEqual(again.files.filter(\.ok).count, 8, again.run.stdout)
        for entry in again.files {
            let name = URL(fileURLWithPath: entry.path).lastPathComponent
            if stored.contains(where: { $0.contains(name) }) {
                XCTAssertEqual(entry.raw["status"] as? String, "already stored", "\(entry.raw)")
            }
            if let mib = promised[name] {
                let resumed = Double(entry.resumedBytes ?? 0) / Double(1 << 20)
                XCTAssertEqual(resumed, mib, accuracy: 0.051, "\(name) resumed elsewhere than the report said: \(entry.raw)")
                XCTAssertGreaterThan(resumed, 0, "\(name) was not resumed: \(entry.raw)")
            }
        }
        for (name, digest) in digests {
            XCTAssertEqual(try Content.sha256(of: daemon.area("alice").appendingPathComponent("set/\(name)")), digest, name)
        }
        XCTAssertEqual(daemon.stagingEntries(), [], "a partial was left behind")
    }

    func testSIGTERMStopsTheRunWith143AndTheJSONSaysInterrupted() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let tree = try env.sourceDirectory("term")
        for index in 0..<3 { try Content.writeLarge(size: 96 << 20, to: tree.appendingPathComponent("t\(index).bin")) }
        let client = try env.startUpload([tree.path], to: daemon, extra: ["--parallel", "1"])
        defer { client.kill() }
        XCTAssertNotNil(daemon.waitForLog(timeout: 30) { $0.message == "upload started" }, daemon.log)
        client.signal(SIGTERM)
        XCTAssertTrue(client.wait(timeout: 30), "ferry did not stop within 30 s of SIGTERM")
        XCTAssertEqual(client.exitStatus, 143, "\(client.terminationDescription)\n\(client.stderr)")
        let json = try JSONSerialization.jsonObject(with: client.stdoutData) as? [String: Any]
        let files = json?["files"] as? [[String: Any]] ?? []
        XCTAssertEqual(json?["ok"] as? Bool, false)
        XCTAssertEqual(files.count, 3, client.stdout)
        let interrupted = files.filter { $0["status"] as? String == "interrupted" }
        XCTAssertGreaterThanOrEqual(interrupted.count, 1, client.stdout)
        for entry in interrupted {
            XCTAssertTrue((entry["error"] as? String ?? "").hasPrefix("interrupted by SIGTERM"), "\(entry)")
            XCTAssertEqual(entry["ok"] as? Bool, false)
        }
        XCTAssertTrue(client.stderr.contains("interrupted by SIGTERM"), "the note on stderr: \(client.stderr)")
    }

    /// The server takes the whole file and never answers Close: the first Ctrl-C waits for the commit, the second
    /// does not.
    func testASecondCtrlCQuitsAtOnceWhileACommitIsAwaited() throws {
        let env = try TestEnvironment(self)
        let server = try RawServer(pki: env.pki, holding: [], script: [.holdAtClose], deadline: 60)
        let source = try env.sourceDirectory("held").appendingPathComponent("held.bin")
        try Content.write(Content.random(200_000), to: source)
        let client = try ChildProcess(env.binaries.ferry, [
            "upload", "--server", "127.0.0.1:\(server.port)", "--ca", env.alice.ca.path,
            "--cert", env.alice.certificate.path, "--key", env.alice.key.path, source.path,
        ], outputDirectory: env.directory, name: "ferry-upload")
        defer { client.kill() }
        XCTAssertTrue(waitUntil(timeout: 30) { server.seen.closeDigest != nil }, "Close never came: \(client.stderr)")
        client.signal(SIGINT)
        XCTAssertFalse(client.wait(timeout: 1.5), "the first Ctrl-C did not wait for the file being committed: "
            + client.stdout + client.stderr)
        XCTAssertTrue(client.stderr.contains("SIGINT: stopping"), client.stderr)
        let second = monotonicSeconds()
        client.signal(SIGINT)
        XCTAssertTrue(client.wait(timeout: 5), "the second Ctrl-C did not quit")
        report("quit \(String(format: "%.3f", monotonicSeconds() - second)) s after the second Ctrl-C")
        XCTAssertEqual(client.exitStatus, 130, client.terminationDescription)
        XCTAssertTrue(client.stderr.contains("SIGINT again: quitting now"), client.stderr)
        _ = try server.finish()
    }

    /// `upload` with the server and alice's credentials, human output.
    private func arguments(_ env: TestEnvironment, _ daemon: Daemon) -> [String] {
        ["upload", "--server", daemon.address, "--ca", env.alice.ca.path, "--cert", env.alice.certificate.path,
         "--key", env.alice.key.path]
    }
}
