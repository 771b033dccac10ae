// A directory's children from the index (RowStore+Children): files directly in it and each subdirectory once, in the
// byte order of their keys, paged by cursor at every size — a subdirectory's subtree skipped whole — and 20,000
// children listed in pages of 1,000 (the time is printed, never asserted: the bench measures 100,000 end to end).
import Foundation
import TestSupport
import XCTest

@testable import Index

class IndexChildrenTests: IndexTestCase {
    private func commit(_ paths: [String], in index: JournaledIndex, namespace: String = "alice") throws {
        for path in paths {
            try index.finishCommit(try index.beginCommit(IndexedFile(
                namespace: namespace, path: path, size: 1, sha256: [UInt8](repeating: 1, count: 32), modified: nil,
                uploaded: 1, uploader: namespace)), waiting: false)
        }
    }

    private func listing(_ index: JournaledIndex, _ directory: String, pageSize: Int) throws -> [String] {
        var keys: [String] = []
        var cursor: String?
        while true {
            let page = try index.children(namespace: "alice", directory: directory, after: cursor, limit: pageSize)
            XCTAssertLessThanOrEqual(page.count, pageSize)
            keys += page.map(\.cursor)
            guard page.count == pageSize, let last = page.last else { return keys }
            cursor = last.cursor
        }
    }

    /// A cursor canonically equivalent to a key in the directory but with other bytes (decomposed, where the keys are
    /// composed) is not inside it: neither listing may start from its bytes, which lie outside the directory's range
    /// (a List with it reached files of the namespace that a grant on the directory does not cover).
    func testACursorInAnotherNormalFormNeverLeavesTheDirectory() throws {
        let index = try makeIndex()
        try commit(["\u{C9}ditions/a", "Fin/b", "Zeta/c"], in: index)
        let directory = "\u{C9}ditions/", decomposed = "E\u{301}ditions/"
        XCTAssertThrowsError(try index.children(namespace: "alice", directory: directory, after: decomposed, limit: 10))
        let files = try index.files(namespace: "alice", prefix: directory, after: decomposed, limit: 10)
        XCTAssertEqual(files.map(\.path), ["\u{C9}ditions/a"], "only the directory's files, from its own start")
    }

    func testFilesAndSubdirectoriesComeOnceInByteOrderAtEveryPageSize() throws {
        let index = try makeIndex()
        try commit(["a.txt", "a/x", "a/y/z", "a/y/w", "a-b", "b/c/d/e", "é", "z", "a0/q", "日本/語"], in: index)
        try commit(["top", "a/x"], in: index, namespace: "bob")
        let top = ["a-b", "a.txt", "a/", "a0/", "b/", "z", "é", "日本/"]
        for pageSize in 1...9 {
            XCTAssertEqual(try listing(index, "", pageSize: pageSize), top, "page size \(pageSize)")
        }
        XCTAssertEqual(try listing(index, "a/", pageSize: 1), ["a/x", "a/y/"])
        XCTAssertEqual(try listing(index, "a/y/", pageSize: 5), ["a/y/w", "a/y/z"])
        XCTAssertEqual(try listing(index, "b/", pageSize: 5), ["b/c/"])
        XCTAssertEqual(try listing(index, "nothing/", pageSize: 5), [])
        let first = try index.children(namespace: "alice", directory: "", after: nil, limit: 3)
        XCTAssertEqual(first.last, .directory("a"))
        XCTAssertEqual(first.first?.cursor, "a-b")
        if case .file(let file)? = first.first { XCTAssertEqual(file.namespace, "alice") } else { XCTFail("\(first)") }
    }

    func testABadDirectoryOrCursorIsRefused() throws {
        let index = try makeIndex()
        XCTAssertThrowsError(try index.children(namespace: "alice", directory: "a", after: nil, limit: 5)) {
            XCTAssertEqual(($0 as? IndexError)?.kind, .unrepresentable)
        }
        XCTAssertThrowsError(try index.children(namespace: "alice", directory: "a/", after: "b/x", limit: 5)) {
            XCTAssertEqual(($0 as? IndexError)?.kind, .unrepresentable)
        }
        XCTAssertEqual(try index.children(namespace: "alice", directory: "", after: nil, limit: 0), [])
    }

    /// A subdirectory with many files below it is one child, and the page after it starts past all of them.
    func testABigSubdirectoryIsOneChildAndIsSkippedWhole() throws {
        let index = try makeIndex()
        try commit((0..<3_000).map { "big/\($0 % 10)/f\($0)" } + ["aa", "big0", "c"], in: index)
        XCTAssertEqual(try listing(index, "", pageSize: 2), ["aa", "big/", "big0", "c"])
        XCTAssertEqual(try listing(index, "big/", pageSize: 4).count, 10)
    }

    func testTwentyThousandChildrenInPagesOfAThousand() throws {
        let index = try makeIndex()
        let count = 20_000
        try commit((0..<count).map { String(format: "f%06d", $0) }, in: index)
        try index.flush()
        let start = Date()
        let keys = try listing(index, "", pageSize: 1_000)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(keys.count, count)
        XCTAssertEqual(keys.first, "f000000")
        XCTAssertEqual(keys.last, String(format: "f%06d", count - 1))
        print("[index] \(count) children listed in pages of 1,000 in \(String(format: "%.2f", seconds)) s (debug build)")
    }
}
