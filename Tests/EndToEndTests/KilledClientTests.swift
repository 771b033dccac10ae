// 5. A client killed in the middle of a large upload: no file under the final name, the partial kept for resume (its
// .part and record) once the connection drops, the daemon keeps serving, and the same upload run again resumes where
// the first stopped and stores the file byte for byte.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class KilledClientTests: XCTestCase {
    func testAClientKilledMidUploadLeavesNoFileAndTheRunAgainResumes() throws {
        let env = try TestEnvironment(self)
        let size: UInt64 = 512 << 20
        guard env.freeBytes() > 2 * size + (256 << 20) else {
            throw XCTSkip("needs about 1.3 GiB free in \(env.directory.path), has \(env.freeBytes()) bytes")
        }
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("kill")
        let big = source.appendingPathComponent("big-512MiB.bin")
        let digest = try Content.writeLarge(size: size, to: big)

        let client = try env.startUpload([big.path], to: daemon, dest: "killed")
        defer { client.stop(grace: 1) }
        let started = daemon.waitForLog(timeout: 15) { $0.message == "upload started" }
        XCTAssertNotNil(started, "no 'upload started' in the daemon log within 15 s:\n\(daemon.log)")
        XCTAssertEqual(started?["path"], "killed/big-512MiB.bin")
        XCTAssertEqual(started?["size"], "\(size)")

        // Let data flow: wait until the server has some of it on disk (at least 16 MiB in the .part file).
        var partName: String?
        let flowing = waitUntil(timeout: 20) {
            guard let name = daemon.stagingEntries().first(where: { $0.hasSuffix(".part") }) else { return false }
            partName = name
            return (Content.size(of: daemon.stagingDirectory.appendingPathComponent(name)) ?? 0) >= 16 << 20
        }
        XCTAssertTrue(flowing, "the .part file never reached 16 MiB; staging: \(daemon.stagingEntries())")
        XCTAssertTrue(client.isRunning, "ferry finished before it could be killed (\(client.terminationDescription)):"
            + " the upload was too fast for this test")
        let partSize = partName.flatMap { Content.size(of: daemon.stagingDirectory.appendingPathComponent($0)) } ?? 0
        client.signal(SIGKILL)
        XCTAssertTrue(client.wait(timeout: 5), "ferry did not die on SIGKILL")
        report("killed ferry with \(partSize) bytes in \(partName ?? "?")")

        // The daemon notices the dropped connection and keeps the partial, recorded, within a few seconds.
        let kept = waitUntil(timeout: 5) { daemon.stagingEntries().contains { $0.hasSuffix(".resume") } }
        XCTAssertTrue(kept, "no partial kept 5 s after the client died: \(daemon.stagingEntries())")
        XCTAssertNotNil(daemon.waitForLog(timeout: 5) { $0.message == "upload interrupted; kept for resume" })
        let final = daemon.area("alice").appendingPathComponent("killed/big-512MiB.bin")
        XCTAssertFalse(FileManager.default.fileExists(atPath: final.path), "a file appeared under the final name")
        XCTAssertEqual(daemon.filesUnderRoot().filter { !$0.hasPrefix(daemon.staging) }, [], "files stored after the kill")
        let drop = daemon.waitForLog(timeout: 5) {
            $0.message == "connection closed by the client during an upload" || $0.message == "connection error"
        }
        XCTAssertNotNil(drop, "the daemon log does not show the dropped connection:\n\(daemon.log)")
        XCTAssertEqual(daemon.logLines(message: "upload committed").count, 0)
        daemon.assertRunning("after the client was killed")

        // And it keeps serving: another upload right after works.
        let after = source.appendingPathComponent("after.bin")
        let bytes = Content.random(200_000)
        try Content.write(bytes, to: after)
        let outcome = try env.upload([after.path], to: daemon, dest: "killed")
        XCTAssertEqual(outcome.status, 0, "\(outcome.run.stderr)")
        XCTAssertEqual(outcome.ok, true, "\(outcome.files.first?.error ?? "")")
        assertStored(daemon.area("alice").appendingPathComponent("killed/after.bin"), equals: bytes)

        // The killed upload, run again, resumes at what the server had received (at least the 16 MiB seen above).
        let again = try env.upload([big.path], to: daemon, dest: "killed")
        XCTAssertEqual(again.status, 0, "\(again.run.stderr)")
        let resumed = daemon.waitForLog(timeout: 5) { $0.message == "upload resumed" }
        let offset = resumed?["offset"].flatMap { UInt64($0) } ?? 0
        XCTAssertGreaterThanOrEqual(offset, 16 << 20, "the re-run did not resume:\n\(daemon.log.suffix(2000))")
        XCTAssertLessThanOrEqual(offset, size)
        report("resumed at \(offset) of \(size) bytes")
        XCTAssertEqual(try Content.sha256(of: final), digest, "the resumed file differs from the source")
        XCTAssertEqual(daemon.stagingEntries(), [], "the partial and its record are gone once committed")
        daemon.assertRunning("after the resumed upload")
    }
}
