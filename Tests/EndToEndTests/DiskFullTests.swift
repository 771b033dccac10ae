// A storage root that fills up mid-upload (a 16 MiB tmpfs mounted for the test; needs root, skipped otherwise): the
// upload fails with a clear reason to the client and in the log, nothing appears under its final name, its .part is
// removed so the space comes back, and the daemon carries on serving.
import Foundation
import TestSupport
import XCTest

final class DiskFullTests: XCTestCase {
    func testAFullDiskFailsThatUploadCleanlyAndTheDaemonCarriesOn() throws {
        let env = try TestEnvironment(self)
        let root = env.directory.appendingPathComponent("root", isDirectory: true)  // where Daemon.start puts it
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        guard geteuid() == 0, shell(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", root.path]) else {
            throw XCTSkip("needs root to mount a small tmpfs")
        }
        var daemon: Daemon?
        // Runs before the environment's own teardown (blocks run last-registered first): stop, then unmount.
        addTeardownBlock {
            daemon?.stop()
            if !shell(["umount", root.path]) { _ = shell(["umount", "-l", root.path]) }
        }
        let running = try Daemon.start(environment: env, workers: 1)
        daemon = running
        let source = try env.sourceDirectory("full")
        let big = source.appendingPathComponent("too-big.bin")
        try Data(Content.random(24 << 20)).write(to: big)
        let small = source.appendingPathComponent("fits.bin")
        let smallBytes = Content.random(1 << 20)
        try Data(smallBytes).write(to: small)

        let failed = try env.upload([big.path], to: running)
        XCTAssertNotEqual(failed.run.status, 0, "an upload larger than the disk succeeded")
        let reason = failed.file(big.path)?.error ?? ""
        XCTAssertTrue(reason.contains("no space left on the server"), "reason given to the client: \(reason)")
        XCTAssertNotNil(running.waitForLog(timeout: 5) { $0.message == "upload failed" && ($0.fields["reason"] ?? "").contains("no space") },
                        "the log does not say why the upload failed:\n\(running.log.suffix(2000))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: running.area("alice").appendingPathComponent("too-big.bin").path),
                       "a failed upload appeared under its final name")
        XCTAssertTrue(waitUntil(timeout: 5) { running.stagingEntries().allSatisfy { !$0.hasSuffix(".part") } },
                      "the failed upload's .part was not removed: \(running.stagingEntries())")
        running.assertRunning("after the disk filled up")

        // The space came back: the next upload on the same daemon works.
        let next = try env.upload([small.path], to: running)
        XCTAssertEqual(next.run.status, 0, "the upload after the failed one: \(next.file(small.path)?.error ?? next.run.stderr)")
        assertStored(running.area("alice").appendingPathComponent("fits.bin"), equals: smallBytes)
    }
}

/// Runs a command to completion (bounded: mount and umount return at once); true when it exited 0.
private func shell(_ arguments: [String]) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}
