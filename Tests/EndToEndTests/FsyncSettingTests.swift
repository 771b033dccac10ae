// storage.fsync: with true (the default) every commit fsyncs the file and its directory before Committed; with false
// neither, and the upload is still stored whole under its final name. Observed from outside with strace on the real
// daemon, counting fsync/fdatasync system calls during one upload.
import Foundation
import XCTest

final class FsyncSettingTests: XCTestCase {
    func testFsyncSettingDecidesWhetherACommitIsSynced() throws {
        let strace = URL(fileURLWithPath: "/usr/bin/strace")
        guard FileManager.default.isExecutableFile(atPath: strace.path) else { throw XCTSkip("strace is not installed") }
        let env = try TestEnvironment(self)
        let source = try env.sourceDirectory("fsync")
        let file = source.appendingPathComponent("data.bin")
        let expected = try Content.write(Content.random((1 << 20) + 1), to: file)

        for fsync in [true, false] {
            let daemon = try Daemon.start(environment: env, workers: 1, settings: ["storage": ["fsync = \(fsync)"]])
            let trace = env.directory.appendingPathComponent("strace-\(fsync).txt")
            let tracer = try ChildProcess(strace, ["-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", trace.path,
                                                   "-p", "\(daemon.child.pid)"],
                                          outputDirectory: env.directory, name: "strace-\(fsync)")
            // strace prints nothing when it has attached; give it a moment (an early upload would only be missed,
            // which the `fsync = true` case below would catch as a failure).
            Thread.sleep(forTimeInterval: 1.0)
            let outcome = try env.upload([file.path], to: daemon, dest: "fsync-\(fsync)", timeout: 30)
            XCTAssertEqual(outcome.status, 0, "ferry upload: \(outcome.run.stderr)")
            tracer.signal(SIGINT)
            XCTAssertTrue(tracer.wait(timeout: 5), "strace did not stop")
            let calls = (try? String(contentsOf: trace, encoding: .utf8))?
                .split(separator: "\n").filter { $0.contains("fsync(") || $0.contains("fdatasync(") } ?? []
            if fsync {
                XCTAssertGreaterThanOrEqual(calls.count, 2, "fsync = true: the file and its directory are synced\n\(calls)")
            } else {
                XCTAssertEqual(calls.count, 0, "fsync = false: no sync at all\n\(calls)")
            }
            let stored = daemon.area("alice").appendingPathComponent("fsync-\(fsync)/data.bin")
            XCTAssertEqual(try Content.sha256(of: stored), expected, "fsync = \(fsync): stored copy differs")
            XCTAssertEqual(daemon.stagingEntries(), [])
            XCTAssertTrue(daemon.stop())
        }
    }
}
