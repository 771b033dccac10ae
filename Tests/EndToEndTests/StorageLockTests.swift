// One daemon per storage root (Sources/Daemon/Storage/StorageLock.swift): a second ferryd on the same root must not
// start, because it would delete the first one's partial uploads. (On the same port, the listen address check would
// stop it as well, after the lock: ListenAddressTakenTests.)
import Foundation
import TestSupport
import XCTest

final class StorageLockTests: XCTestCase {
    func testASecondDaemonOnTheSameRootRefusesToStartAndTouchesNothing() throws {
        let env = try TestEnvironment(self)
        let first = try Daemon.start(environment: env, workers: 1)
        // Stands for an upload in flight: a start-up would remove it as "left by a previous run".
        let inFlight = first.stagingDirectory.appendingPathComponent("alice-0000-1.part")
        try Data("partial".utf8).write(to: inFlight)

        // The same port, as an operator starting a second copy of the same configuration would.
        let second = try runToCompletion(env.binaries.ferryd, ["--config", first.configURL.path],
                                         outputDirectory: env.directory, name: "ferryd-second", timeout: 15)
        XCTAssertEqual(second.status, 1, "the second ferryd: \(second.termination)\n\(second.stderr)")
        XCTAssertTrue(second.stderr.contains("another ferryd (pid \(first.pid)) is using this storage root"),
                      "the refusal does not name the running daemon:\n\(second.stderr)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: inFlight.path), "the second ferryd removed a running upload's .part")
        first.assertRunning("after a second daemon was refused")

        // The first one still serves.
        let source = try env.sourceDirectory("lock")
        let file = source.appendingPathComponent("after.bin")
        try Data(repeating: 7, count: 100_000).write(to: file)
        let outcome = try env.upload([file.path], to: first)
        XCTAssertEqual(outcome.run.status, 0, "\(outcome.run.stderr)")
    }

    func testTheLockIsReleasedWhenTheDaemonStopsOrDies() throws {
        let env = try TestEnvironment(self)
        let first = try Daemon.start(environment: env, workers: 1)
        XCTAssertTrue(first.stop(), "ferryd did not stop on SIGTERM")
        let second = try Daemon.start(environment: env, workers: 1)  // fails the test if it is refused
        second.child.signal(SIGKILL)
        XCTAssertTrue(second.child.wait(timeout: 5))
        let third = try Daemon.start(environment: env, workers: 1)  // the kernel dropped the dead one's lock
        third.assertRunning("after its predecessor was killed")
    }
}
