// 5. A client killed in the middle of a large upload: no file under the final name, the .part file removed soon after
// the connection drops, and the daemon keeps serving.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class KilledClientTests: XCTestCase {
    func testAClientKilledMidUploadLeavesNoFileAndNoPartialFile() throws {
        let env = try TestEnvironment(self)
        let size: UInt64 = 512 << 20
        guard env.freeBytes() > 2 * size + (256 << 20) else {
            throw XCTSkip("needs about 1.3 GiB free in \(env.directory.path), has \(env.freeBytes()) bytes")
        }
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("kill")
        let big = source.appendingPathComponent("big-512MiB.bin")
        try Content.writeLarge(size: size, to: big)

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
        let killedAt = monotonicSeconds()
        report("killed ferry with \(partSize) bytes in \(partName ?? "?")")

        // The daemon notices the dropped connection and removes the partial file within a few seconds.
        let cleaned = waitUntil(timeout: 5) { daemon.stagingEntries().isEmpty }
        XCTAssertTrue(cleaned, "partial files still in staging 5 s after the client died: \(daemon.stagingEntries())")
        report("staging empty \(String(format: "%.3f", monotonicSeconds() - killedAt)) s after the kill")
        let final = daemon.area("alice").appendingPathComponent("killed/big-512MiB.bin")
        XCTAssertFalse(FileManager.default.fileExists(atPath: final.path), "a file appeared under the final name")
        XCTAssertEqual(daemon.filesUnderRoot(), [], "files under the storage root after the kill")
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
        XCTAssertEqual(daemon.stagingEntries(), [])
        daemon.assertRunning("after the upload that followed the kill")
    }
}
