// 1. File sizes around the Data record boundary (64 KiB), empty and large files: each stored byte for byte.
import Foundation
import TestSupport
import XCTest

final class UploadSizeTests: XCTestCase {
    func testSizesAroundTheRecordBoundaryAndLargeFilesAreStoredExactly() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 2)
        let source = try env.sourceDirectory("sizes")

        let sizes: [(name: String, size: UInt64)] = [
            ("empty.bin", 0), ("one.bin", 1), ("chunk-minus-1.bin", 65_535), ("chunk.bin", 65_536),
            ("chunk-plus-1.bin", 65_537), ("mib-plus-1.bin", (1 << 20) + 1), ("large-256MiB.bin", 256 << 20),
        ]
        var expected: [String: String] = [:]  // name -> sha256
        var small: [String: [UInt8]] = [:]
        let generation = monotonicSeconds()
        for (name, size) in sizes {
            let url = source.appendingPathComponent(name)
            if size > 4 << 20 {
                expected[name] = try Content.writeLarge(size: size, to: url)
            } else {
                let bytes = Content.random(Int(size))
                small[name] = bytes
                expected[name] = try Content.write(bytes, to: url)
            }
        }
        report("generated \(sizes.count) files in \(String(format: "%.2f", monotonicSeconds() - generation)) s")

        // --rotate-after-bytes 64MiB: the 256 MiB file also crosses a few key rotations on the way.
        let outcome = try env.upload(sizes.map { source.appendingPathComponent($0.name).path }, to: daemon, parallel: 2,
                                     dest: "sizes", extra: ["--rotate-after-bytes", "64MiB"], timeout: 120)
        report("upload of \(sizes.count) files (\(sizes.reduce(0) { $0 + $1.size }) bytes) took "
            + String(format: "%.2f", outcome.run.seconds) + " s")
        XCTAssertEqual(outcome.status, 0, "ferry upload: \(outcome.run.termination)\n\(outcome.run.stderr)")
        XCTAssertEqual(outcome.ok, true)
        XCTAssertEqual(outcome.files.count, sizes.count)
        XCTAssertEqual(outcome.bytes, sizes.reduce(0) { $0 + $1.size }, "JSON total bytes")

        let area = daemon.area("alice").appendingPathComponent("sizes")
        for (name, size) in sizes {
            let local = source.appendingPathComponent(name).path
            guard let entry = outcome.file(local) else {
                XCTFail("\(name): not in the JSON files list")
                continue
            }
            XCTAssertTrue(entry.ok, "\(name): \(entry.error ?? "no error text")")
            XCTAssertNil(entry.error, name)
            XCTAssertEqual(entry.stored, "sizes/\(name)", name)
            XCTAssertEqual(entry.bytes, size, name)
            XCTAssertEqual(entry.sha256, expected[name], "\(name): JSON sha256 differs from the local SHA-256")

            let stored = area.appendingPathComponent(name)
            XCTAssertEqual(Content.size(of: stored), size, "\(name): stored size")
            if let bytes = small[name] {
                assertStored(stored, equals: bytes, "\(name): stored bytes differ")
            } else {
                XCTAssertEqual(try Content.sha256(of: stored), expected[name], "\(name): stored SHA-256 differs")
            }
        }
        if let large = outcome.file(source.appendingPathComponent("large-256MiB.bin").path) {
            XCTAssertGreaterThanOrEqual(large.rotations ?? 0, 1, "256 MiB with --rotate-after-bytes 64MiB: no key rotation")
        }
        XCTAssertEqual(regularFiles(under: area), sizes.map(\.name).sorted(), "exactly the uploaded files are stored")
        XCTAssertEqual(daemon.stagingEntries(), [], "partial files left in staging")
        XCTAssertEqual(daemon.logLines(message: "upload committed").count, sizes.count, "commits in the daemon log")
        daemon.assertRunning("after the uploads")
    }
}
