// abandon() at every stage — preparing, receiving with batches on the executor (queued, or running: the work done and
// the completion not yet delivered), finished and flushing, committing — with another upload beside it: the dropped
// upload leaves no .part, no directory it created, no buffer out of the pool and no directory held, sends no event,
// and its .part goes only once no job can still write through its descriptor.
import Foundation
import Platform
import Protocol
import XCTest

@testable import Store

final class UploadAbandonTests: StoreTestCase {
    /// Dropped before its prepare ran, and while the prepare was running (it created the directories and the .part,
    /// and the writer had not heard yet): nothing is left, and the upload beside it commits.
    func testAbandonWhilePreparing() throws {
        for (round, running) in [false, true].enumerated() {
            let store = try makeStore()
            let dropped = try upload(store, "drop\(round)/a/b/f.bin", pattern(300_000))
            let other = try upload(store, "keep\(round)/g.bin", pattern(300_000, seed: 5))
            XCTAssertEqual(executor.queuedKinds, [.prepare, .prepare])
            if running {
                executor.runNext { dropped.writer.abandon() }
            } else {
                dropped.writer.abandon()
            }
            drive([dropped, other], on: executor)
            XCTAssertEqual(dropped.events, [], "an abandoned upload sends nothing")
            XCTAssertTrue(dropped.writer.hasEnded)
            XCTAssertNotNil(other.receipt)
            XCTAssertEqual(Set(uploadsTree().keys), ["alice", "alice/keep\(round)", "alice/keep\(round)/g.bin"])
            assertNothingHeld(store)
            try FileManager.default.removeItem(atPath: path("alice"))
        }
    }

    /// Dropped while every batch slot is out (the first batch's hash and write
    /// handed to the executor, the others waiting for their chains), at three moments: both jobs queued, the hash
    /// done and the write queued, the write running. The jobs already handed out run, none other starts, the .part
    /// stays until the last of them is done, then goes with the directories, and every buffer comes back. (From
    /// DaemonTests/UploadSinkTests: dropped with batches on the pool.)
    func testAbandonWhileReceivingWithBatchesOnTheExecutor() throws {
        let chunk = 64 << 10
        let size = BatchPipeline.slots * BatchPipeline.minimumBatch + 8 * chunk
        for moment in 0..<3 {
            let store = try makeStore(useOpenat2: moment != 1)
            let dropped = try upload(store, "drop/\(moment)/f.bin", pattern(size + 1), chunk: chunk)
            dropped.stopAt = size
            let other = try upload(store, "other\(moment).bin", pattern(100_000, seed: 1))
            executor.runNext()  // the dropped upload's prepare
            dropped.feed()      // all of it in one loop turn: no job has come back
            XCTAssertEqual(dropped.events, [.ready], "no event from inside the calls that fed it (only job completions)")
            XCTAssertEqual(dropped.writer.backlog, size)
            XCTAssertEqual(executor.queuedKinds, [.prepare, .hashOrDiscard, .write])
            executor.runNext()  // the other upload's prepare
            if moment >= 1 { executor.runNext() }  // the hash
            if moment == 2 {
                executor.runNext { dropped.writer.abandon() }  // the write has run; its completion comes after
            } else {
                dropped.writer.abandon()
            }
            let handedOut = executor.queuedKinds.count
            XCTAssertGreaterThan(handedOut, 0)
            XCTAssertFalse(executor.queuedKinds.contains(.prepare))
            XCTAssertTrue(partFiles().contains(dropped.partName), "the .part stays while a job handed out is not done")
            let before = executor.completed
            executor.runAll()
            XCTAssertEqual(executor.completed - before, handedOut + 1, "the jobs handed out, then one discard")
            drive([other], on: executor)
            XCTAssertEqual(dropped.events.filter { $0 != .room }, [.ready], "nothing after abandon")
            XCTAssertTrue(dropped.writer.hasEnded)
            XCTAssertNotNil(other.receipt)
            XCTAssertEqual(Set(uploadsTree().keys), ["alice", "alice/other\(moment).bin"], "moment \(moment)")
            assertNothingHeld(store)
            try FileManager.default.removeItem(atPath: path("alice"))
        }
    }

