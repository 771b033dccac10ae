// A namespace's quota (UploadJobs+Quota.swift, docs/STORE.md "Quotas"): checked when an upload is prepared, from its
// declared size, against the index's usage plus the namespace's other uploads in progress and kept partials, less
// what an overwrite replaces; at the limit is allowed, past it is no_space naming the quota and the figures.
import Foundation
import Index
import Protocol
import TestSupport
import XCTest

@testable import Store

final class QuotaTests: StoreTestCase {
    private func store() throws -> (Store, JournaledIndex) {
        let index = try makeIndex()
        return (try makeStore(index: index), index)
    }

    private func stored(_ store: Store, _ path: String, _ size: Int, quota: StoreQuota, overwrite: Bool = false) throws -> UploadRun {
        let run = try upload(store, path, pattern(size), overwrite: overwrite, quota: quota)
        drive([run], on: executor)
        return run
    }

    func testBytesUpToTheLimitAreStoredAndPastItRefusedAtOpen() throws {
        let (store, index) = try store()
        let quota = StoreQuota(bytes: 100, files: nil)
        XCTAssertNotNil(try stored(store, "a.bin", 60, quota: quota).receipt)
        let refused = try stored(store, "b.bin", 41, quota: quota)
        XCTAssertEqual(refused.failure?.failure.code, .noSpace)
        let message = refused.failure?.failure.message ?? ""
        XCTAssertTrue(message.contains("quota of 'alice', 100 bytes") && message.contains("60 bytes stored")
                      && message.contains("it needs 41 bytes"), message)
        XCTAssertFalse(refused.events.contains { if case .ready = $0 { true } else { false } }, "refused before any byte")
        XCTAssertFalse(exists("alice/b.bin"))
        XCTAssertNotNil(try stored(store, "b.bin", 40, quota: quota).receipt, "exactly at the limit")
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 100, files: 2))
        XCTAssertEqual(try stored(store, "other.bin", 1, quota: quota).failure?.failure.code, .noSpace, "nothing more fits")
        assertNothingHeld(store)
    }

    func testFilesAreCountedAndAnOverwriteGivesBackWhatItReplaces() throws {
        let (store, _) = try store()
        let quota = StoreQuota(bytes: 100, files: 2)
        XCTAssertNotNil(try stored(store, "a.bin", 60, quota: quota).receipt)
        XCTAssertNotNil(try stored(store, "b.bin", 30, quota: quota).receipt)
        let third = try stored(store, "c.bin", 1, quota: quota)
        XCTAssertEqual(third.failure?.failure.code, .noSpace)
        XCTAssertTrue(third.failure?.failure.message.contains("2 files: 2 stored") == true, third.failure?.failure.message ?? "")
        // Replacing a.bin (60) with 70: 30 + 70 = 100 fits, and it is no new file.
        XCTAssertNotNil(try stored(store, "a.bin", 70, quota: quota, overwrite: true).receipt)
        XCTAssertEqual(contents("alice/a.bin"), pattern(70))
        XCTAssertEqual(try stored(store, "a.bin", 71, quota: quota, overwrite: true).failure?.failure.code, .noSpace)
        XCTAssertEqual(contents("alice/a.bin"), pattern(70), "the refused overwrite left the file")
        assertNothingHeld(store)
    }

    /// An upload in progress counts its whole size before it is stored; a kept partial the bytes it holds.
    func testUploadsInProgressAndKeptPartialsCount() throws {
        let (store, _) = try store()
        let quota = StoreQuota(bytes: 1000, files: nil)
        let writing = store.rules.partName(identity: "alice", relativePath: "big.bin")
        XCTAssertNil(store.partials.claim(writing, size: 700, now: 0, namespace: "alice"))
        let refused = try stored(store, "x.bin", 301, quota: quota)
        XCTAssertEqual(refused.failure?.failure.code, .noSpace)
        XCTAssertTrue(refused.failure?.failure.message.contains("700 bytes in uploads in progress") == true,
                      refused.failure?.failure.message ?? "")
        store.partials.release(writing, kept: 200, now: 0)  // interrupted: kept, holding 200 bytes
        XCTAssertEqual(try stored(store, "x.bin", 801, quota: quota).failure?.failure.code, .noSpace)
        XCTAssertNotNil(try stored(store, "x.bin", 800, quota: quota).receipt)
        // Another namespace's uploads are not this one's.
        XCTAssertNil(store.partials.claim(store.rules.partName(identity: "bob", relativePath: "y"), size: 5000, now: 0,
                                          namespace: "bob"))
        XCTAssertNotNil(try stored(store, "z.bin", 0, quota: quota).receipt, "800 stored + 200 kept: 0 bytes still fit")
    }
}
