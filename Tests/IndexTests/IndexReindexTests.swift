// What `ferryd reindex` asks of the index (SQLite; PostgreSQL for PostgresIndexReindexTests): the namespaces it knows,
// and one namespace's rows replaced whole, usage recomputed, others untouched, in one transaction.
import Foundation
import TestSupport
import XCTest

@testable import Index

class IndexReindexTests: IndexTestCase {
    private func file(_ path: String, size: UInt64, in namespace: String) -> IndexedFile {
        IndexedFile(namespace: namespace, path: path, size: size, sha256: [UInt8](repeating: 7, count: 32), modified: nil,
                    uploaded: 1, uploader: namespace)
    }

    func testReplacingANamespaceLeavesExactlyItsNewRowsAndTheirUsage() throws {
        let index = try makeIndex()
        for (namespace, path) in [("alice", "a"), ("alice", "b"), ("bob", "x")] {
            try index.finishCommit(try index.beginCommit(file(path, size: 10, in: namespace)))
        }
        XCTAssertEqual(try index.namespaces(), ["alice", "bob"])
        let wanted = [file("b", size: 5, in: "alice"), file("c/d", size: 7, in: "alice")]
        try index.replaceNamespace("alice", with: wanted)
        XCTAssertEqual(try index.files(namespace: "alice", prefix: "", after: nil, limit: 10), wanted)
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 12, files: 2))
        XCTAssertEqual(try index.usage(namespace: "bob"), Usage(bytes: 10, files: 1), "another namespace untouched")

        try index.replaceNamespace("bob", with: [])
        XCTAssertEqual(try index.files(namespace: "bob", prefix: "", after: nil, limit: 10), [])
        XCTAssertEqual(try index.usage(namespace: "bob"), Usage())
        XCTAssertEqual(try index.namespaces(), ["alice"], "an emptied namespace is no longer known")
    }

    func testARowOfAnotherNamespaceOrABadDigestChangesNothing() throws {
        let index = try makeIndex()
        try index.finishCommit(try index.beginCommit(file("a", size: 10, in: "alice")))
        XCTAssertThrowsError(try index.replaceNamespace("alice", with: [file("x", size: 1, in: "bob")])) {
            XCTAssertEqual(($0 as? IndexError)?.kind, .unrepresentable)
        }
        let short = IndexedFile(namespace: "alice", path: "s", size: 1, sha256: [1, 2], modified: nil, uploaded: 1,
                                uploader: "alice")
        XCTAssertThrowsError(try index.replaceNamespace("alice", with: [short]))
        // Two rows of one path: the transaction fails as a whole.
        XCTAssertThrowsError(try index.replaceNamespace("alice", with: [file("d", size: 1, in: "alice"),
                                                                         file("d", size: 2, in: "alice")]))
        XCTAssertEqual(try index.files(namespace: "alice", prefix: "", after: nil, limit: 10).map(\.path), ["a"])
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 10, files: 1))
    }
}
