// `ferryd reindex`'s work (Store/Reindex.swift): the index compared with the tree and made equal to it — a lost index
// rebuilt from the files and their digest records, a stale one corrected while the rows of unchanged files keep what
// only the index knew, whatever is not a file a client could have stored left out and said, and a check that changes
// nothing, pending intents included.
import Foundation
import Index
import Protocol
import TestSupport
import XCTest

@testable import Store

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

final class ReindexTests: StoreTestCase {
    private func digest(_ bytes: [UInt8]) -> [UInt8] { DigestContext.hash(.sha256, bytes) }

    private func rows(_ index: JournaledIndex, _ namespace: String = "alice") throws -> [String: IndexedFile] {
        Dictionary(uniqueKeysWithValues: try index.files(namespace: namespace, prefix: "", after: nil, limit: 1000)
            .map { ($0.path, $0) })
    }

    func testALostIndexIsRebuiltFromTheTreeAndWhatIsNoStoredFileIsLeftOut() throws {
        let uploaded = ["a.txt": Array("alpha".utf8), "dir/b.bin": [UInt8](repeating: 3, count: 70_000)]
        do {
            let plain = try makeStore()
            drive(try uploaded.map { try upload(plain, $0.key, $0.value) }, on: executor)
        }
        let byHand = Array("written by hand, no digest record".utf8)
        try writeFile(path("alice/dir/hand.txt"), byHand)
        try makeDirectories("bob")
        try writeFile(path("bob/one"), [1])
        try symlink("alice/link", to: outsidePath)
        XCTAssertEqual(mkfifo(path("alice/fifo"), 0o600), 0)
        try writeFile(path("alice/bad\u{7}name"), [0])
        try makeDirectories(".other-daemon-dir")
        try writeFile(path("loose-file"), [0])

        let index = try makeIndex()
        let store = try makeStore(index: index)
        let check = try store.reindex(apply: false)
        XCTAssertEqual(check.namespaces, 2)
        XCTAssertEqual(check.files, 4)
        XCTAssertEqual(check.added.sorted(), ["alice/a.txt", "alice/dir/b.bin", "alice/dir/hand.txt", "bob/one"])
        XCTAssertEqual(check.hashed, 2, "only the files without a record are read")
        XCTAssertTrue(check.differs)
        XCTAssertEqual(check.skipped.count, 4, "\(check.skipped)")
        for fragment in ["alice/link: a symbolic link", "alice/fifo: not a regular file", "not a name a client could",
                         "loose-file: not a directory"] {
            XCTAssertTrue(check.skipped.contains { $0.contains(fragment) }, "\(fragment) in \(check.skipped)")
        }
        XCTAssertEqual(try index.namespaces(), [], "a check writes nothing")

        let applied = try store.reindex(apply: true)
        XCTAssertEqual(applied.added.count, 4)
        let alice = try rows(index)
        XCTAssertEqual(Set(alice.keys), ["a.txt", "dir/b.bin", "dir/hand.txt"])
        XCTAssertEqual(alice["dir/hand.txt"]?.sha256, digest(byHand))
        XCTAssertEqual(alice["dir/b.bin"]?.size, 70_000)
        XCTAssertEqual(alice["a.txt"]?.uploader, "alice")
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 5 + 70_000 + UInt64(byHand.count), files: 3))
        XCTAssertEqual(try index.usage(namespace: "bob"), Usage(bytes: 1, files: 1))

        let again = try store.reindex(apply: false)
        XCTAssertFalse(again.differs, "\(again)")
        XCTAssertEqual(again.hashed, 0, "the rebuild recorded the digests it computed")
    }

    func testAStaleIndexIsCorrectedAndUnchangedRowsKeepWhatOnlyTheIndexKnew() throws {
        let index = try makeIndex()
        var before: [String: IndexedFile] = [:]
        do {
            let store = try makeStore(index: index)
            drive(try ["same.txt", "changed.txt", "gone.txt"].map { try upload(store, $0, Array($0.utf8)) }
                + [try upload(store, "left.txt", [4], identity: "carol")], on: executor)
            before = try rows(index)
        }
        XCTAssertEqual(before.count, 3)
        XCTAssertEqual(unlink(path("alice/gone.txt")), 0)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path("alice/changed.txt")))
        handle.seekToEndOfFile()
        handle.write(Data("+more".utf8))
        try handle.close()
        try writeFile(path("alice/new.txt"), [9, 9])
        try FileManager.default.removeItem(atPath: path("carol"))

        let store = try makeStore(index: index)
        let report = try store.reindex(apply: true)
        XCTAssertEqual(report.added, ["alice/new.txt"])
        XCTAssertEqual(report.updated, ["alice/changed.txt"])
        XCTAssertEqual(report.removed, ["alice/gone.txt", "carol/left.txt"])
        let after = try rows(index)
        XCTAssertEqual(after["same.txt"], before["same.txt"], "an unchanged file's row is kept as it was")
        XCTAssertEqual(after["changed.txt"]?.sha256, digest(Array("changed.txt+more".utf8)))
        XCTAssertNil(after["gone.txt"])
        XCTAssertEqual(try index.usage(namespace: "carol"), Usage())
        XCTAssertEqual(try index.namespaces(), ["alice"])
        XCTAssertFalse(try store.reindex(apply: false).differs)
    }

    /// `ferryd reindex --check` opens the store without settling intents: it reports them, and a rebuild refuses to
    /// run over them (ferryd settles them when it starts).
    func testACheckReportsPendingIntentsAndARebuildRefusesThem() throws {
        let index = try makeIndex()
        _ = try index.beginCommit(IndexedFile(namespace: "alice", path: "half.bin", size: 1, sha256: digest([1]),
                                              modified: nil, uploaded: 1, uploader: "alice"))
        let store = try Store(rootPath: rootPath, staging: Self.staging, index: index, settlingIntents: false)
        XCTAssertEqual(store.replayedIntents, 0)
        let report = try store.reindex(apply: false)
        XCTAssertEqual(report.pending, ["commit alice/half.bin"])
        XCTAssertTrue(report.differs)
        XCTAssertThrowsError(try store.reindex(apply: true)) {
            XCTAssertTrue("\($0)".contains("1 change(s) pending"), "\($0)")
        }
        XCTAssertEqual(try index.pendingIntents().count, 1, "nothing settled")
    }

    func testWithoutAnIndexThereIsNothingToRebuild() throws {
        XCTAssertThrowsError(try makeStore().reindex(apply: true)) {
            XCTAssertTrue("\($0)".contains("no metadata index is kept"), "\($0)")
        }
    }
}
