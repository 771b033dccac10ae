// What `ferry upload` plans to send for files, directories and symbolic links, on a real temporary tree; and what it
// makes of a path it cannot send (issue #15, point 7): that entry fails with its reason, the others are still planned.
import Foundation
import Platform
import TestSupport
import XCTest
@testable import Client
@testable import FerryClient

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
        // A mode-000 directory left by a test could not be emptied by an ordinary user.
        for locked in ["locked", "locked/sub", "tree/locked"] { chmod(path(locked), 0o755) }
        directory.remove()
    }

    func testALinkNamedOnTheCommandLineIsSentAsItsFileUnderItsOwnName() throws {
        let plan = try UploadPlan.make(paths: [path("top-link")], destination: "in")
        XCTAssertEqual(plan.files.map(\.remotePath), ["in/top-link"])
        XCTAssertEqual(plan.files.map(\.size), [3])
        XCTAssertEqual(plan.entries.count, 1)
    }

    func testALinkToADirectoryOnTheCommandLineIsWalkedUnderItsOwnName() throws {
        let plan = try UploadPlan.make(paths: [path("dir-link")], destination: nil)
        XCTAssertEqual(plan.files.map(\.remotePath), ["dir-link/a.txt", "dir-link/sub/b.txt"])
        XCTAssertEqual(plan.files.map(\.size), [3, 5])
        XCTAssertEqual(plan.files.map(\.localPath), [path("dir-link/a.txt"), path("dir-link/sub/b.txt")])
    }

    /// Inside a walk: links to files followed, a link to a directory skipped; a broken link and a FIFO fail, each as
    /// an entry of its own, in path order among the files.
    func testAWalkFollowsLinksToFilesAndFailsWhatCannotBeRead() throws {
        let plan = try UploadPlan.make(paths: [path("tree/")], destination: nil)
        XCTAssertEqual(plan.files.map(\.remotePath), ["tree/c.txt", "tree/link-a"])
        XCTAssertEqual(plan.files.map(\.size), [1, 3])
        let tree = path("tree")
        XCTAssertEqual(plan.entries, [
            .failed(path: "\(tree)/broken", reason: "cannot read \(tree)/broken: a broken symbolic link"),
            .file(PlannedFile(localPath: "\(tree)/c.txt", remotePath: "tree/c.txt", size: 1)),
            .failed(path: "\(tree)/fifo", reason: "cannot read \(tree)/fifo: a FIFO, not a regular file"),
            .file(PlannedFile(localPath: "\(tree)/link-a", remotePath: "tree/link-a", size: 3)),
            .skipped(path: "\(tree)/link-dir", reason: "a symbolic link to a directory (not followed)"),
        ])
    }

    /// Once a usage error that ended the whole batch; now each bad argument is one failed entry and the good one is
    /// still planned, in command-line order.
    func testMissingAndSpecialPathsOnTheCommandLineFailAloneAndTheRestIsPlanned() throws {
        let (fifo, broken, missing, good) = (path("tree/fifo"), path("tree/broken"), path("no/such"), path("real/a.txt"))
        let plan = try UploadPlan.make(paths: [missing, fifo, good, broken], destination: nil)
        XCTAssertEqual(plan.entries, [
            .failed(path: missing, reason: "cannot read \(missing): no such file or directory"),
            .failed(path: fifo, reason: "cannot read \(fifo): a FIFO, not a regular file"),
            .file(PlannedFile(localPath: good, remotePath: "a.txt", size: 3)),
            .failed(path: broken, reason: "cannot read \(broken): a broken symbolic link"),
        ])
    }

    /// Failures that stop root too: a loop of links (ELOOP), a path through a file (ENOTDIR), a socket.
    func testLinkLoopsPathsThroughFilesAndSocketsFailWithTheSystemsReason() throws {
        try link("loop/a", to: "b")
        try link("loop/b", to: "a")
        let socketPath = path("loop/socket")
        try bindUnixSocket(at: socketPath)
        let plan = try UploadPlan.make(paths: [path("loop"), path("real/a.txt/x")], destination: nil)
        let loop = path("loop")
        XCTAssertEqual(plan.entries, [
            .failed(path: "\(loop)/a", reason: "cannot read \(loop)/a: too many levels of symbolic links"),
            .failed(path: "\(loop)/b", reason: "cannot read \(loop)/b: too many levels of symbolic links"),
            .failed(path: socketPath, reason: "cannot read \(socketPath): a socket, not a regular file"),
            .failed(path: path("real/a.txt/x"), reason: "cannot read \(path("real/a.txt/x")): not a directory"),
        ])
    }

    /// An unreadable subdirectory was skipped without a word; now it fails as one entry and its siblings are sent.
    /// An unreadable file fails here when it is announced before it is read (above `opensFrom`) or in a dry run;
    /// a small one is read whole before its Open, and that read fails it (below). As root (mode 000 does not stop
    /// root) the walk runs with nobody's file permissions (withoutRootFileAccess).
    func testAnUnreadableDirectoryOrFileFailsAndTheRestOfTheWalkIsPlanned() throws {
        try make("tree/locked/hidden.txt", "h")
        try make("tree/private.txt", "p")
        try make("tree/private-large.bin", String(repeating: "l", count: Int(UploadPlan.opensFrom) + 1))
        for name in ["tree/locked", "tree/private.txt", "tree/private-large.bin"] { XCTAssertEqual(chmod(path(name), 0), 0) }
        let tree = path("tree")
        let denied = { (name: String) in UploadPlan.Entry.failed(path: "\(tree)/\(name)",
                                                                 reason: "cannot read \(tree)/\(name): permission denied") }
        let plan = try XCTUnwrap(try withoutRootFileAccess { try? UploadPlan.make(paths: [tree], destination: nil) })
        XCTAssertTrue(plan.entries.contains(denied("locked")), "\(plan.entries)")
        XCTAssertTrue(plan.entries.contains(denied("private-large.bin")), "\(plan.entries)")
        XCTAssertEqual(plan.files.map(\.remotePath), ["tree/c.txt", "tree/link-a", "tree/private.txt"])

        let dryRun = try XCTUnwrap(try withoutRootFileAccess {
            try? UploadPlan.make(paths: [tree], destination: nil, openingEveryFile: true)
        })
        XCTAssertTrue(dryRun.entries.contains(denied("private.txt")), "\(dryRun.entries)")
        XCTAssertEqual(dryRun.files.map(\.remotePath), ["tree/c.txt", "tree/link-a"])
    }

    /// The small unreadable file the plan kept fails at its read, before its Open, with the system's reason.
    func testTheReadOfAnUnreadableSmallFileFailsIt() throws {
        try make("private.txt", "p")
        XCTAssertEqual(chmod(path("private.txt"), 0), 0)
        let file = path("private.txt")
        let outcome = try withoutRootFileAccess { () -> String? in
            switch PipelinedFile.read(path: file, plannedSize: 1, earlier: nil, into: IOBuffer(capacity: 16)) {
            case .success: return nil
            case .failure(let problem): return problem.message
            }
        }
        XCTAssertEqual(outcome, "cannot open \(file): Permission denied")
    }

    /// A directory named on the command line that cannot be listed fails as itself.
    func testAnUnreadableDirectoryOnTheCommandLineFails() throws {
        try make("locked/sub/x.txt", "x")
        XCTAssertEqual(chmod(path("locked"), 0), 0)
        let locked = path("locked")
        let plan = try withoutRootFileAccess { try? UploadPlan.make(paths: [locked], destination: nil) }
        XCTAssertEqual(try XCTUnwrap(plan).entries, [.failed(path: locked, reason: "cannot read \(locked): permission denied")])
    }

    func testEmptyDirectoriesAreSkippedWhereverTheyAre() throws {
        try FileManager.default.createDirectory(atPath: path("holes/empty/deeper"), withIntermediateDirectories: true)
        try make("holes/full/f.txt", "f")
        try FileManager.default.createDirectory(atPath: path("bare"), withIntermediateDirectories: true)
        let plan = try UploadPlan.make(paths: [path("holes"), path("bare")], destination: nil)
        XCTAssertEqual(plan.entries, [
            .skipped(path: path("holes/empty/deeper"), reason: "empty directory"),
            .file(PlannedFile(localPath: path("holes/full/f.txt"), remotePath: "holes/full/f.txt", size: 1)),
            .skipped(path: path("bare"), reason: "empty directory"),
        ])
    }

    /// The report has one result per entry, in order: the engine's for the files, the plan's for the others.
    func testResultsInterleaveWhatWasSentWithWhatThePlanFailedOrSkipped() throws {
        try FileManager.default.createDirectory(atPath: path("bare"), withIntermediateDirectories: true)
        let plan = try UploadPlan.make(paths: [path("real/a.txt"), path("no/such"), path("bare"), path("tree/c.txt")],
                                       destination: nil)
        let sent = plan.files.map {
            FileResult(file: $0, stored: $0.remotePath, bytes: $0.size, sha256: "00", seconds: 1, rotations: 0, error: nil)
        }
        let results = plan.results(sent: sent)
        XCTAssertEqual(results.map(\.file.localPath), [path("real/a.txt"), path("no/such"), path("bare"), path("tree/c.txt")])
        XCTAssertEqual(results.map(\.ok), [true, false, true, true])
        XCTAssertEqual(results[1].error, "cannot read \(path("no/such")): no such file or directory")
        XCTAssertEqual(results[2].skipped, "empty directory")
        XCTAssertEqual(results.map(\.stored), ["a.txt", nil, nil, "c.txt"])
    }

    func testTwoArgumentsStoredUnderOneNameAreRefused() {
        XCTAssertThrowsError(try UploadPlan.make(paths: [path("real"), path("real")], destination: nil)) { error in
            XCTAssertEqual("\(error)", "two files would be stored as 'real/a.txt'")
        }
    }

    /// A name and its decomposed twin (as macOS makes them) would be one stored name: the second fails alone, saying
    /// why; the rest of the upload goes on.
    func testTwoNamesThatNormaliseAlikeFailTheSecondAlone() throws {
        try make("twins/caf\u{E9}.txt", "composed")
        try make("twins/cafe\u{301}.txt", "decomposed")
        try make("twins/other.txt", "other")
        let plan = try UploadPlan.make(paths: [path("twins")], destination: nil)
        XCTAssertEqual(plan.files.map(\.remotePath).sorted(), ["twins/caf\u{E9}.txt", "twins/other.txt"])
        let failed = plan.results(sent: []).compactMap(\.error).filter { $0.hasPrefix("cannot send") }
        XCTAssertEqual(failed.count, 1, "\(failed)")
        XCTAssertTrue(failed.first?.contains("differ only in Unicode normalisation") == true, "\(failed)")
    }

    /// A name that is not UTF-8 reaches ferry repaired (U+FFFD) from the command line, and is no file by that name:
    /// said as what it probably is, not only "no such file".
    func testANameThatIsNotUTF8IsSaidToBeSo() throws {
        var bytes = Array(path("bad").utf8) + [0xFF] + Array(".txt".utf8)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        bytes.append(0)
        let descriptor = bytes.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self),
                                                             O_CREAT | O_WRONLY, 0o644) }
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        close(descriptor)
        let typed = String(decoding: bytes.dropLast(), as: UTF8.self)
        let plan = try UploadPlan.make(paths: [typed], destination: nil)
        let result = plan.results(sent: []).first
        XCTAssertTrue(result?.error?.contains("probably not valid UTF-8") == true, "\(String(describing: result))")
    }

    // MARK: Helpers

    private func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    private func make(_ relative: String, _ text: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    private func link(_ relative: String, to destination: String) throws {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: destination)
    }

    /// A Unix-domain socket file at `path` (bound, then the descriptor closed: the file stays).
    private func bindUnixSocket(at path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw XCTSkip("no Unix-domain sockets") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw XCTSkip("path too long for a socket") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0, String(cString: strerror(errno)))
    }
}
