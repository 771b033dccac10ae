// A storage root too small for a file (a 16 MiB tmpfs mounted for the test; needs root, skipped otherwise): the upload
// is refused at Open with `no_space` and the figures, before any data flows; nothing appears under its name or in
// staging; the other files of the same connection are stored; and the daemon carries on serving. And a disk that fills
// up under a running upload (something else wrote to it): that upload fails with no_space, keeps its partial, and
// resumes once there is room again.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class DiskFullTests: XCTestCase {
    func testAFileThatCannotFitIsRefusedAtOpenAndTheOthersAreStored() throws {
        let env = try TestEnvironment(self)
        let running = try daemonOnSmallDisk(env, megabytes: 16)
        let source = try env.sourceDirectory("full")
        let big = source.appendingPathComponent("too-big.bin")
        try Data(Content.random(24 << 20)).write(to: big)
        let small = source.appendingPathComponent("fits.bin")
        let smallBytes = Content.random(1 << 20)
        try Data(smallBytes).write(to: small)

        let failed = try env.upload([big.path], to: running)
        XCTAssertNotEqual(failed.run.status, 0, "an upload larger than the disk succeeded")
        let reason = failed.file(big.path)?.error ?? ""
        XCTAssertTrue(reason.contains("not enough space on the server") && reason.contains("needs 24.0 MiB"),
                      "reason given to the client: \(reason)")
        XCTAssertNotNil(running.waitForLog(timeout: 5) { $0.message == "upload refused" && $0["code"] == "no_space" },
                        "the log does not say why the upload was refused:\n\(running.log.suffix(2000))")
        XCTAssertEqual(running.logLines(message: "upload started").count, 0, "data flowed for a file that cannot fit")
        XCTAssertFalse(FileManager.default.fileExists(atPath: running.area("alice").appendingPathComponent("too-big.bin").path),
                       "a refused upload appeared under its final name")
        XCTAssertEqual(running.stagingEntries(), [])
        running.assertRunning("after the refusal")

        // On one connection, the file that cannot fit fails alone: the files after it are stored.
        let other = source.appendingPathComponent("also-fits.bin")
        let otherBytes = Content.random(1 << 20)
        try Data(otherBytes).write(to: other)
        let mixed = try env.upload([big.path, small.path, other.path], to: running, parallel: 1, dest: "mixed")
        XCTAssertEqual(mixed.run.status, 1, mixed.run.stderr)
        XCTAssertTrue((mixed.file(big.path)?.error ?? "").contains("not enough space"), mixed.run.stdout)
        assertStored(running.area("alice").appendingPathComponent("mixed/fits.bin"), equals: smallBytes)
        assertStored(running.area("alice").appendingPathComponent("mixed/also-fits.bin"), equals: otherBytes)
    }
}

extension DiskFullTests {
    func testADiskThatFillsUpMidUploadKeepsThePartialAndTheRerunResumes() throws {
        let env = try TestEnvironment(self)
        let running = try daemonOnSmallDisk(env, megabytes: 48)
        let root = running.root
        let file = try env.sourceDirectory("filling").appendingPathComponent("big.bin")
        let bytes = Content.random(36 << 20)
        try Data(bytes).write(to: file)

        // The client is paused once 8 MiB reached the server, the disk is filled by another writer, then it goes on.
        let client = try env.startUpload([file.path], to: running, extra: ["--retries", "0"])
        defer { client.stop(grace: 1) }
        XCTAssertTrue(waitUntil(timeout: 20) {
            running.stagingEntries().contains { (Content.size(of: running.stagingDirectory.appendingPathComponent($0)) ?? 0) >= 8 << 20 }
        }, "the upload never got going: \(client.stderr)")
        client.signal(SIGSTOP)
        let filler = root.appendingPathComponent("filler")
        Self.fill(filler)
        client.signal(SIGCONT)
        XCTAssertTrue(client.wait(timeout: 30), "ferry did not end")
        XCTAssertEqual(client.exitStatus, 1, "\(client.stdout)\n\(client.stderr)")
        XCTAssertTrue(client.stdout.contains("no space left on the server"), client.stdout)
        XCTAssertTrue(waitUntil(timeout: 5) { running.stagingEntries().contains { $0.hasSuffix(".resume") } },
                      "the partial was not kept: \(running.stagingEntries())")

        // Room again: the same command resumes where the disk filled up, and stores the file whole.
        try FileManager.default.removeItem(at: filler)
        let again = try env.upload([file.path], to: running)
        XCTAssertEqual(again.status, 0, "\(again.run.stdout)\n\(again.run.stderr)")
        let offset = running.waitForLog(timeout: 5) { $0.message == "upload resumed" }?["offset"].flatMap { UInt64($0) } ?? 0
        XCTAssertGreaterThanOrEqual(offset, 8 << 20, "the re-run did not resume:\n\(running.log.suffix(2000))")
        assertStored(running.area("alice").appendingPathComponent("big.bin"), equals: bytes)
        XCTAssertEqual(running.stagingEntries(), [])
    }

    /// ferryd (reserve = 0) on a tmpfs of `megabytes` mounted as its storage root; skipped unless root. The teardown
    /// stops the daemon, then unmounts (blocks run last-registered first, before the environment's own teardown).
    private func daemonOnSmallDisk(_ env: TestEnvironment, megabytes: Int) throws -> Daemon {
        let root = env.directory.appendingPathComponent("root", isDirectory: true)  // where Daemon.start puts it
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        guard geteuid() == 0, shell(["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", root.path]) else {
            throw XCTSkip("needs root to mount a small tmpfs")
        }
        var daemon: Daemon?
        addTeardownBlock {
            daemon?.stop()
            if !shell(["umount", root.path]) { _ = shell(["umount", "-l", root.path]) }
        }
        daemon = try Daemon.start(environment: env, workers: 1, settings: ["storage": ["reserve = 0"]])
        return try XCTUnwrap(daemon)
    }

    /// Writes zeros to `url` until the file system is full.
    private static func fill(_ url: URL) {
        guard FileManager.default.createFile(atPath: url.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: url.path) else { return }
        defer { try? handle.close() }
        let block = Data(count: 1 << 20)
        while (try? handle.write(contentsOf: block)) != nil {}
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
