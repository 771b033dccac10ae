// Delete and Rename below the root (Store+Delete.swift, Store+Rename.swift; PROTOCOL.md §14.8, §14.9): the tree and
// the index change together and nothing is left pending; the directories a removal empties go, never one a live
// upload holds or one still holding a file; a name an upload is writing is `busy`; a link in the way is refused.
import Foundation
import Index
import Platform
import Protocol
import TestSupport
import XCTest

@testable import Store

final class TreeChangeTests: StoreTestCase {
    private func store(_ files: [String: [UInt8]]) throws -> (Store, JournaledIndex) {
        let index = try makeIndex()
        let store = try makeStore(index: index)
        let runs = try files.keys.sorted().map { try upload(store, $0, files[$0]!) }
        drive(runs, on: executor)
        XCTAssertTrue(runs.allSatisfy { $0.receipt != nil }, "\(runs.map(\.events))")
        return (store, index)
    }

    private func change(_ store: Store, _ index: JournaledIndex, _ request: StoreRequest, durable: Bool = true) -> StoreAnswer {
        StoreChange(request: request, namespace: "alice", store: store, index: index, durable: durable).answer().answer
    }

    private func failureCode(_ answer: StoreAnswer) -> UploadErrorCode? {
        if case .failed(let failure) = answer { failure.code } else { nil }
    }

    // MARK: Delete

