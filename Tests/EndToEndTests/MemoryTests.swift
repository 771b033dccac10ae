// 7. The daemon streams to disk: its memory after a 1 GiB upload is within 32 MiB of what it was after a 64 MiB one.
import Foundation
import XCTest

final class MemoryTests: XCTestCase {
    func testDaemonMemoryDoesNotGrowWithFileSize() throws {
        let env = try TestEnvironment(self)
        let free = env.freeBytes()
        guard free >= 4 << 30 else {
            throw XCTSkip("needs 4 GiB free in \(env.directory.path) (1 GiB source + 1 GiB stored + slack), has \(free) bytes")
        }
        let daemon = try Daemon.start(environment: env, workers: 1)
        let source = try env.sourceDirectory("memory")
        let initial = try daemon.memory()

        let small = source.appendingPathComponent("64MiB.bin")
        let smallDigest = try Content.writeLarge(size: 64 << 20, to: small)
        let first = try env.upload([small.path], to: daemon, timeout: 60)
        XCTAssertEqual(first.status, 0, "\(first.run.stderr)")
        XCTAssertEqual(first.files.first?.sha256, smallDigest)
        let afterSmall = try daemon.memory()
        try? FileManager.default.removeItem(at: small)

        let large = source.appendingPathComponent("1GiB.bin")
        let largeDigest = try Content.writeLarge(size: 1 << 30, to: large)
        let second = try env.upload([large.path], to: daemon, timeout: 150)
        report("1 GiB upload: \(String(format: "%.2f", second.run.seconds)) s, rotations \(second.files.first?.rotations ?? -1)")
        XCTAssertEqual(second.status, 0, "\(second.run.stderr)")
        XCTAssertEqual(second.files.first?.ok, true, "\(second.files.first?.error ?? "")")
        XCTAssertEqual(second.files.first?.sha256, largeDigest)
        let afterLarge = try daemon.memory()
        try? FileManager.default.removeItem(at: large)

        let storedLarge = daemon.area("alice").appendingPathComponent("1GiB.bin")
        XCTAssertEqual(Content.size(of: storedLarge), 1 << 30)
        XCTAssertEqual(try Content.sha256(of: storedLarge), largeDigest, "the stored 1 GiB file differs")
        XCTAssertEqual(daemon.stagingEntries(), [])

        func mib(_ kib: Int) -> String { String(format: "%.1f MiB", Double(kib) / 1024) }
        report("ferryd memory: at start RSS \(mib(initial.rssKiB)); after 64 MiB RSS \(mib(afterSmall.rssKiB)) "
            + "(peak \(mib(afterSmall.peakKiB))); after 1 GiB RSS \(mib(afterLarge.rssKiB)) (peak \(mib(afterLarge.peakKiB)))")
        XCTAssertLessThan(afterLarge.rssKiB - afterSmall.rssKiB, 32 << 10,
                          "RSS grew by \(mib(afterLarge.rssKiB - afterSmall.rssKiB)) from the 64 MiB to the 1 GiB upload")
        XCTAssertLessThan(afterLarge.peakKiB - afterSmall.peakKiB, 32 << 10,
                          "peak RSS grew by \(mib(afterLarge.peakKiB - afterSmall.peakKiB)) from the 64 MiB to the 1 GiB upload")
        daemon.assertRunning("after the 1 GiB upload")
    }
}
