// A repeated upload of a stored file (PROTOCOL.md §8.7, StoredDigest): Open with the file's SHA-256 is answered from the
// digest recorded at commit, with nothing received; other content, or a file that changed on the server since, is
// `exists` saying what to do; a file with no record is hashed when small and never when large.
import Foundation
import Platform
import Protocol
@testable import Store
import TestSupport
import XCTest

final class AlreadyStoredTests: StoreTestCase {
    private func stored(_ store: Store, _ relativePath: String, _ content: [UInt8]) throws {
        let run = try upload(store, relativePath, content)
        drive([run], on: executor)
        XCTAssertNotNil(run.receipt, "\(String(describing: run.failure))")
    }

    private func reopen(_ store: Store, _ relativePath: String, _ content: [UInt8]) throws -> UploadRun {
        let run = try upload(store, relativePath, content, expectedDigest: DigestContext.hash(.sha256, content))
        drive([run], on: executor)
        return run
    }

    func testTheSameFileAgainIsAlreadyStoredFromTheRecordedDigest() throws {
        let store = try makeStore()
        let content = pattern(300_000, seed: 5)
        try stored(store, "a/f.bin", content)
        let again = try reopen(store, "a/f.bin", content)
        let digest = DigestContext.hash(.sha256, content)
        XCTAssertEqual(again.milestones, [.alreadyStored(UploadReceipt(storedName: "a/f.bin", size: 300_000, digest: digest))])
        XCTAssertEqual(again.sent, 0, "nothing was taken")
        XCTAssertEqual(contents("alice/a/f.bin"), content)
        assertNothingHeld(store)
    }

    func testOtherContentIsExistsWithWhatToDo() throws {
        let store = try makeStore()
        try stored(store, "f.bin", pattern(300_000, seed: 1))
        for other in [pattern(300_000, seed: 2), pattern(299_999, seed: 1)] {
            let run = try reopen(store, "f.bin", other)
            XCTAssertEqual(run.failure?.failure.code, .exists)
            XCTAssertTrue(run.failure?.failure.message.contains("with other content: use --overwrite") == true,
                          run.failure?.failure.message ?? "")
        }
        // Without a digest the answer is plain `exists` (the client then asks again with one).
        let plain = try upload(store, "f.bin", pattern(300_000, seed: 1))
        drive([plain], on: executor)
        XCTAssertEqual(plain.failure?.failure.message, "'f.bin' already exists")
        assertNothingHeld(store)
    }

    /// A stored file changed in place on the server: its record no longer matches (the mtime moved), so it is hashed
    /// again (small) and the new content decides.
    func testAFileChangedOnTheServerIsNotTakenForTheRecordedOne() throws {
        let store = try makeStore()
        let content = pattern(100_000, seed: 1)
        try stored(store, "f.bin", content)
        var changed = content
        changed[10] ^= 0xFF
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path("alice/f.bin")))
        try handle.seek(toOffset: 10)
        try handle.write(contentsOf: Data([changed[10]]))
        try handle.close()
        let modified = Date(timeIntervalSinceNow: 5)
        try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path("alice/f.bin"))
        XCTAssertEqual(try reopen(store, "f.bin", content).failure?.failure.code, .exists)
        XCTAssertEqual(try reopen(store, "f.bin", changed).milestones.first.map { if case .alreadyStored = $0 { true } else { false } }, true)
    }

    /// Files stored with no record (before ferryd recorded digests): a small one is hashed once to answer (and
    /// recorded); a large one is never read to answer, and the message says so.
    func testAFileWithNoRecordIsHashedOnlyWhenSmall() throws {
        let store = try makeStore()
        try makeDirectories("alice")
        let small = pattern(50_000, seed: 3)
        try writeFile(path("alice/small.bin"), small)
        let answered = try reopen(store, "small.bin", small)
        XCTAssertEqual(answered.milestones.count, 1)
        XCTAssertTrue(answered.milestones.first.map { if case .alreadyStored = $0 { true } else { false } } ?? false)
        let large = path("alice/large.bin")
        XCTAssertTrue(FileManager.default.createFile(atPath: large, contents: nil))
        XCTAssertEqual(truncate(large, off_t(StoredDigest.rehashLimit + 1)), 0)
        let run = try upload(store, "large.bin", [], expectedDigest: [UInt8](repeating: 0, count: 32))
        drive([run], on: executor)
        XCTAssertEqual(run.failure?.failure.code, .exists)
        XCTAssertTrue(run.failure?.failure.message.contains("cannot tell whether it is the same file") == true,
                      run.failure?.failure.message ?? "")
        assertNothingHeld(store)
    }
}
