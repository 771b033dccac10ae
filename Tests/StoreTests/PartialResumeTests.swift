// Partial uploads kept for resume (PartialJobs, PartialIndex, UploadWriter.suspend): what a dropped connection keeps,
// when a new upload of the file resumes and when it starts over, durable resume points while an upload runs, one
// writer per partial, what a restart keeps and what it removes, expiry, and the space check at Open.
import Foundation
import Platform
import Protocol
@testable import Store
import TestSupport
import XCTest

final class PartialResumeTests: StoreTestCase {
    private let size = 3 << 20

    /// Sends `stopAt` bytes of `content`, then the connection "drops": the writer is suspended.
    private func interrupted(_ store: Store, _ relativePath: String, _ content: [UInt8], stopAt: Int) throws {
        let run = try upload(store, relativePath, content)
        run.stopAt = stopAt
        drive([run], on: executor)
        run.writer.suspend()
        executor.runAll()
        XCTAssertTrue(run.writer.hasEnded)
    }

    /// A record whose path or identity begins with a combining mark (which joins the space before it into one Swift
    /// Character) reads back: it was never found, and its partial was discarded at every look.
    func testARecordOfANameBeginningWithACombiningMarkReadsBack() {
        for (identity, path) in [("alice", "\u{301}x.bin"), ("\u{301}ann", "a/\u{301}b"), ("alice", "plain.bin")] {
            let record = PartialRecord(identity: identity, path: path, size: 10_000, offset: 4_096)
            let read = PartialRecord.decode(record.encoded[...])
            XCTAssertNotNil(read, path)
            XCTAssertTrue(read?.path.utf8.elementsEqual(path.utf8) ?? false, path)
            XCTAssertTrue(read?.identity.utf8.elementsEqual(identity.utf8) ?? false, identity)
        }
    }

