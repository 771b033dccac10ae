// ferryd SIGKILLed in the middle of a large upload and started again on the same storage root: the partial survives
// with the resume point last made durable (storage.resume_interval), nothing appears under the final name, and the same
// upload run again resumes there — never past what was durable — and stores the file byte for byte.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class DaemonCrashResumeTests: XCTestCase {
    func testAnUploadResumesAfterTheDaemonWasKilled() throws {
        let env = try TestEnvironment(self)
        let size: UInt64 = 384 << 20
        guard env.freeBytes() > 2 * size + (256 << 20) else {
            throw XCTSkip("needs about 1 GiB free in \(env.directory.path), has \(env.freeBytes()) bytes")
        }
        let interval: UInt64 = 16 << 20
        let settings = ["storage": ["resume_interval = \"16MiB\""]]
        let first = try Daemon.start(environment: env, workers: 1, settings: settings)
        let source = try env.sourceDirectory("crash")
        let big = source.appendingPathComponent("big.bin")
        let digest = try Content.writeLarge(size: size, to: big)

        let client = try env.startUpload([big.path], to: first, dest: "crash")
        defer { client.stop(grace: 1) }
        let record = { () -> String? in first.stagingEntries().first { $0.hasSuffix(".resume") } }
        XCTAssertTrue(waitUntil(timeout: 30) {
            guard let name = record() else { return false }
            return Self.offset(first.stagingDirectory.appendingPathComponent(name)) ?? 0 >= interval
        }, "no resume point of 16 MiB recorded within 30 s; staging: \(first.stagingEntries())")
        XCTAssertTrue(client.isRunning, "the upload finished before the daemon could be killed")
        first.child.signal(SIGKILL)
        XCTAssertTrue(first.child.wait(timeout: 5), "ferryd did not die on SIGKILL")
        XCTAssertTrue(client.wait(timeout: 30), "ferry did not notice the daemon's death")
        let recorded = try XCTUnwrap(record().flatMap { Self.offset(first.stagingDirectory.appendingPathComponent($0)) })
        let final = first.area("alice").appendingPathComponent("crash/big.bin")
        XCTAssertFalse(FileManager.default.fileExists(atPath: final.path), "a file appeared under the final name")

        let second = try Daemon.start(environment: env, workers: 1, settings: settings)
        XCTAssertNotNil(second.waitForLog(timeout: 5) { $0.message == "partial uploads found at start" && $0["kept"] == "1" },
                        "the restarted daemon did not keep the partial:\n\(second.log)")
        let again = try env.upload([big.path], to: second, dest: "crash")
        XCTAssertEqual(again.status, 0, again.run.stderr)
        let resumed = second.waitForLog(timeout: 5) { $0.message == "upload resumed" }
        let offset = resumed?["offset"].flatMap { UInt64($0) } ?? 0
        XCTAssertGreaterThanOrEqual(offset, interval, "the re-run did not resume:\n\(second.log.suffix(2000))")
        XCTAssertLessThanOrEqual(offset, recorded, "offered more than was recorded durable")
        report("killed with \(recorded) bytes recorded durable; resumed at \(offset) of \(size)")
        XCTAssertEqual(try Content.sha256(of: final), digest)
        XCTAssertEqual(second.stagingEntries(), [])
    }

    /// The `offset` line of a partial's record (PartialRecord's format).
    private static func offset(_ record: URL) -> UInt64? {
        guard let text = try? String(contentsOf: record, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("offset ") { return UInt64(line.dropFirst(7)) }
        return nil
    }
}