    func testDeletingAFileRemovesItsNameItsRowAndTheDirectoriesItLeftEmpty() throws {
        let (store, index) = try store(["a/b/c/one.bin": pattern(700), "a/two.bin": pattern(300)])
        let answer = change(store, index, .delete(DeleteRequest(path: "a/b/c/one.bin")))
        XCTAssertEqual(answer, .deleted(DeleteOutcome(files: 1, bytes: 700)))
        XCTAssertFalse(exists("alice/a/b"), "a/b/c and a/b held nothing else")
        XCTAssertEqual(contents("alice/a/two.bin"), pattern(300), "the sibling and its directory stay")
        XCTAssertNil(try index.file(namespace: "alice", path: "a/b/c/one.bin"))
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 300, files: 1))
        XCTAssertEqual(try index.pendingIntents(), [])
        XCTAssertEqual(change(store, index, .delete(DeleteRequest(path: "a/two.bin"))), .deleted(DeleteOutcome(files: 1, bytes: 300)))
        XCTAssertFalse(exists("alice/a"))
        XCTAssertEqual(lstatKind(path("alice")), .directory, "the identity's own directory is never removed")
        assertNothingHeld(store)
    }

    func testADirectoryNeedsRecursiveAndGoesABatchAtATime() throws {
        var files: [String: [UInt8]] = ["keep/k.bin": pattern(5)]
        for index in 0..<7 { files["d/\(index % 3)/f\(index).bin"] = pattern(10 + index) }
        let (store, index) = try store(files)
        XCTAssertEqual(failureCode(change(store, index, .delete(DeleteRequest(path: "d")))), .badPath)
        XCTAssertEqual(try index.usage(namespace: "alice").files, 8, "nothing deleted without recursive")
        var answers: [DeleteOutcome] = []
        while answers.last?.more ?? true {
            guard case .deleted(let outcome) = try store.delete(DeleteRequest(path: "d", recursive: true), namespace: "alice",
                                                                 index: index, durable: false, batch: 3).answer else {
                return XCTFail("a batch failed")
            }
            answers.append(outcome)
        }
        XCTAssertEqual(answers.map(\.files), [3, 3, 1])
        XCTAssertEqual(answers.map(\.more), [true, true, false])
        XCTAssertEqual(answers.reduce(0) { $0 + $1.bytes }, UInt64((0..<7).map { 10 + $0 }.reduce(0, +)))
        XCTAssertFalse(exists("alice/d"), "every directory the files left empty went")
        XCTAssertEqual(contents("alice/keep/k.bin"), pattern(5))
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 5, files: 1))
        XCTAssertEqual(failureCode(change(store, index, .delete(DeleteRequest(path: "d", recursive: true)))), .notFound)
        XCTAssertEqual(try index.pendingIntents(), [])
        assertNothingHeld(store)
    }

    /// An upload of the name holds it (PartialIndex): the delete waits for nothing and changes nothing; in a batch the
    /// other files go and the answer says more remain.
    func testANameAnUploadIsWritingIsBusy() throws {
        let (store, index) = try store(["x/a.bin": pattern(10), "x/b.bin": pattern(20)])
        let name = store.rules.partName(identity: "alice", relativePath: "x/a.bin")
        XCTAssertNil(store.partials.claim(name, size: 10, now: 0))
        XCTAssertEqual(failureCode(change(store, index, .delete(DeleteRequest(path: "x/a.bin")))), .busy)
        XCTAssertEqual(failureCode(change(store, index, .rename(RenameRequest(from: "x/b.bin", to: "x/a.bin", overwrite: true)))),
                       .busy)
        XCTAssertEqual(change(store, index, .delete(DeleteRequest(path: "x", recursive: true))),
                       .deleted(DeleteOutcome(files: 1, bytes: 20, more: true)))
        XCTAssertEqual(failureCode(change(store, index, .delete(DeleteRequest(path: "x", recursive: true)))), .busy)
        XCTAssertEqual(contents("alice/x/a.bin"), pattern(10))
        store.partials.release(name, kept: nil, now: 0)
        XCTAssertEqual(change(store, index, .delete(DeleteRequest(path: "x", recursive: true))),
                       .deleted(DeleteOutcome(files: 1, bytes: 10)))
        XCTAssertFalse(exists("alice/x"))
        XCTAssertNil(store.partials.entry(name), "the hold gave back what was there: nothing")
    }

    /// A kept partial of the name (an interrupted upload) stays kept for its resume.
    func testAKeptPartialOfTheNameStaysKept() throws {
        let (store, index) = try store(["p.bin": pattern(10)])
        let name = store.rules.partName(identity: "alice", relativePath: "p.bin")
        store.partials.register(name, size: 100, offset: 40, updated: 7)
        XCTAssertEqual(change(store, index, .delete(DeleteRequest(path: "p.bin"))), .deleted(DeleteOutcome(files: 1, bytes: 10)))
        XCTAssertEqual(store.partials.entry(name), PartialIndex.Entry(size: 100, offset: 40, active: false, updated: 7))
    }

    /// A directory a live upload holds (its file goes there) stays when its last stored file is deleted.
    func testADirectoryALiveUploadHoldsIsKept() throws {
        let (store, index) = try store(["busy/dir/old.bin": pattern(10)])
        let held = try HeldDirectory.reach(["alice", "busy", "dir"], below: store.root, claims: store.claims, useOpenat2: true)
        XCTAssertEqual(change(store, index, .delete(DeleteRequest(path: "busy/dir/old.bin"))),
                       .deleted(DeleteOutcome(files: 1, bytes: 10)))
        XCTAssertEqual(lstatKind(path("alice/busy/dir")), .directory)
        held.release(claims: store.claims, committed: true)
        XCTAssertEqual(store.heldDirectories, 0)
    }

    func testALinkInTheWayIsRefusedAndNothingOutsideIsTouched() throws {
        let (store, index) = try store(["l/in.bin": pattern(10)])
        let target = outsidePath + "/target"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try writeFile(target + "/in.bin", pattern(3))
        XCTAssertEqual(rename(path("alice/l"), path("alice/l-moved")), 0)
        try symlink("alice/l", to: target)
        XCTAssertEqual(failureCode(change(store, index, .delete(DeleteRequest(path: "l/in.bin")))), .permissionDenied)
        XCTAssertEqual(failureCode(change(store, index, .rename(RenameRequest(from: "l/in.bin", to: "m.bin")))), .permissionDenied)
        XCTAssertEqual([UInt8](FileManager.default.contents(atPath: target + "/in.bin") ?? Data()), pattern(3))
        XCTAssertEqual(try index.pendingIntents(), [])
        XCTAssertNotNil(try index.file(namespace: "alice", path: "l/in.bin"), "a refused delete keeps the row")
        assertNothingHeld(store)
    }

    /// A row whose file is already gone (removed behind the daemon's back) is deleted all the same: the index follows.
    func testAFileAlreadyGoneIsDeletedFromTheIndex() throws {
        let (store, index) = try store(["g/one.bin": pattern(10)])
        XCTAssertEqual(unlink(path("alice/g/one.bin")), 0)
        XCTAssertEqual(change(store, index, .delete(DeleteRequest(path: "g/one.bin"))), .deleted(DeleteOutcome(files: 1, bytes: 10)))
        XCTAssertNil(try index.file(namespace: "alice", path: "g/one.bin"))
        XCTAssertFalse(exists("alice/g"))
    }

    /// A delete's intent that a crash left while the tree cannot be read on the way (here a link put where a directory
    /// was): settling neither finishes nor abandons it — the row stays, the intent waits — until the tree can be read.
    func testAnIntentStaysPendingWhileTheTreeCannotBeRead() throws {
        let (store, index) = try store(["u/f.bin": pattern(10)])
        let intent = try index.beginDelete(namespace: "alice", path: "u/f.bin")
        XCTAssertEqual(rename(path("alice/u"), path("alice/u-away")), 0)
        try symlink("alice/u", to: path("alice/u-away"))
        try store.settle(intent, in: index)
        XCTAssertEqual(try index.pendingIntents(), [intent], "a link on the way says nothing about the file")
        XCTAssertNotNil(try index.file(namespace: "alice", path: "u/f.bin"))
        XCTAssertEqual(unlink(path("alice/u")), 0)
        XCTAssertEqual(rename(path("alice/u-away"), path("alice/u")), 0)
        try store.settle(intent, in: index)
        XCTAssertEqual(try index.pendingIntents(), [], "the file is there: the delete is abandoned")
        XCTAssertNotNil(try index.file(namespace: "alice", path: "u/f.bin"))
    }

    // MARK: Rename

    func testARenamedFileKeepsItsBytesDigestAndRowFields() throws {
        let (store, index) = try store(["from/deep/a.bin": pattern(4096)])
        let before = try XCTUnwrap(try index.file(namespace: "alice", path: "from/deep/a.bin"))
        let answer = change(store, index, .rename(RenameRequest(from: "from/deep/a.bin", to: "to/new/b.bin")))
        guard case .stat(.file(let entry)) = answer else { return XCTFail("\(answer)") }
        XCTAssertEqual(entry.path, "to/new/b.bin")
        XCTAssertEqual(entry.sha256, before.sha256)
        XCTAssertEqual(contents("alice/to/new/b.bin"), pattern(4096))
        XCTAssertFalse(exists("alice/from"), "the old directories, left empty, went")
        let after = try XCTUnwrap(try index.file(namespace: "alice", path: "to/new/b.bin"))
        XCTAssertEqual([after.size, UInt64(bitPattern: after.uploaded)], [before.size, UInt64(bitPattern: before.uploaded)])
        XCTAssertEqual(after.uploader, before.uploader)
        XCTAssertEqual(after.modified, before.modified)
        XCTAssertNil(try index.file(namespace: "alice", path: "from/deep/a.bin"))
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 4096, files: 1))
        let directory = try DirectoryCalls.openDirectory(path: path("alice/to/new"))
        defer { DirectoryCalls.close(directory) }
        XCTAssertEqual(StoredDigest.of("b.bin", in: directory)?.digest, before.sha256, "the digest record travelled with the inode")
        XCTAssertEqual(try index.pendingIntents(), [])
        assertNothingHeld(store)
    }

    func testAnExistingNameIsKeptUnlessOverwriting() throws {
        let (store, index) = try store(["a.bin": pattern(10, seed: 1), "b.bin": pattern(20, seed: 2)])
        XCTAssertEqual(failureCode(change(store, index, .rename(RenameRequest(from: "a.bin", to: "b.bin")))), .exists)
        XCTAssertEqual(contents("alice/a.bin"), pattern(10, seed: 1))
        XCTAssertEqual(contents("alice/b.bin"), pattern(20, seed: 2))
        guard case .stat(.file) = change(store, index, .rename(RenameRequest(from: "a.bin", to: "b.bin", overwrite: true))) else {
            return XCTFail("overwrite refused")
        }
        XCTAssertFalse(exists("alice/a.bin"))
        XCTAssertEqual(contents("alice/b.bin"), pattern(10, seed: 1))
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 10, files: 1))
        XCTAssertEqual(try index.file(namespace: "alice", path: "b.bin")?.size, 10)
        XCTAssertEqual(try index.pendingIntents(), [])
    }

    func testRenamesThatCannotBeAreRefusedAndChangeNothing() throws {
        let (store, index) = try store(["f.bin": pattern(10), "dir/g.bin": pattern(20)])
        let refusals: [(RenameRequest, UploadErrorCode)] = [
            (RenameRequest(from: "missing.bin", to: "x.bin"), .notFound),
            (RenameRequest(from: "dir", to: "x"), .badPath),
            (RenameRequest(from: "f.bin", to: "dir"), .badPath),
            (RenameRequest(from: "f.bin", to: "f.bin"), .badPath),
            (RenameRequest(from: "f.bin", to: "dir/g.bin/under"), .badPath),
        ]
        for (request, code) in refusals {
            XCTAssertEqual(failureCode(change(store, index, .rename(request))), code, "\(request)")
        }
        XCTAssertEqual(Set(uploadsTree().keys), ["alice", "alice/f.bin", "alice/dir", "alice/dir/g.bin"])
        XCTAssertEqual(contents("alice/f.bin"), pattern(10))
        XCTAssertEqual(try index.usage(namespace: "alice"), Usage(bytes: 30, files: 2))
        XCTAssertEqual(try index.pendingIntents(), [])
        assertNothingHeld(store)
    }
}
