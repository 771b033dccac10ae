// A List answered from a real index (IndexLookup over SQLite and the intent journal), page after page as a client
// asks: every entry exactly once and in order, whatever the limit, at the edges of the index's read batches (256) and
// of a page's bytes (one message), the last page saying it is the last even when it is full; recursive and not; a
// row the wire cannot carry and a directory with nothing stored answered as errors, not as pages.
import Foundation
import Index
import Protocol
import Store
import TestSupport
import XCTest

final class IndexLookupTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(label: "lookup") }
    override func tearDown() { directory.remove() }

    private func makeIndex(_ paths: [String], digest: [UInt8] = [UInt8](repeating: 1, count: 32)) throws -> JournaledIndex {
        let journal = directory.path + "/journal"
        try FileManager.default.createDirectory(atPath: journal, withIntermediateDirectories: true)
        let index = try JournaledIndex(rows: try SQLiteIndex(path: directory.path + "/index.sqlite"), journalDirectory: journal)
        for path in paths {
            try index.finishCommit(try index.beginCommit(IndexedFile(namespace: "alice", path: path, size: 1, sha256: digest,
                                                                     modified: nil, uploaded: 1, uploader: "alice")), waiting: false)
        }
        return index
    }

    /// Every page of `directory`'s listing at `limit`, as a client asks for them; the keys, and the pages' sizes.
    private func listing(_ index: JournaledIndex, _ directory: String, recursive: Bool = false, limit: Int)
        throws -> (keys: [String], pages: [Int]) {
        var keys: [String] = [], pages: [Int] = []
        var request = ListRequest(directory: directory, recursive: recursive, limit: limit)
        for _ in 0..<10_000 {
            let outcome = IndexLookup(request: .list(request), namespace: "alice", index: index).answer()
            guard case .list(let page) = outcome.answer else {
                XCTFail("not a page: \(outcome.answer)")
                return (keys, pages)
            }
            XCTAssertLessThanOrEqual(page.entries.count, limit)
            keys += page.entries.map(\.key)
            pages.append(page.entries.count)
            guard !page.nextCursor.isEmpty else { return (keys, pages) }
            XCTAssertEqual(page.nextCursor, page.entries.last?.key)
            request.cursor = page.nextCursor
        }
        XCTFail("the listing never ended")
        return (keys, pages)
    }

    func testEveryEntryComesOnceAtTheEdgesOfBatchesAndLimits() throws {
        for count in [0, 1, 255, 256, 257, 513, 1000, 1001, 2049] {
            try? FileManager.default.removeItem(atPath: directory.path)
            try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
            let names = (0..<count).map { String(format: "d/f%05d", $0) }
            let index = try makeIndex(names + ["d/sub/x", "e"])
            let expected = (names + ["d/sub/"]).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for limit in [1, 255, 256, 257, 1000] where limit <= max(count, 1) * 2 {
                let (keys, pages) = try listing(index, "d/", limit: limit)
                XCTAssertEqual(keys, expected, "\(count) entries, limit \(limit)")
                XCTAssertFalse(pages.dropLast().contains(0), "an empty page before the last (\(count), \(limit))")
                if expected.count % limit == 0, !expected.isEmpty {
                    XCTAssertEqual(pages.last, limit, "a full last page says it is the last (\(count), \(limit))")
                }
            }
            let recursive = try listing(index, "", recursive: true, limit: 1000).keys
            XCTAssertEqual(recursive, (names + ["d/sub/x", "e"]).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        }
    }

    func testLongNamesCutAPageAtOneMessage() throws {
        let long = String(repeating: "n", count: 3000)
        let names = (0..<100).map { "\(long)\(1000 + $0)" }
        let index = try makeIndex(names)
        let (keys, pages) = try listing(index, "", limit: 1000)
        XCTAssertEqual(keys, names)
        XCTAssertGreaterThan(pages.count, 1, "a hundred 3 KB names are more than one message")
        XCTAssertTrue(pages.allSatisfy { $0 < 30 }, "\(pages)")
    }

    func testWhatCannotBeListedIsAnError() throws {
        let index = try makeIndex(["a/b", "file"])
        for (directory, words) in [("nothing/", "is not stored"), ("file/", "is a file")] {
            let outcome = IndexLookup(request: .list(ListRequest(directory: directory)), namespace: "alice", index: index).answer()
            guard case .failed(let failure) = outcome.answer else { XCTFail("\(directory): \(outcome.answer)"); continue }
            XCTAssertEqual(failure.code, .notFound)
            XCTAssertTrue(failure.message.contains(words), failure.message)
        }
        // An empty namespace lists as empty; a stat of its top is a directory of nothing.
        let empty = IndexLookup(request: .list(ListRequest(directory: "")), namespace: "bob", index: index).answer()
        XCTAssertEqual(empty.answer, .list(ListPage(entries: [], nextCursor: "")))
        let top = IndexLookup(request: .stat(StatRequest(path: "")), namespace: "bob", index: index).answer()
        XCTAssertEqual(top.answer, .stat(.directory(path: "", files: 0, bytes: 0)))
    }

    func testARowTheWireCannotCarryIsAStorageFailureForTheOperator() throws {
        let index = try makeIndex(["ok"])
        let outcome = IndexLookup(request: .list(ListRequest(directory: "")), namespace: "alice",
                                  index: UploaderTooLong(wrapping: index)).answer()
        guard case .failed(let failure) = outcome.answer else { return XCTFail("\(outcome.answer)") }
        XCTAssertEqual(failure.code, .storageFailure)
        XCTAssertTrue(outcome.detail?.contains("ferryd reindex") == true, outcome.detail ?? "")
    }
}

