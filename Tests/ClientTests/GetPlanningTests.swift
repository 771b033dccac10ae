// `ferry get`'s planning without a server: where each REMOTE goes (cp -r's rules), and names from a listing that could
// leave the destination refused before any file is opened — the server refuses such names, the client does not rely
// on it.
import Foundation
import Protocol
import TestSupport
import XCTest
@testable import FerryClient

final class GetPlanningTests: XCTestCase {
    func testNamesThatCouldLeaveTheDestinationAreRefused() {
        XCTAssertEqual(GetPlanner.localPath("a/b.txt", below: "out"), "out/a/b.txt")
        XCTAssertEqual(GetPlanner.localPath("a", below: "out/"), "out/a")
        XCTAssertEqual(GetPlanner.localPath("a", below: ""), "a")
        // "/" followed by a combining mark is one Swift Character and still a separator to the kernel.
        for hostile in ["../x", "a/../../x", "./a", "a//b", "", "a/", "/etc/passwd", "a/.", "a/\0b", "../\u{301}x",
                        "a/..\u{0}", "/\u{301}etc"] {
            XCTAssertNil(GetPlanner.localPath(hostile, below: "out"), hostile)
        }
    }

    func testEachRemoteGoesWhereCpWouldPutIt() throws {
        let directory = try makeTemporaryDirectory("get-plan")
        let existing = directory.url.path
        let one = try GetCommand.arguments(["docs/a.txt"], local: existing)
        XCTAssertEqual(one.first?.asFile, existing + "/a.txt", "into an existing directory")
        let top = try GetCommand.arguments([""], local: existing)
        XCTAssertEqual(top.first?.asDirectory, existing, "the top's files straight into it")
        let renamed = try GetCommand.arguments(["docs/a.txt"], local: existing + "/new.txt")
        XCTAssertEqual(renamed.first?.asFile, existing + "/new.txt", "as a new name")
        XCTAssertThrowsError(try GetCommand.arguments(["a", "b"], local: existing + "/missing"), "several into no directory")
    }

    func testAForeignPrefixOrADamagedFileIsNeverKept() throws {
        let directory = try makeTemporaryDirectory("get-part")
        let destination = directory.url.appendingPathComponent("f.bin").path
        let content = [UInt8](repeating: 5, count: 100_000)
        let header = GetHeader(size: 100_000, sha256: DigestContext.hash(.sha256, content), modified: WireTime(seconds: 1, nanoseconds: 2),
                               executable: false, offset: 0)
        // A .part with other bytes, resumed from: the digest disagrees, nothing takes the name, the .part is gone.
        try Data([UInt8](repeating: 6, count: 50_000)).write(to: URL(fileURLWithPath: destination + ".part"))
        let part = try PartFile(destination: destination)
        XCTAssertEqual(part.length, 50_000)
        try part.hashPrefix()
        try part.append(content[50_000...])
        XCTAssertFalse(try part.finish(header))
        XCTAssertFalse(FileManager.default.fileExists(atPath: destination))
        XCTAssertFalse(FileManager.default.fileExists(atPath: destination + ".part"))
        // The right bytes: renamed, with the header's time.
        let again = try PartFile(destination: destination)
        try again.append(content[...])
        XCTAssertTrue(try again.finish(header))
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: destination))), content)
        var info = stat()
        XCTAssertEqual(stat(destination, &info), 0)
        XCTAssertEqual(info.st_mtim.tv_sec, 1)
        XCTAssertEqual(info.st_mtim.tv_nsec, 2)
    }
}
