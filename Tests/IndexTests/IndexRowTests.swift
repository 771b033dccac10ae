// The index as the store uses it (intents journaled, rows in SQLite; in PostgreSQL for PostgresIndexRowTests) on real
// files: commits and deletes through their intents, usage kept by them, intents that outlive the process (what a crash
// leaves), and listings paged in byte order within a prefix.
import Foundation
import TestSupport
import XCTest

@testable import Index

class IndexRowTests: IndexTestCase {
    private func file(_ path: String, size: UInt64 = 10, in namespace: String = "alice", digestByte: UInt8 = 1,
                      uploader: String? = nil) -> IndexedFile {
        IndexedFile(namespace: namespace, path: path, size: size, sha256: [UInt8](repeating: digestByte, count: 32),
                    modified: 1_700_000_000_123_456_789, uploaded: 1_800_000_000_000_000_000, uploader: uploader ?? namespace)
    }

    private func commit(_ file: IndexedFile, in index: JournaledIndex) throws {
        try index.finishCommit(try index.beginCommit(file))
    }

    func testACommitIsPendingUntilFinishedThenItsRowAndUsageAreThere() throws {
        let index = try makeIndex()
        let stored = file("photos/a.jpg", size: 1234, uploader: "publisher")
        let intent = try index.beginCommit(stored)
        XCTAssertEqual(try index.pendingIntents(), [intent])
        XCTAssertNil(try index.file(namespace: "alice", path: "photos/a.jpg"), "not listed before the tree has it")
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage())
        try index.finishCommit(intent)
        XCTAssertEqual(try index.file(namespace: "alice", path: "photos/a.jpg"), stored)
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 1234, files: 1))
        XCTAssertEqual(try index.pendingIntents(), [])
        XCTAssertThrowsError(try index.finishCommit(intent), "an intent finishes once") {
            XCTAssertEqual(($0 as? IndexError)?.kind, .unknownIntent)
        }
    }

    func testReplacingAFileMovesTheBytesNotTheCount() throws {
        let index = try makeIndex()
        try commit(file("a", size: 100), in: index)
        try commit(file("b", size: 5), in: index)
        try commit(file("a", size: 40, digestByte: 2), in: index)
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 45, files: 2))
        XCTAssertEqual(try index.file(namespace: "alice", path: "a")?.sha256, [UInt8](repeating: 2, count: 32))
    }

    func testADeleteRemovesTheRowAndItsUsageAndOfANameNotIndexedNothing() throws {
        let index = try makeIndex()
        try commit(file("a", size: 100), in: index)
        try commit(file("b", size: 5), in: index)
        let removed = try index.finishDelete(try index.beginDelete(namespace: "alice", path: "a"))
        XCTAssertEqual(removed?.size, 100)
        XCTAssertNil(try index.file(namespace: "alice", path: "a"))
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 5, files: 1))
        XCTAssertNil(try index.finishDelete(try index.beginDelete(namespace: "alice", path: "never")))
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 5, files: 1))
        XCTAssertEqual(try index.pendingIntents(), [])
    }

    func testAnAbandonedIntentLeavesNothingAndCannotBeFinished() throws {
        let index = try makeIndex()
        let commit = try index.beginCommit(file("a"))
        let delete = try index.beginDelete(namespace: "alice", path: "b")
        try index.abandon(commit)
        try index.abandon(delete)
        XCTAssertEqual(try index.pendingIntents(), [])
        XCTAssertNil(try index.file(namespace: "alice", path: "a"))
        for attempt in [{ try index.finishCommit(commit) }, { _ = try index.finishDelete(delete) }, { try index.abandon(commit) }] {
            XCTAssertThrowsError(try attempt()) { XCTAssertEqual(($0 as? IndexError)?.kind, .unknownIntent) }
        }
        XCTAssertThrowsError(try index.finishDelete(Intent(id: commit.id + 100, kind: .delete, namespace: "alice",
                                                           path: "a", file: nil)))
    }

    /// What a crash leaves: intents begun by a process that is gone are there when the index is opened again, each
    /// with what start-up needs to finish it (a commit's whole row).
    func testPendingIntentsOutliveTheProcessThatBeganThem() throws {
        var first: JournaledIndex? = try makeIndex()
        let committing = file("deep/dir/c.bin", size: 77)
        _ = try first?.beginCommit(committing)
        _ = try first?.beginDelete(namespace: "bob", path: "old.txt")
        first = nil
        let reopened = try makeIndex()
        let pending = try reopened.pendingIntents()
        XCTAssertEqual(pending.map(\.kind), [.commit, .delete], "oldest first")
        XCTAssertEqual(pending.first?.file, committing)
        XCTAssertEqual(pending.last?.namespace, "bob")
        XCTAssertEqual(pending.last?.path, "old.txt")
        try reopened.finishCommit(pending[0])
        XCTAssertEqual(try reopened.file(namespace: "alice", path: "deep/dir/c.bin"), committing)
    }

    /// A prefix covers exactly the paths that start with it — "dir/" neither "dir0" nor "dirx" — in the byte order of
    /// their UTF-8, page by page from a cursor; namespaces never mix.
    func testListingsArePagedInByteOrderWithinTheirPrefix() throws {
        let index = try makeIndex()
        let inside = ["dir/a", "dir/B", "dir/sub/deeper/x", "dir/é", "dir/\u{10FFFF}z", "dir/z\u{10FFFF}", "dir/日本"]
        for path in inside + ["dir", "dir0", "dirx", "di", "other/a"] { try commit(file(path), in: index) }
        try commit(file("dir/bob's", in: "bob"), in: index)

        var pages: [[String]] = []
        var cursor: String?
        repeat {
            let page = try index.files(namespace: "alice", prefix: "dir/", after: cursor, limit: 3).map(\.path)
            pages.append(page)
            cursor = page.last
        } while pages.last?.count == 3
        let listed = pages.flatMap { $0 }
        XCTAssertEqual(listed, inside.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        XCTAssertEqual(pages.map(\.count), [3, 3, 1])
        XCTAssertEqual(try index.files(namespace: "alice", prefix: "", after: nil, limit: 100).count, inside.count + 5)
        XCTAssertEqual(try index.files(namespace: "bob", prefix: "", after: nil, limit: 100).map(\.path), ["dir/bob's"])
        XCTAssertEqual(try index.files(namespace: "alice", prefix: "dir/", after: nil, limit: 0), [])
    }

    func testThePrefixBoundIsTheLastScalarIncremented() {
        XCTAssertNil(PathRange.upperBound(ofPrefix: ""))
        XCTAssertEqual(PathRange.upperBound(ofPrefix: "dir/"), "dir0")
        XCTAssertEqual(PathRange.upperBound(ofPrefix: "a\u{D7FF}"), "a\u{E000}", "over the surrogates")
        XCTAssertEqual(PathRange.upperBound(ofPrefix: "x\u{10FFFF}"), "y")
        XCTAssertNil(PathRange.upperBound(ofPrefix: "\u{10FFFF}\u{10FFFF}"))
    }

    func testWhatTheIndexCannotHoldIsRefused() throws {
        let index = try makeIndex()
        XCTAssertThrowsError(try index.beginCommit(file("huge", size: UInt64(Int64.max) + 1))) {
            XCTAssertEqual(($0 as? IndexError)?.kind, .unrepresentable)
        }
        let short = IndexedFile(namespace: "alice", path: "x", size: 1, sha256: [1, 2, 3], modified: nil, uploaded: 0,
                                uploader: "alice")
        XCTAssertThrowsError(try index.beginCommit(short)) { XCTAssertEqual(($0 as? IndexError)?.kind, .unrepresentable) }
        XCTAssertEqual(try index.pendingIntents(), [])
    }

    func testAnIndexThatCannotBeOpenedSaysWhere() throws {
        XCTAssertThrowsError(try SQLiteIndex(path: "/nonexistent/dir/index.sqlite")) { error in
            XCTAssertEqual((error as? IndexError)?.kind, .unavailable)
            XCTAssertTrue("\(error)".contains("/nonexistent/dir/index.sqlite"), "\(error)")
        }
    }
}
