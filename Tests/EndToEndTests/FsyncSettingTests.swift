// storage.fsync: with true (the default) every commit fsyncs the file and its directory before Committed; with false
// neither, and the upload is still stored whole under its final name. Observed from outside with strace on the real
// daemon, counting fsync/fdatasync system calls during one upload.
import Foundation
import XCTest

final class FsyncSettingTests: XCTestCase {
    func testFsyncSettingDecidesWhetherACommitIsSynced() throws {
        let env = try TestEnvironment(self)
        let source = try env.sourceDirectory("fsync")
        let file = source.appendingPathComponent("data.bin")
        let expected = try Content.write(Content.random((1 << 20) + 1), to: file)

        for fsync in [true, false] {
            let daemon = try Daemon.start(environment: env, workers: 1, settings: ["storage": ["fsync = \(fsync)"]])
            let calls = try SyscallTrace.lines(of: daemon, in: env, name: "fsync-\(fsync)",
                                               arguments: ["-e", "trace=fsync,fdatasync"]) {
                let outcome = try env.upload([file.path], to: daemon, dest: "fsync-\(fsync)", timeout: 30)
                XCTAssertEqual(outcome.status, 0, "ferry upload: \(outcome.run.stderr)")
            }.filter { $0.contains("fsync(") || $0.contains("fdatasync(") }
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