    /// Dropped after `finish`, while its batches are still on their way (flushing): no commit, no event, nothing left.
    func testAbandonAfterFinishWhileFlushing() throws {
        for running in [false, true] {
            let store = try makeStore()
            let dropped = try upload(store, "flush/a/f.bin", pattern(2_000_000))
            let other = try upload(store, "keep/g.bin", pattern(2_000_000, seed: 3))
            executor.runNext()
            dropped.feed()
            XCTAssertEqual(dropped.events, [.ready], "no event from inside the calls that fed it (only job completions)")
            XCTAssertTrue(executor.queuedKinds.contains(.write), "batches on the executor after finish")
            executor.runNext()
            if running {
                executor.runNext { dropped.writer.abandon() }  // the first hash ran
            } else {
                dropped.writer.abandon()
            }
            drive([other], on: executor)
            XCTAssertEqual(dropped.events.filter { $0 != .room }, [.ready])
            XCTAssertTrue(dropped.writer.hasEnded)
            XCTAssertEqual(Set(uploadsTree().keys), ["alice", "alice/keep", "alice/keep/g.bin"], "no file, no directory")
            XCTAssertEqual(contents("alice/keep/g.bin"), pattern(2_000_000, seed: 3))
            assertNothingHeld(store)
            try FileManager.default.removeItem(atPath: path("alice"))
        }
    }

    /// Dropped while its commit job is queued: the file was whole and verified, so the commit completes, abandon()
    /// says so, and the outcome still comes (for the daemon's log and metrics: no client will hear it).
    func testAbandonWhileCommittingStillCommits() throws {
        let store = try makeStore()
        let run = try upload(store, "late/f.bin", pattern(50_000))
        var commitRunning: Bool?
        drive([run], on: executor) {
            if executor.queuedKinds == [.commit], commitRunning == nil { commitRunning = run.writer.abandon() }
        }
        XCTAssertEqual(commitRunning, true)
        XCTAssertEqual(run.events.filter { $0 != .room }.count, 2, "ready, then the commit's outcome: \(run.events)")
        XCTAssertNotNil(run.receipt)
        XCTAssertTrue(run.writer.hasEnded)
        XCTAssertEqual(contents("alice/late/f.bin"), pattern(50_000))
        assertNothingHeld(store)
    }

    /// 30 uploads of 200-component paths, each its own client's, dropped at different stages (while preparing,
    /// while receiving, after finish): no directory is left anywhere under the root. Each upload has its own tree here;
    /// uploads whose new directories overlap are DirectoryCleanupTests.testOverlappingFailedUploadsLeaveNoDirectory.
    /// The walk creates every directory whichever the resolution, so one store (openat2 first) covers both.
    func testThirtyDroppedDeepUploadsLeaveNoDirectory() throws {
        let store = try makeStore()
        let deep = (1..<200).map { "d\($0)" }.joined(separator: "/")
        let runs = try (0..<30).map { index in
            let run = try upload(store, "\(deep)/f.bin", pattern(300_000, seed: index), identity: "client\(index)")
            XCTAssertEqual(run.writer.path.directoryComponents.count, 200)
            run.stopAt = index % 3 == 2 ? nil : 300_000
            return run
        }
        for (index, run) in runs.enumerated() where index % 3 == 0 { run.writer.abandon() }  // while preparing
        var steps = 0
        drive(runs, on: executor) {
            steps += 1
            if steps == 40 { for run in runs { run.writer.abandon() } }  // the rest: receiving, or finished
        }
        executor.runAll()
        XCTAssertTrue(runs.allSatisfy { $0.writer.hasEnded })
        XCTAssertTrue(runs.allSatisfy { $0.receipt == nil })
        XCTAssertTrue(runs[2].finished, "an upload that finished was dropped too")
        XCTAssertEqual(Set(tree(rootPath).keys), [".ferryd.lock", Self.staging], "only the lock and the staging directory")
        assertNothingHeld(store)
    }
}
