// The store records its commits in the metadata index (docs/STORE.md): an intent before the name appears, the row
// after it is durable; a refused or failed commit leaves neither; and what a crash leaves pending is settled at the
// next open by what the tree holds.
import Foundation
import Index
import Protocol
import TestSupport
import XCTest

@testable import Store

final class IndexRecordingTests: StoreTestCase {
    private func digest(_ bytes: [UInt8]) -> [UInt8] { DigestContext.hash(.sha256, bytes) }

    func testACommittedUploadIsRecordedWithItsDigestAndNothingIsLeftPending() throws {
        let index = try makeIndex()
        let store = try makeStore(index: index)
        let content = Array("recorded".utf8)
        let run = try upload(store, "docs/a.txt", content)
        drive([run], on: executor)
        XCTAssertNotNil(run.receipt, "\(run.events)")
        let row = try XCTUnwrap(try index.file(namespace: "alice", path: "docs/a.txt"))
        XCTAssertEqual(row.size, UInt64(content.count))
        XCTAssertEqual(row.sha256, digest(content))
        XCTAssertEqual(row.uploader, "alice")
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: UInt64(content.count), files: 1))
        XCTAssertEqual(try index.pendingIntents(), [])
    }

    func testARefusedCommitLeavesNoRowAndNoIntent() throws {
        let index = try makeIndex()
        let store = try makeStore(index: index)
        drive([try upload(store, "a.txt", Array("first".utf8))], on: executor)
        let second = try upload(store, "a.txt", Array("other".utf8))
        drive([second], on: executor)
        XCTAssertEqual(second.failure?.failure.code, .exists)
        XCTAssertEqual(try index.file(namespace: "alice", path: "a.txt")?.sha256, digest(Array("first".utf8)))
        XCTAssertEqual(try index.usage(namespace: "alice").files, 1)
        XCTAssertEqual(try index.pendingIntents(), [])
    }

    /// An index that cannot record fails the upload before the name appears: never a stored file the index lacks.
    func testAnIndexThatCannotRecordFailsTheUploadBeforeTheNameAppears() throws {
        let store = try makeStore(index: UnwritableIndex())
        let run = try upload(store, "b.txt", Array("never".utf8))
        drive([run], on: executor)
        XCTAssertEqual(run.failure?.failure.code, .storageFailure, "\(run.events)")
        XCTAssertFalse(exists("alice/b.txt"))
        XCTAssertEqual(partFiles(), [])
    }

    /// What a crash between the steps of a commit or a delete leaves: intents the next open settles by the tree.
    func testPendingIntentsAreSettledByWhatTheTreeHoldsWhenTheStoreOpens() throws {
        let content = Array("on disk".utf8)
        do {
            let plain = try makeStore()
            drive([try upload(plain, "kept/x.bin", content), try upload(plain, "gone-from-index.bin", content)],
                  on: executor)
        }
        let index = try makeIndex()
        // The file is linked, its row never written (killed between the link and finishCommit): finished.
        let linked = try index.beginCommit(IndexedFile(namespace: "alice", path: "kept/x.bin", size: UInt64(content.count),
                                                       sha256: digest(content), modified: nil, uploaded: 1, uploader: "alice"))
        // Killed before the link: no file, the intent abandoned.
        let unlinked = try index.beginCommit(IndexedFile(namespace: "alice", path: "never/linked.bin", size: 3,
                                                         sha256: digest([1, 2, 3]), modified: nil, uploaded: 1, uploader: "alice"))
        // A file with other content under the name: not this commit's, abandoned.
        let other = try index.beginCommit(IndexedFile(namespace: "alice", path: "gone-from-index.bin", size: 7,
                                                      sha256: digest(Array("another".utf8)), modified: nil, uploaded: 1,
                                                      uploader: "alice"))
        // A delete whose unlink happened: finished; one whose file is still there: abandoned.
        try index.finishCommit(try index.beginCommit(IndexedFile(namespace: "alice", path: "deleted.bin", size: 1,
                                                                 sha256: digest([9]), modified: nil, uploaded: 1,
                                                                 uploader: "alice")))
        _ = try index.beginDelete(namespace: "alice", path: "deleted.bin")
        _ = try index.beginDelete(namespace: "alice", path: "kept/x.bin")
        XCTAssertEqual(try index.pendingIntents().count, 5)

        let store = try makeStore(index: index)
        XCTAssertEqual(store.replayedIntents, 5)
        XCTAssertEqual(try index.pendingIntents(), [], "every intent settled")
        XCTAssertEqual(try index.file(namespace: "alice", path: "kept/x.bin")?.sha256, digest(content))
        XCTAssertNil(try index.file(namespace: "alice", path: "never/linked.bin"))
        XCTAssertNil(try index.file(namespace: "alice", path: "gone-from-index.bin"))
        XCTAssertNil(try index.file(namespace: "alice", path: "deleted.bin"))
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: UInt64(content.count), files: 1))
        _ = [linked, unlinked, other]
    }
}

/// An index whose every write fails, as a full or broken disk would make it.
private final class UnwritableIndex: MetadataIndex {
    private func broken() -> IndexError { IndexError(.unavailable, "the index could not be written: disk I/O error") }
    func beginCommit(_ file: IndexedFile, durable: Bool) throws(IndexError) -> Intent { throw broken() }
    func finishCommit(_ intent: Intent, waiting: Bool) throws(IndexError) { throw broken() }
    func beginDelete(namespace: String, path: String, durable: Bool) throws(IndexError) -> Intent { throw broken() }
    func finishDelete(_ intent: Intent) throws(IndexError) -> IndexedFile? { throw broken() }
    func abandon(_ intent: Intent) throws(IndexError) { throw broken() }
    func pendingIntents() throws(IndexError) -> [Intent] { [] }
    func flush() throws(IndexError) {}
    func file(namespace: String, path: String) throws(IndexError) -> IndexedFile? { nil }
    func files(namespace: String, prefix: String, after cursor: String?, limit: Int) throws(IndexError) -> [IndexedFile] { [] }
    func usage(namespace: String) throws(IndexError) -> Usage { Usage() }
    func usage(namespace: String, prefix: String) throws(IndexError) -> Usage { Usage() }
    func totalUsage() throws(IndexError) -> Usage { Usage() }
    func children(namespace: String, directory: String, after cursor: String?, limit: Int) throws(IndexError)
        -> [IndexChild] { [] }
    func namespaces() throws(IndexError) -> [String] { [] }
    func replaceNamespace(_ namespace: String, with files: [IndexedFile]) throws(IndexError) { throw broken() }
}
