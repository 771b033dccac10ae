// [quotas] with real processes over 127.0.0.1 (docs/STORE.md "Quotas"): an upload that would pass a namespace's quota
// is refused at Open, naming the quota and the figures, while the others are stored; deleting files makes room; an
// override gives one namespace its own limits; SIGHUP applies a changed limit to the next upload.
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class QuotaEndToEndTests: XCTestCase {
    func testAnUploadPastTheQuotaIsRefusedAndDeletingMakesRoom() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1,
                                      settings: ["quotas": ["bytes = \"100KiB\"", "files = 3"]])
        let source = try env.sourceDirectory("q")
        for (name, size) in [("a.bin", 40 << 10), ("b.bin", 40 << 10), ("c.bin", 30 << 10)] {
            try Content.write(Content.random(size), to: source.appendingPathComponent(name))
        }
        // 110 KiB for a quota of 100: two fit, whichever the server prepares first (small files are pipelined, so the
        // others in flight count); the third is refused at Open, naming the quota and the figures.
        let first = try env.upload([source.path], to: daemon, parallel: 1)
        XCTAssertEqual(first.status, 1, first.run.stderr)
        XCTAssertEqual(first.files.filter(\.ok).count, 2, first.run.stdout)
        let refused = try XCTUnwrap(first.files.first { !$0.ok })
        XCTAssertTrue(refused.error?.contains("does not fit the quota of 'alice', 100.0 KiB") == true, refused.error ?? "")
        let refusedName = URL(fileURLWithPath: refused.path).lastPathComponent
        let area = daemon.area("alice").appendingPathComponent("q")
        XCTAssertFalse(FileManager.default.fileExists(atPath: area.appendingPathComponent(refusedName).path))
        XCTAssertEqual(first.files.filter(\.ok).reduce(UInt64(0)) { $0 + ($1.bytes ?? 0) } <= 100 << 10, true)

        // Deleting the larger of the two stored makes room for the refused one.
        let kept = first.files.filter(\.ok).map { URL(fileURLWithPath: $0.path).lastPathComponent }.sorted()
        let larger = kept.first { $0 != "c.bin" } ?? kept[0]
        XCTAssertEqual(try env.ferry("rm", ["q/\(larger)"], daemon: daemon).status, 0)
        let again = try env.upload([source.appendingPathComponent(refusedName).path], to: daemon, dest: "q")
        XCTAssertEqual(again.status, 0, again.run.stderr)

        // Three files at most: with a third stored, a fourth is refused by count, however small.
        for name in ["d.bin", "e.bin"] { try Content.write([1], to: source.appendingPathComponent(name)) }
        XCTAssertEqual(try env.upload([source.appendingPathComponent("d.bin").path], to: daemon, dest: "q").status, 0)
        let fourth = try env.upload([source.appendingPathComponent("e.bin").path], to: daemon, dest: "q")
        XCTAssertEqual(fourth.status, 1)
        XCTAssertTrue(fourth.files.first?.error?.contains("3 files: 3 stored") == true, fourth.run.stdout)
        daemon.assertRunning("after the refusals")
    }

    func testAnOverrideAndAReloadChangeTheLimits() throws {
        let env = try TestEnvironment(self)
        let daemon = try Daemon.start(environment: env, workers: 1,
                                      settings: ["quotas": ["files = 1", "overrides = [\"alice: files=2\"]"]])
        let source = try env.sourceDirectory("o")
        for name in ["a", "b", "c"] { try Content.write(Content.random(100), to: source.appendingPathComponent(name)) }
        let run = try env.upload([source.path], to: daemon, parallel: 1)
        XCTAssertEqual(run.files.filter(\.ok).count, 2, "alice's override: two files\n\(run.run.stdout)")

        let config = try String(contentsOf: daemon.configURL, encoding: .utf8)
        try config.replacingOccurrences(of: "\"alice: files=2\"", with: "\"alice: files=0\"")
            .write(to: daemon.configURL, atomically: true, encoding: .utf8)
        daemon.child.signal(SIGHUP)
        XCTAssertTrue(waitUntil(timeout: 10) { !daemon.logLines(message: "configuration reloaded").isEmpty }, daemon.log)
        let after = try env.upload([source.path], to: daemon, parallel: 1)
        XCTAssertEqual(after.status, 0, "files=0: no limit for alice after the reload\n\(after.run.stdout)")
    }
}
