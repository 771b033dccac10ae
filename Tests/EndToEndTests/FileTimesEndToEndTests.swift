// #17 point 2 with real processes: a stored file keeps its source's modification time (to the nanosecond the file
// system keeps) and execute bit by default; --no-times stores the upload's own time and mode 0640.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class FileTimesEndToEndTests: XCTestCase {
    private func status(_ path: String) throws -> stat {
        var info = stat()
        guard stat(path, &info) == 0 else { throw TestError("stat \(path): errno \(errno)") }
        return info
    }

    /// Sets the file's modification time (and access time) to `seconds`.`nanoseconds`.
    private func setTime(_ path: String, seconds: Int, nanoseconds: Int) throws {
        var times = [timespec(tv_sec: seconds, tv_nsec: nanoseconds), timespec(tv_sec: seconds, tv_nsec: nanoseconds)]
        guard utimensat(AT_FDCWD, path, &times, 0) == 0 else { throw TestError("utimensat: errno \(errno)") }
    }

    func testModificationTimeAndExecuteBitAreKeptByDefault() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let directory = try env.sourceDirectory("times")
        let plain = directory.appendingPathComponent("old.txt").path
        let script = directory.appendingPathComponent("run.sh").path
        _ = try Content.write(Content.random(5000), to: URL(fileURLWithPath: plain))
        _ = try Content.write(Array("#!/bin/sh\necho hi\n".utf8), to: URL(fileURLWithPath: script))
        chmod(script, 0o755)
        try setTime(plain, seconds: 1_000_000_000, nanoseconds: 123_456_789)  // 2001-09-09
        try setTime(script, seconds: 1_500_000_000, nanoseconds: 0)
        let outcome = try env.upload([plain, script], to: daemon)
        XCTAssertEqual(outcome.status, 0, outcome.run.stderr)

        let stored = try status(daemon.area("alice").appendingPathComponent("old.txt").path)
        XCTAssertEqual(stored.st_mtim.tv_sec, 1_000_000_000)
        XCTAssertEqual(stored.st_mtim.tv_nsec, 123_456_789)
        XCTAssertEqual(stored.st_mode & 0o777, 0o640)
        let storedScript = try status(daemon.area("alice").appendingPathComponent("run.sh").path)
        XCTAssertEqual(storedScript.st_mtim.tv_sec, 1_500_000_000)
        XCTAssertEqual(storedScript.st_mode & 0o777, 0o750, "the execute bit travels")

        // A re-run finds the files already stored: the digest recorded at commit still matches the stored times.
        let again = try env.upload([plain, script], to: daemon)
        XCTAssertEqual(again.status, 0, again.run.stderr)
        XCTAssertEqual(again.files.map { $0.raw["status"] as? String }, ["already stored", "already stored"])
    }

    func testNoTimesStoresTheUploadsTime() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1)
        let file = try env.sourceDirectory("no-times").appendingPathComponent("f.bin").path
        _ = try Content.write(Content.random(100), to: URL(fileURLWithPath: file))
        chmod(file, 0o755)
        try setTime(file, seconds: 1_000_000_000, nanoseconds: 0)
        let before = Int(Date().timeIntervalSince1970) - 1
        let outcome = try env.upload([file], to: daemon, extra: ["--no-times"])
        XCTAssertEqual(outcome.status, 0, outcome.run.stderr)
        let stored = try status(daemon.area("alice").appendingPathComponent("f.bin").path)
        XCTAssertGreaterThanOrEqual(stored.st_mtim.tv_sec, before, "the upload's own time")
        XCTAssertEqual(stored.st_mode & 0o777, 0o640)
    }
}