/// An index whose rows name an uploader longer than any identity (a hand-edited database).
private final class UploaderTooLong: MetadataIndex, @unchecked Sendable {
    let inner: JournaledIndex
    init(wrapping inner: JournaledIndex) { self.inner = inner }
    private func spoil(_ file: IndexedFile) -> IndexedFile {
        IndexedFile(namespace: file.namespace, path: file.path, size: file.size, sha256: file.sha256, modified: file.modified,
                    uploaded: file.uploaded, uploader: String(repeating: "u", count: 300))
    }
    func beginCommit(_ file: IndexedFile, durable: Bool) throws(IndexError) -> Intent { try inner.beginCommit(file, durable: durable) }
    func finishCommit(_ intent: Intent, waiting: Bool) throws(IndexError) { try inner.finishCommit(intent, waiting: waiting) }
    func beginDelete(namespace: String, path: String, durable: Bool) throws(IndexError) -> Intent {
        try inner.beginDelete(namespace: namespace, path: path, durable: durable)
    }
    func finishDelete(_ intent: Intent) throws(IndexError) -> IndexedFile? { try inner.finishDelete(intent) }
    func abandon(_ intent: Intent) throws(IndexError) { try inner.abandon(intent) }
    func pendingIntents() throws(IndexError) -> [Intent] { try inner.pendingIntents() }
    func flush() throws(IndexError) { try inner.flush() }
    func file(namespace: String, path: String) throws(IndexError) -> IndexedFile? {
        try inner.file(namespace: namespace, path: path).map(spoil)
    }
    func files(namespace: String, prefix: String, after cursor: String?, limit: Int) throws(IndexError) -> [IndexedFile] {
        try inner.files(namespace: namespace, prefix: prefix, after: cursor, limit: limit).map(spoil)
    }
    func usage(namespace: String) throws(IndexError) -> Usage { try inner.usage(namespace: namespace) }
    func usage(namespace: String, prefix: String) throws(IndexError) -> Usage { try inner.usage(namespace: namespace, prefix: prefix) }
    func children(namespace: String, directory: String, after cursor: String?, limit: Int) throws(IndexError) -> [IndexChild] {
        try inner.children(namespace: namespace, directory: directory, after: cursor, limit: limit).map { child in
            if case .file(let file) = child { .file(spoil(file)) } else { child }
        }
    }
    func totalUsage() throws(IndexError) -> Usage { try inner.totalUsage() }
    func namespaces() throws(IndexError) -> [String] { try inner.namespaces() }
    func replaceNamespace(_ namespace: String, with files: [IndexedFile]) throws(IndexError) {
        try inner.replaceNamespace(namespace, with: files)
    }
}
