// What `ferry upload` plans to send for files, directories and symbolic links, on a real temporary tree.
import Foundation
import TestSupport
import XCTest
@testable import Client

final class UploadPlanTests: XCTestCase {
    private var directory: TemporaryDirectory!
    private var root: URL { directory.url }

    override func setUpWithError() throws {
        directory = try TemporaryDirectory(label: "plan")
        // real/a.txt, real/sub/b.txt; tree/ with a file, links to a file, to a directory, to nothing, and a FIFO.
        try make("real/a.txt", "aaa")
        try make("real/sub/b.txt", "bbbbb")
        try make("tree/c.txt", "c")
        try link("tree/link-a", to: "../real/a.txt")
        try link("tree/link-dir", to: "../real")
        try link("tree/broken", to: "nowhere")
        XCTAssertEqual(mkfifo(path("tree/fifo"), 0o600), 0)
        try link("top-link", to: "real/a.txt")
        try link("dir-link", to: "real")
    }

    override func tearDownWithError() throws {
        directory.remove()
    }

    func testALinkNamedOnTheCommandLineIsSentAsItsFileUnderItsOwnName() throws {
        let plan = try UploadPlan.make(paths: [path("top-link")], destination: "in")
        XCTAssertEqual(plan.files.map(\.remotePath), ["in/top-link"])
        XCTAssertEqual(plan.files.map(\.size), [3])
        XCTAssertEqual(plan.skipped, [])
    }

    func testALinkToADirectoryOnTheCommandLineIsWalkedUnderItsOwnName() throws {
        let plan = try UploadPlan.make(paths: [path("dir-link")], destination: nil)
        XCTAssertEqual(plan.files.map(\.remotePath), ["dir-link/a.txt", "dir-link/sub/b.txt"])
        XCTAssertEqual(plan.files.map(\.size), [3, 5])
    }

    func testAWalkFollowsLinksToFilesAndNamesWhatItSkips() throws {
        let plan = try UploadPlan.make(paths: [path("tree")], destination: nil)
        XCTAssertEqual(plan.files.map(\.remotePath), ["tree/c.txt", "tree/link-a"])
        XCTAssertEqual(plan.files.map(\.size), [1, 3])
        let tree = path("tree")
        XCTAssertEqual(plan.skipped.sorted(), [
            "\(tree)/broken: a broken symbolic link",
            "\(tree)/fifo: not a regular file",
            "\(tree)/link-dir: a symbolic link to a directory (not followed)",
        ])
    }

    func testSpecialFilesAndMissingPathsOnTheCommandLineAreRefused() {
        XCTAssertThrowsError(try UploadPlan.make(paths: [path("tree/fifo")], destination: nil)) { error in
            XCTAssertEqual("\(error)", "\(path("tree/fifo")): not a regular file or a directory")
        }
        XCTAssertThrowsError(try UploadPlan.make(paths: [path("tree/broken")], destination: nil)) { error in
            XCTAssertEqual("\(error)", "\(path("tree/broken")): no such file or directory")
        }
    }

    func testTwoArgumentsStoredUnderOneNameAreRefused() {
        XCTAssertThrowsError(try UploadPlan.make(paths: [path("real"), path("real")], destination: nil)) { error in
            XCTAssertEqual("\(error)", "two files would be stored as 'real/a.txt'")
        }
    }

    // MARK: Helpers

    private func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    private func make(_ relative: String, _ text: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    private func link(_ relative: String, to destination: String) throws {
        try FileManager.default.createSymbolicLink(atPath: path(relative), withDestinationPath: destination)
    }
}
