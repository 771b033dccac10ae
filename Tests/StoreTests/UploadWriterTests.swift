// UploadWriter from prepare to commit, several uploads at once on one stepped executor: exact bytes and receipts, the
// tail below the batch floor, a digest mismatch, the final name taken (refused, or replaced when overwriting, or taken
// by another upload meanwhile) or a directory.
import Foundation
import Platform
import Protocol
import XCTest

@testable import Store

final class UploadWriterTests: StoreTestCase {
    /// Three uploads interleaved (an empty file, one below the batch floor, one of many batches in odd chunks), durable:
    /// each committed with its receipt, stored byte for byte, no .part, nothing held, every buffer back.
    func testUploadsCommitTheExactBytes() throws {
        let store = try makeStore()
        let files: [(String, [UInt8], Int)] = [
            ("empty.bin", [], 1), ("small/one.bin", pattern(100_001, seed: 1), 4096),
            ("big/deeper/two.bin", pattern((3 << 20) + 123, seed: 2), 65_537),
        ]
        let runs = try files.map { try upload(store, $0.0, $0.1, durable: true, chunk: $0.2) }
        drive(runs, on: executor)
        for (run, (name, content, _)) in zip(runs, files) {
            let receipt = UploadReceipt(storedName: name, size: UInt64(content.count), digest: DigestContext.hash(.sha256, content))
            XCTAssertEqual(run.milestones, [.ready, .committed(receipt)], name)
            XCTAssertEqual(contents("alice/" + name), content, name)
            XCTAssertTrue(run.writer.hasEnded, name)
            XCTAssertEqual(run.writer.received, UInt64(content.count), name)
        }
        assertNothingHeld(store)
    }

