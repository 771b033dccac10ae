// Symbolic links under the root, for both ways of reaching a directory (openat2 with RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS first, and the component walk alone): a link as the client's directory, as a directory below
// it, as the final name (with and without overwrite, dangling too), pointing outside the root or inside it, and one
// put in place between prepare and commit. Each is refused as suspicious, naming the link, and nothing is created,
// written or removed outside the root or inside it, the link included. Also a regular file where a directory is
// needed, and the staging directory being a link.
import Foundation
import Platform
import Protocol
import XCTest

@testable import Store

final class SymbolicLinkTests: StoreTestCase {
    func testALinkAsTheClientsDirectoryIsRefused() throws {
        try assertRefusedAsLink("f.txt", link: "alice") { try self.symlink("alice", to: self.outsidePath + "/dir") }
        try assertRefusedAsLink("new/sub/f.txt", link: "alice") { try self.symlink("alice", to: self.outsidePath + "/dir") }
        try assertRefusedAsLink("f.txt", identity: "bob", link: "bob") {  // another client's directory, inside the root
            try self.makeDirectories("alice")
            try self.symlink("bob", to: "alice")
        }
    }

    func testALinkAsADirectoryBelowIsRefused() throws {
        try assertRefusedAsLink("docs/f.txt", link: "alice/docs") {
            try self.makeDirectories("alice")
            try self.symlink("alice/docs", to: self.outsidePath + "/dir")
        }
        try assertRefusedAsLink("a/docs/new/f.txt", overwrite: true, link: "alice/a/docs") {
            try self.makeDirectories("alice/a")
            try self.symlink("alice/a/docs", to: "../../../outside/dir")
        }
        try assertRefusedAsLink("alias/f.txt", link: "alice/alias") {  // to a directory inside the root
            try self.makeDirectories("alice/real")
            try self.writeFile(self.path("alice/real/kept.txt"), Array("kept".utf8))
            try self.symlink("alice/alias", to: self.path("alice/real"))
        }
    }

    func testALinkAsTheFinalNameIsRefusedWithOrWithoutOverwrite() throws {
        for overwrite in [false, true] {
            try assertRefusedAsLink("f.txt", overwrite: overwrite, link: "alice/f.txt") {
                try self.makeDirectories("alice")
                try self.symlink("alice/f.txt", to: self.outsidePath + "/secret.txt")
            }
            try assertRefusedAsLink("d/f.txt", overwrite: overwrite, link: "alice/d/f.txt") {  // dangling: not created
                try self.makeDirectories("alice/d")
                try self.symlink("alice/d/f.txt", to: self.outsidePath + "/nothing-yet.txt")
            }
            try assertRefusedAsLink("f.txt", overwrite: overwrite, link: "alice/f.txt") {  // inside the root
                try self.makeDirectories("alice/real")
                try self.writeFile(self.path("alice/real/file.txt"), Array("inside".utf8))
                try self.symlink("alice/f.txt", to: "real/file.txt")
            }
        }
    }

    /// A link put in the final name's place after prepare: the commit refuses it (linkat or renameat would not follow
    /// it, but the store does not replace it either).
    func testALinkPutAsTheFinalNameBeforeTheCommitIsRefused() throws {
        for (useOpenat2, overwrite) in [(true, false), (false, true)] {
            try resetTrees()
            let store = try makeStore(useOpenat2: useOpenat2)
            let run = try upload(store, "late/f.txt", pattern(300_000), overwrite: overwrite)
            run.stopAt = 1000
            drive([run], on: executor)
            try symlink("alice/late/f.txt", to: outsidePath + "/secret.txt")
            let outsideBefore = tree(outsidePath), rootBefore = uploadsTree()
            run.stopAt = nil
            drive([run], on: executor)
            XCTAssertEqual(run.failure?.failure.code, .permissionDenied)
            XCTAssertEqual(run.failure?.isSuspicious, true)
            XCTAssertEqual(run.failure?.detail.hasSuffix(": " + path("alice/late/f.txt")), true, "\(String(describing: run.failure))")
            XCTAssertEqual(tree(outsidePath), outsideBefore)
            XCTAssertEqual(uploadsTree(), rootBefore, "the link is still there, unchanged")
            assertNothingHeld(store)
        }
    }

    /// The upload's directory replaced by a link between prepare and commit: the file goes into the directory the
    /// upload holds (now under another name), through its descriptor; nothing reaches the link's target.
    func testADirectorySwappedForALinkAfterPrepareIsNotFollowed() throws {
        for useOpenat2 in [true, false] {
            try resetTrees()
            try makeDirectories("alice/docs")
            let store = try makeStore(useOpenat2: useOpenat2)
            let run = try upload(store, "docs/f.txt", pattern(300_000))
            run.stopAt = 1000
            drive([run], on: executor)
            try FileManager.default.moveItem(atPath: path("alice/docs"), toPath: path("alice/moved"))
            try symlink("alice/docs", to: outsidePath + "/dir")
            let outsideBefore = tree(outsidePath)
            run.stopAt = nil
            drive([run], on: executor)
            XCTAssertNotNil(run.receipt)
            XCTAssertEqual(contents("alice/moved/f.txt"), pattern(300_000))
            XCTAssertEqual(tree(outsidePath), outsideBefore)
            XCTAssertEqual(lstatKind(path("alice/docs")), .symbolicLink)
            assertNothingHeld(store)
        }
    }

