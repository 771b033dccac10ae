// Which directories an upload leaves: a committed upload keeps the ones it created; a failed one removes those it
// created that are still empty — never one that existed before it, one another upload holds, or one another upload
// stored a file in. Both ways of reaching a directory (openat2 and the component walk) for each.
import Foundation
import Platform
import Protocol
import XCTest

@testable import Store

final class DirectoryCleanupTests: StoreTestCase {
    func testACommittedUploadKeepsTheDirectoriesItCreated() throws {
        for useOpenat2 in [true, false] {
            let store = try makeStore(useOpenat2: useOpenat2)
            let runs = try ["k\(useOpenat2)/a/b/c/one.bin", "k\(useOpenat2)/a/two.bin"].map { try upload(store, $0, pattern(9000)) }
            drive(runs, on: executor)
            XCTAssertTrue(runs.allSatisfy { $0.receipt != nil })
            for directory in ["alice", "alice/k\(useOpenat2)", "alice/k\(useOpenat2)/a/b", "alice/k\(useOpenat2)/a/b/c"] {
                XCTAssertEqual(lstatKind(path(directory)), .directory, directory)
            }
            XCTAssertEqual(contents("alice/k\(useOpenat2)/a/b/c/one.bin"), pattern(9000))
            assertNothingHeld(store)
        }
    }

    /// Two uploads into one new directory, one commits and then the other fails: the one that created it commits (the
    /// other created nothing to remove), or the creator fails after the other committed (its clean-up finds the
    /// directory not empty). Each time the directory stays with the committed file in it.
    func testOneFailsOneCommitsInTheSameNewDirectory() throws {
        for (round, creatorFails) in [false, true].enumerated() {
            let store = try makeStore(useOpenat2: round == 0)
            let creator = try upload(store, "shared\(round)/new/creator.bin", pattern(500_000, seed: 1))
            let other = try upload(store, "shared\(round)/new/other.bin", pattern(500_000, seed: 2))
            let failing = creatorFails ? creator : other
            failing.clientDigest = DigestContext.hash(.sha256, [0])
            failing.stopAt = 1000
            drive([creator, other], on: executor)
            let committing = creatorFails ? other : creator
            XCTAssertNotNil(committing.receipt)
            failing.stopAt = nil
            drive([failing], on: executor)
            XCTAssertEqual(failing.failure?.failure.code, .digestMismatch)
            let name = creatorFails ? "other.bin" : "creator.bin"
            XCTAssertEqual(Set(uploadsTree().keys), ["alice", "alice/shared\(round)", "alice/shared\(round)/new",
                                                    "alice/shared\(round)/new/\(name)"])
            XCTAssertEqual(contents("alice/shared\(round)/new/\(name)"), committing.content)
            assertNothingHeld(store)
            try FileManager.default.removeItem(atPath: path("alice"))
        }
    }

    /// The upload that created a directory fails (or is dropped) while another one, still receiving, holds that
    /// directory, empty: the directory is not removed, and the other one commits into it.
    func testAFailureDoesNotRemoveADirectoryAnotherUploadHolds() throws {
        for (round, drop) in [(0, false), (1, true), (2, false), (3, true)] {
            let store = try makeStore(useOpenat2: round < 2)
            let creator = try upload(store, "fresh\(round)/creator.bin", pattern(300_000, seed: 1))
            creator.clientDigest = DigestContext.hash(.sha256, [0])
            if drop { creator.stopAt = 70_000 }
            let holder = try upload(store, "fresh\(round)/holder.bin", pattern(600_000, seed: 2))
            holder.stopAt = 100_000
            drive([creator, holder], on: executor)
            if drop {
                creator.writer.abandon()
                drive([creator, holder], on: executor)
            } else {
                XCTAssertEqual(creator.failure?.failure.code, .digestMismatch)
            }
            XCTAssertTrue(creator.writer.hasEnded)
            XCTAssertEqual(lstatKind(path("alice/fresh\(round)")), .directory, "removed under an upload that holds it")
            XCTAssertEqual(store.heldDirectories, 1, "the holder's")
            holder.stopAt = nil
            drive([holder], on: executor)
            XCTAssertNotNil(holder.receipt, "round \(round)")
            XCTAssertEqual(contents("alice/fresh\(round)/holder.bin"), pattern(600_000, seed: 2))
            assertNothingHeld(store)
        }
    }

