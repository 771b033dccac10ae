// 2. Many files over several sessions at once, spread across two workers.
import Foundation
import XCTest

final class ParallelUploadTests: XCTestCase {
    func testThirtyTwoFilesOverEightSessionsAreAllStoredWithTheirPaths() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 2)
        let tree = try env.sourceDirectory("batch").appendingPathComponent("tree", isDirectory: true)

        // 32 files, sizes from 0 to ~400 KiB (record boundaries included), in a few nested directories.
        let boundarySizes = [0, 1, 65_535, 65_536, 65_537, 131_072, 131_073]
        var files: [String: [UInt8]] = [:]
        for index in 0..<32 {
            let size = index < boundarySizes.count ? boundarySizes[index] : (index * 104_729) % 400_000 + index
            let directory = ["", "a/", "a/b/", "c/", "c/d/e/"][index % 5]
            let relative = "\(directory)file-\(index).dat"
            let bytes = Content.random(size)
            try Content.write(bytes, to: tree.appendingPathComponent(relative))
            files[relative] = bytes
        }
        let totalBytes = files.values.reduce(0) { $0 + UInt64($1.count) }

        let outcome = try env.upload([tree.path], to: daemon, parallel: 8, timeout: 60)
        report("32 files, \(totalBytes) bytes over --parallel 8: \(String(format: "%.2f", outcome.run.seconds)) s")
        XCTAssertEqual(outcome.status, 0, "ferry upload: \(outcome.run.termination)\n\(outcome.run.stderr)")
        XCTAssertEqual(outcome.ok, true)
        XCTAssertEqual(outcome.files.count, 32)
        for entry in outcome.files { XCTAssertTrue(entry.ok, "\(entry.path): \(entry.error ?? "")") }
        XCTAssertEqual(outcome.bytes, totalBytes, "JSON total bytes = bytes sent")
        XCTAssertEqual(outcome.files.reduce(0) { $0 + ($1.bytes ?? 0) }, totalBytes)

        // Stored exactly, under <root>/alice/tree/<relative path>.
        let area = daemon.area("alice")
        XCTAssertEqual(regularFiles(under: area), files.keys.map { "tree/\($0)" }.sorted())
        var storedBytes: UInt64 = 0
        for (relative, bytes) in files {
            let stored = area.appendingPathComponent("tree/\(relative)")
            storedBytes += Content.size(of: stored) ?? 0
            assertStored(stored, equals: bytes, "tree/\(relative) differs from the source")
            let entry = outcome.file(tree.appendingPathComponent(relative).path)
            XCTAssertEqual(entry?.stored, "tree/\(relative)")
        }
        XCTAssertEqual(storedBytes, totalBytes, "bytes stored = bytes sent")
        XCTAssertEqual(daemon.stagingEntries(), [], "partial files left in staging")

        // Several sessions, spread over both workers. The kernel spreads connections across SO_REUSEPORT listeners by
        // hashing the 4-tuple, so 8 connections all land on one of two workers with probability 1/128: if that
        // happens, two more 8-session runs make it 1/32768 before we call it a failure.
        var established = daemon.logLines(message: "session established")
        XCTAssertGreaterThanOrEqual(Set(established.compactMap { $0["session"] }).count, 2, "sessions in the log")
        var extraRun = 0
        while Set(established.compactMap { $0["worker"] }).count < 2, extraRun < 2 {
            extraRun += 1
            let more = try env.sourceDirectory("more-\(extraRun)")
            for index in 0..<8 { try Content.write(Content.random(10), to: more.appendingPathComponent("m\(index)")) }
            let again = try env.upload([more.path], to: daemon, parallel: 8)
            XCTAssertEqual(again.status, 0)
            established = daemon.logLines(message: "session established")
        }
        let workers = Set(established.compactMap { $0["worker"] })
        report("sessions: \(Set(established.compactMap { $0["session"] }).count), workers used: \(workers.sorted())")
        XCTAssertGreaterThanOrEqual(workers.count, 2, "every session ran on one worker although workers = 2")
        XCTAssertEqual(daemon.logLines(message: "upload committed").count, 32 + 8 * extraRun)
        daemon.assertRunning("after the parallel upload")
    }
}