    func testADroppedUploadIsKeptAndTheNextOpenResumesWhereItStopped() throws {
        let store = try makeStore()
        let content = pattern(size, seed: 3)
        try interrupted(store, "dir/big.bin", content, stopAt: 1_000_000)
        XCTAssertEqual(partialRecord(store, "dir/big.bin")?.offset, 1_000_000, "everything received was written and recorded")
        XCTAssertFalse(exists("alice/dir/big.bin"))
        XCTAssertEqual(store.heldDirectories, 0)
        XCTAssertEqual(store.partials.kept.count, 1)

        let again = try upload(store, "dir/big.bin", content)
        drive([again], on: executor)
        XCTAssertEqual(again.writer.resumedAt, 1_000_000 / 4096 * 4096, "resumed at the last whole direct-I/O block")
        XCTAssertEqual(again.receipt?.digest, DigestContext.hash(.sha256, content), "the digest covers the whole file")
        XCTAssertEqual(contents("alice/dir/big.bin"), content)
        XCTAssertEqual(store.partials.kept.count, 0)
        assertNothingHeld(store)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path(Self.staging)), [], "no record left")
    }

    /// A kept prefix that differs from the client's file shows as a digest mismatch at Close: the partial is dropped,
    /// and the next upload of the file starts from 0 and is stored right.
    func testAPrefixThatDiffersIsDroppedAndNeverOfferedAgain() throws {
        let store = try makeStore()
        try interrupted(store, "f.bin", pattern(size, seed: 1), stopAt: 2_000_000)
        let changed = pattern(size, seed: 2)
        let resumed = try upload(store, "f.bin", changed)
        drive([resumed], on: executor)
        XCTAssertGreaterThan(resumed.writer.resumedAt, 0)
        XCTAssertEqual(resumed.failure?.failure.code, .digestMismatch)
        XCTAssertNil(partialRecord(store, "f.bin"))
        let fresh = try upload(store, "f.bin", changed)
        drive([fresh], on: executor)
        XCTAssertEqual(fresh.writer.resumedAt, 0)
        XCTAssertEqual(contents("alice/f.bin"), changed)
        assertNothingHeld(store)
    }

    /// Another size is another file: the partial is dropped, the upload starts from 0.
    func testAnOpenWithAnotherSizeStartsOver() throws {
        let store = try makeStore()
        try interrupted(store, "f.bin", pattern(size), stopAt: 2_000_000)
        let other = pattern(size + 1)
        let run = try upload(store, "f.bin", other)
        drive([run], on: executor)
        XCTAssertEqual(run.writer.resumedAt, 0)
        XCTAssertEqual(contents("alice/f.bin"), other)
        assertNothingHeld(store)
    }

    /// The client's Abort drops the partial (it gave the file up: unreadable, changed).
    func testAnAbortedUploadKeepsNothing() throws {
        let store = try makeStore()
        let run = try upload(store, "f.bin", pattern(size))
        run.stopAt = 2_000_000
        drive([run], on: executor)
        run.writer.abandon()
        executor.runAll()
        XCTAssertEqual(store.partials.kept.count, 0)
        assertNothingHeld(store)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path(Self.staging)), [])
    }

    /// While an upload runs, its .part is made durable and recorded once `checkpointBytes` were written (then again
    /// every `checkpointBytes` and `checkpointSpacing`): a crash (no suspend, no clean-up) leaves a record that never
    /// claims more than was written.
    func testResumePointsAreRecordedWhileTheUploadRuns() throws {
        let store = try makeStore()
        let run = try upload(store, "f.bin", pattern(size), checkpointBytes: 1 << 20)
        run.stopAt = 2_600_000
        drive([run], on: executor)
        let offset = try XCTUnwrap(partialRecord(store, "f.bin")?.offset, "no resume point recorded")
        XCTAssertLessThanOrEqual(offset, 2_600_000)
        XCTAssertGreaterThanOrEqual(offset, 1 << 20, "no resume point after the first interval")
        run.writer.abandon()
        executor.runAll()
    }

    /// At start, a partial with a valid record is kept (and resumes); one whose record is expired, malformed, or names
    /// another file, is removed with its record.
    func testRecoveryKeepsValidPartialsAndRemovesTheRest() throws {
        do {
            let store = try makeStore()
            for name in ["keep.bin", "expired.bin", "garbled.bin", "moved.bin"] {
                try interrupted(store, name, pattern(size), stopAt: 1_500_000)
            }
        }
        let rules = NameRules(staging: Self.staging)
        func recordPath(_ name: String) -> String {
            path(Self.staging + "/" + PartialJobs.recordName(rules.partName(identity: "alice", relativePath: name)))
        }
        try writeFile(recordPath("garbled.bin"), Array("ferry-partial 1\nsize x\n".utf8))
        let moved = PartialRecord(identity: "alice", path: "elsewhere.bin", size: UInt64(size), offset: 1_000_000)
        try writeFile(recordPath("moved.bin"), moved.encoded)
        let old = Date(timeIntervalSinceNow: -7200)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: recordPath("expired.bin"))

        let store = try makeStore()
        let found = store.recoverPartials(ttlSeconds: 3600, now: SystemClock.unixSeconds())
        XCTAssertEqual(found.kept, 1)
        XCTAssertEqual(found.removed, 3)
        XCTAssertEqual(partFiles(), [rules.partName(identity: "alice", relativePath: "keep.bin")])
        let resumed = try upload(store, "keep.bin", pattern(size))
        drive([resumed], on: executor)
        XCTAssertGreaterThan(resumed.writer.resumedAt, 0)
        XCTAssertEqual(contents("alice/keep.bin"), pattern(size))
        assertNothingHeld(store)
    }

    func testExpiryRemovesKeptPartialsOnlyOnceTheyAreOldEnough() throws {
        let store = try makeStore()
        try interrupted(store, "f.bin", pattern(size), stopAt: 1_500_000)
        let now = SystemClock.unixSeconds()
        XCTAssertEqual(store.expirePartials(ttlSeconds: 3600, now: now), 0)
        XCTAssertEqual(partFiles().count, 1)
        XCTAssertEqual(store.expirePartials(ttlSeconds: 3600, now: now + 3600), 1)
        XCTAssertEqual(partFiles(), [])
        XCTAssertEqual(store.partials.kept.count, 0)
    }

    /// The space check at Open: an upload whose remaining bytes do not fit in the free space minus the reserve minus
    /// what other uploads claim is refused at once with `no_space` and the figures; the first one is not disturbed.
    func testAnUploadThatCannotFitBesideTheOthersIsRefusedAtOpen() throws {
        let store = try makeStore()
        let available = try DirectoryCalls.availableSpace(store.staging)
        // 1 GiB left above the reserve: room for the first upload (80 MiB) even while other processes write, and
        // never for the second, which declares the whole GiB (refused at Open, so nothing of it is ever written).
        let reserve = available - (1 << 30)
        let first = try upload(store, "one.bin", pattern(80 << 20), reserve: reserve)
        first.stopAt = 1 << 20
        drive([first], on: executor)
        XCTAssertTrue(first.isReady, "\(String(describing: first.failure))")
        let second = try upload(store, "two.bin", declaredSize: 1 << 30, reserve: reserve)
        drive([second], on: executor)
        XCTAssertEqual(second.failure?.failure.code, .noSpace)
        let message = second.failure?.failure.message ?? ""
        XCTAssertTrue(message.contains("needs 1.0 GiB") && message.contains("claimed by other uploads"), message)
        first.stopAt = nil
        drive([first], on: executor)
        XCTAssertNotNil(first.receipt)
        assertNothingHeld(store)
    }
}