    /// Chunks that never reach the batch floor stay queued (nothing is written yet), and `finish` writes them: the
    /// committed file and its digest are exact, for a durable and a non-durable upload side by side, and no .part is
    /// left. (From DaemonTests/UploadSinkTests.)
    func testATailBelowTheBatchFloorIsWrittenAtFinish() throws {
        let store = try makeStore()
        let content = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 31 ^ $0 >> 7) }
        XCTAssertLessThan(content.count, BatchPipeline.minimumBatch)
        var backlogBeforeFinish: [Bool: Int] = [:]
        var partSizeBeforeFinish: [Bool: Int] = [:]
        let runs = try [true, false].map { durable in
            let run = try upload(store, "tail-\(durable).bin", content, durable: durable, chunk: 10_000)
            run.afterAppend = { [unowned self, unowned run] writer in
                guard writer.received == UInt64(content.count) else { return }
                executor.runAll()  // whatever could go to disk before finish has gone
                backlogBeforeFinish[durable] = writer.backlog
                let attributes = try? FileManager.default.attributesOfItem(atPath: path(Self.staging + "/" + run.partName))
                partSizeBeforeFinish[durable] = (attributes?[.size] as? NSNumber)?.intValue
            }
            return run
        }
        drive(runs, on: executor)
        for (run, durable) in zip(runs, [true, false]) {
            let receipt = UploadReceipt(storedName: "tail-\(durable).bin", size: UInt64(content.count),
                                        digest: DigestContext.hash(.sha256, content))
            XCTAssertEqual(run.milestones, [.ready, .committed(receipt)], "durable = \(durable)")
            XCTAssertEqual(backlogBeforeFinish[durable], content.count, "below the floor nothing is written before finish")
            XCTAssertEqual(partSizeBeforeFinish[durable], 0, "nothing written before finish")
            XCTAssertEqual(contents("alice/tail-\(durable).bin"), content)
        }
        assertNothingHeld(store)
    }

    /// A wrong digest fails the upload: no final file, no .part, the directories it created removed (its identity's
    /// too when it was alone), while another upload beside it commits and keeps what it needs.
    func testADigestMismatchLeavesNoFileAndRemovesWhatItCreated() throws {
        let store = try makeStore()
        let alone = try upload(store, "new/deeper/f.bin", pattern(600_000))
        alone.clientDigest = DigestContext.hash(.sha256, [1, 2, 3])
        drive([alone], on: executor)
        XCTAssertEqual(alone.failure?.failure.code, .digestMismatch)
        XCTAssertEqual(alone.milestones.count, 2, "ready, then failed: \(alone.milestones)")
        XCTAssertTrue(alone.writer.hasEnded)
        XCTAssertEqual(uploadsTree(), [:], "alice, new and deeper were all created by the failed upload")
        assertNothingHeld(store)

        let bad = try upload(store, "new/deeper/f.bin", pattern(600_000))
        bad.clientDigest = DigestContext.hash(.sha256, [])
        let good = try upload(store, "other/g.bin", pattern(70_000, seed: 3))
        drive([bad, good], on: executor)
        XCTAssertEqual(bad.failure?.failure.code, .digestMismatch)
        XCTAssertNotNil(good.receipt)
        XCTAssertEqual(Set(uploadsTree().keys), ["alice", "alice/other", "alice/other/g.bin"])
        XCTAssertEqual(contents("alice/other/g.bin"), pattern(70_000, seed: 3))
        assertNothingHeld(store)
    }

    /// An existing final name refuses the upload at prepare (`.exists`, no `.ready`, the file untouched); with
    /// overwrite the new content replaces it.
    func testAnExistingFinalNameIsRefusedUnlessOverwriting() throws {
        let store = try makeStore()
        try makeDirectories("alice/docs")
        try writeFile(path("alice/docs/report.txt"), Array("old".utf8))
        let refused = try upload(store, "docs/report.txt", pattern(5000))
        let other = try upload(store, "docs/other.txt", pattern(5000, seed: 9))
        drive([refused, other], on: executor)
        XCTAssertEqual(refused.failure?.failure.code, .exists)
        XCTAssertEqual(refused.milestones.count, 1, "refused before data: \(refused.milestones)")
        XCTAssertEqual(contents("alice/docs/report.txt"), Array("old".utf8))
        XCTAssertEqual(contents("alice/docs/other.txt"), pattern(5000, seed: 9))

        let replacing = try upload(store, "docs/report.txt", pattern(300_000, seed: 4), overwrite: true, durable: true)
        drive([replacing], on: executor)
        XCTAssertNotNil(replacing.receipt)
        XCTAssertEqual(contents("alice/docs/report.txt"), pattern(300_000, seed: 4))
        assertNothingHeld(store)
    }

    /// Two uploads of one file at once: the second is refused with `busy` while the first holds the file's .part
    /// (one writer per partial, so neither can write over the other's bytes); once the first committed, the name is
    /// taken (`exists`), and the directory the first created stays with its file in it.
    func testASecondUploadOfTheSameFileIsBusyUntilTheFirstEnds() throws {
        for useOpenat2 in [true, false] {
            let store = try makeStore(useOpenat2: useOpenat2)
            let first = try upload(store, "race-\(useOpenat2)/x.bin", pattern(400_000, seed: 1))
            first.stopAt = 1000
            drive([first], on: executor)
            let second = try upload(store, "race-\(useOpenat2)/x.bin", pattern(400_000, seed: 2))
            drive([second], on: executor)
            XCTAssertEqual(second.failure?.failure.code, .busy, "useOpenat2 = \(useOpenat2)")
            first.stopAt = nil
            drive([first], on: executor)
            XCTAssertNotNil(first.receipt)
            let third = try upload(store, "race-\(useOpenat2)/x.bin", pattern(400_000, seed: 3))
            drive([third], on: executor)
            XCTAssertEqual(third.failure?.failure.code, .exists, "useOpenat2 = \(useOpenat2)")
            XCTAssertEqual(contents("alice/race-\(useOpenat2)/x.bin"), pattern(400_000, seed: 1))
            assertNothingHeld(store)
        }
    }

    /// A final name that is a directory: `.badPath`, with or without overwrite; the directory and what it holds stay.
    func testAFinalNameThatIsADirectoryIsABadPath() throws {
        let store = try makeStore()
        try makeDirectories("alice/photos/2024")
        let before = uploadsTree()
        let runs = try [false, true].map { try upload(store, "photos", pattern(1000), overwrite: $0) }
        drive(runs, on: executor)
        for run in runs {
            XCTAssertEqual(run.failure?.failure.code, .badPath)
            XCTAssertEqual(run.milestones.count, 1)
        }
        XCTAssertEqual(uploadsTree(), before)
        assertNothingHeld(store)
    }
}