    /// A regular file where a directory is needed (the client's directory, or one below it): `.badPath`, nothing
    /// created.
    func testARegularFileWhereADirectoryIsNeededIsABadPath() throws {
        for useOpenat2 in [true, false] {
            try resetTrees()
            try makeDirectories("alice")
            try writeFile(path("alice/file.txt"), Array("a file".utf8))
            try writeFile(path("carol"), Array("not a directory".utf8))
            let before = tree(rootPath)
            let store = try makeStore(useOpenat2: useOpenat2)
            let runs = [try upload(store, "file.txt/x/y.bin", pattern(10)), try upload(store, "x/y.bin", pattern(10), identity: "carol")]
            drive(runs, on: executor)
            for run in runs {
                XCTAssertEqual(run.failure?.failure.code, .badPath, "useOpenat2 = \(useOpenat2)")
                XCTAssertEqual(run.failure?.isSuspicious, false)
                XCTAssertEqual(run.milestones.count, 1)
            }
            XCTAssertEqual(uploadsTree(), before)
            assertNothingHeld(store)
        }
    }

    /// The staging directory a link (to a directory outside, to one inside, dangling): the store does not open, says
    /// why, and creates nothing at the link's target.
    func testAStagingDirectoryThatIsALinkStopsTheStore() throws {
        for target in [outsidePath + "/dir", "inside", outsidePath + "/nothing-yet"] {
            try resetTrees()
            try makeDirectories("inside")
            try symlink(Self.staging, to: target)
            let outsideBefore = tree(outsidePath), insideBefore = tree(path("inside"))
            XCTAssertThrowsError(try makeStore()) { error in
                let description = (error as? StoreError)?.description ?? "\(error)"
                XCTAssertTrue(description.contains("is a symbolic link"), description)
                XCTAssertTrue(description.contains(path(Self.staging)), description)
            }
            XCTAssertEqual(tree(outsidePath), outsideBefore)
            XCTAssertEqual(tree(path("inside")), insideBefore)
            XCTAssertEqual(lstatKind(path(Self.staging)), .symbolicLink)
        }
    }

    // MARK: Helpers

    /// Empties the root and `outside`, then puts `secret.txt` and `dir/inner.txt` outside.
    func resetTrees() throws {
        for directory in [rootPath, outsidePath] {
            for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
                try FileManager.default.removeItem(atPath: directory + "/" + name)
            }
        }
        try writeFile(outsidePath + "/secret.txt", Array("secret".utf8))
        try FileManager.default.createDirectory(atPath: outsidePath + "/dir", withIntermediateDirectories: true)
        try writeFile(outsidePath + "/dir/inner.txt", Array("inner".utf8))
    }

    /// For each resolution: lays out the root, uploads `relative`, and checks the upload was refused at prepare as a
    /// suspicious link naming `link` (relative to the root), with nothing changed outside or inside the root.
    private func assertRefusedAsLink(_ relative: String, identity: String = "alice", overwrite: Bool = false, link: String,
                                     layout: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) throws {
        for useOpenat2 in [true, false] {
            try resetTrees()
            try layout()
            let outsideBefore = tree(outsidePath), rootBefore = tree(rootPath)
            let store = try makeStore(useOpenat2: useOpenat2)
            let run = try upload(store, relative, pattern(300_000), identity: identity, overwrite: overwrite)
            drive([run], on: executor)
            let label = "\(relative) (overwrite = \(overwrite), useOpenat2 = \(useOpenat2))"
            guard let failure = run.failure else { return XCTFail("not refused: \(label)", file: file, line: line) }
            XCTAssertEqual(run.milestones.count, 1, "refused at prepare: \(label)", file: file, line: line)
            XCTAssertEqual(failure.failure.code, .permissionDenied, label, file: file, line: line)
            XCTAssertTrue(failure.isSuspicious, label, file: file, line: line)
            XCTAssertTrue(failure.detail.hasSuffix(": " + path(link)), "\(label): \(failure.detail)", file: file, line: line)
            XCTAssertFalse(failure.failure.message.contains(rootPath), "no server path for the client", file: file, line: line)
            XCTAssertEqual(tree(outsidePath), outsideBefore, "outside the root: \(label)", file: file, line: line)
            XCTAssertEqual(uploadsTree(), rootBefore, "inside the root: \(label)", file: file, line: line)
            XCTAssertEqual(lstatKind(path(link)), .symbolicLink, label, file: file, line: line)
            assertNothingHeld(store, file: file, line: line)
        }
    }
}