    /// A failed upload into a/b/c/d that created all four removes all four, deepest first, and nothing of a tree
    /// beside them nor the identity's directory that existed before; with no identity directory before, that goes too.
    func testAFailureRemovesEveryDirectoryItCreatedAndNothingElse() throws {
        for useOpenat2 in [true, false] {
            let store = try makeStore(useOpenat2: useOpenat2)
            try makeDirectories("alice/a-sibling/deep/er")
            try makeDirectories("alice/empty")
            try writeFile(path("alice/a-sibling/deep/file.txt"), Array("kept".utf8))
            let before = uploadsTree()
            let run = try upload(store, "a/b/c/d/f.bin", pattern(700_000))
            run.clientDigest = DigestContext.hash(.sha256, [])
            let good = try upload(store, "a-sibling/deep/new.bin", pattern(10))
            drive([run, good], on: executor)
            XCTAssertEqual(run.failure?.failure.code, .digestMismatch)
            var expected = before
            expected["alice/a-sibling/deep/new.bin"] = uploadsTree()["alice/a-sibling/deep/new.bin"]
            XCTAssertEqual(contents("alice/a-sibling/deep/new.bin"), pattern(10))
            XCTAssertEqual(uploadsTree(), expected, "useOpenat2 = \(useOpenat2)")
            assertNothingHeld(store)
            try FileManager.default.removeItem(atPath: path("alice"))
        }
        let store = try makeStore()
        let run = try upload(store, "a/b/c/d/f.bin", pattern(10), identity: "newcomer")
        run.clientDigest = DigestContext.hash(.sha256, [])
        drive([run], on: executor)
        XCTAssertEqual(run.failure?.failure.code, .digestMismatch)
        XCTAssertEqual(uploadsTree(), [:], "newcomer, a, b, c and d were all this upload's")
        assertNothingHeld(store)
    }

    /// Directories that existed before an upload, even empty, are never removed when it fails or is dropped at any
    /// stage; only the ones below them it created go.
    func testADirectoryThatExistedBeforeIsNeverRemoved() throws {
        for useOpenat2 in [true, false] {
            let store = try makeStore(useOpenat2: useOpenat2)
            try makeDirectories("alice/old")
            let before = uploadsTree()
            let mismatch = try upload(store, "old/f.bin", pattern(300_000))
            mismatch.clientDigest = DigestContext.hash(.sha256, [])
            let deeper = try upload(store, "old/new/er/g.bin", pattern(300_000))
            deeper.clientDigest = DigestContext.hash(.sha256, [])
            let refused = try upload(store, "old", pattern(1))  // a directory: refused at prepare
            let dropped = try upload(store, "old/h.bin", pattern(300_000))
            dropped.stopAt = 280_000
            drive([mismatch, deeper, refused, dropped], on: executor)
            dropped.writer.abandon()
            executor.runAll()
            XCTAssertEqual(mismatch.failure?.failure.code, .digestMismatch)
            XCTAssertEqual(deeper.failure?.failure.code, .digestMismatch)
            XCTAssertEqual(refused.failure?.failure.code, .badPath)
            XCTAssertTrue(dropped.writer.hasEnded)
            XCTAssertEqual(uploadsTree(), before, "useOpenat2 = \(useOpenat2)")
            assertNothingHeld(store)
        }
    }

    /// Uploads whose new directories overlap, all failing, the one that created them first (while the other still
    /// holds them or a directory below them): once both ended, nothing they created may be left. Four shapes, each
    /// under a new client directory: the same directory; the second one's directory below the first one's; the second
    /// one's directory above the first one's; three uploads into the client's directory itself.
    func testOverlappingFailedUploadsLeaveNoDirectory() throws {
        let shapes: [(String, [String])] = [
            ("same", ["a/b/one.bin", "a/b/two.bin"]),
            ("below", ["c/d/one.bin", "c/d/e/two.bin"]),
            ("above", ["f/g/h/one.bin", "f/two.bin"]),
            ("identity", ["one.bin", "two.bin", "three.bin"]),
        ]
        for useOpenat2 in [true, false] {
            let store = try makeStore(useOpenat2: useOpenat2)
            for (shape, names) in shapes {
                let runs = try names.map { try upload(store, $0, pattern(300_000), identity: "\(shape)-\(useOpenat2)") }
                for run in runs { run.stopAt = 100_000 }
                drive(runs, on: executor)  // all prepared (the first created the directories) and receiving
                for run in runs {
                    run.writer.abandon()
                    executor.runAll()
                }
                XCTAssertTrue(runs.allSatisfy { $0.writer.hasEnded })
                XCTAssertEqual(uploadsTree().filter { $0.key.hasPrefix("\(shape)-\(useOpenat2)") }, [:],
                               "\(shape), useOpenat2 = \(useOpenat2): directories of failed uploads left behind")
                assertNothingHeld(store)
            }
        }
    }
}
