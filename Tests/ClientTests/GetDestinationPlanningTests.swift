// Where `ferry get` writes, without a server: each file a place and a partial of its own (PartName, GetPlanner), a
// partial that another writer holds refused (PartFile's lock), no empty partial left by a Get that got nothing, and
// a progress line whose sums cannot trap on the server's sizes.
import Foundation
import Protocol
import TestSupport
import XCTest
@testable import FerryClient

final class GetDestinationPlanningTests: XCTestCase {
    func testAPartialNameIsNeverTakenNorTooLong() {
        XCTAssertEqual(PartName.partial(for: "out/a.bin", taken: []), "out/a.bin.part")
        XCTAssertEqual(PartName.partial(for: "a.bin", taken: ["a.bin"]), "a.bin.part")
        XCTAssertEqual(PartName.partial(for: "out/x", taken: ["out/x", "out/x.part"]), "out/x.1.part")
        XCTAssertEqual(PartName.partial(for: "out/x", taken: ["out/x.part", "out/x.1.part"]), "out/x.2.part")
        XCTAssertEqual(PartName.partial(for: "out/a/\u{301}b", taken: []), "out/a/\u{301}b.part", "split at the byte /")
        // 250 bytes: its ".part" fits exactly; 251 bytes and two-byte characters: cut, whole characters, 255 at most.
        let fits = String(repeating: "a", count: 250)
        XCTAssertEqual(PartName.partial(for: "d/" + fits, taken: []), "d/" + fits + ".part")
        for long in [String(repeating: "a", count: 251), String(repeating: "é", count: 127), String(repeating: "é", count: 120) + "x"] {
            let partial = PartName.partial(for: "d/" + long, taken: [])
            let name = String(partial.dropFirst(2))
            XCTAssertLessThanOrEqual(name.utf8.count, 255, long)
            XCTAssertTrue(name.hasSuffix(".part"), name)
            XCTAssertNotNil(String(validatingUTF8: name), name)
            XCTAssertEqual(PartName.partial(for: "d/" + long, taken: []), partial, "the same on every run")
        }
        // Two long names that begin alike still differ.
        XCTAssertNotEqual(PartName.partial(for: String(repeating: "b", count: 300) + "1", taken: []),
                          PartName.partial(for: String(repeating: "b", count: 300) + "2", taken: []))
    }

    func testTwoFilesForOnePlaceAndANameBesideItsPartial() {
        let planner = GetPlanner(arguments: [GetPlanner.Argument(remote: "d", asFile: "out/d", asDirectory: "out/d"),
                                             GetPlanner.Argument(remote: "e/x", asFile: "out/d/x", asDirectory: "out/d/x")])
        var failed: [GetResult] = []
        planner.onFailure = { failed.append($0) }
        func entry(_ path: String) -> ListEntry {
            .file(StoredFileEntry(path: path, size: 1, sha256: Array(repeating: 0, count: 32), modified: nil,
                                  uploaded: WireTime(seconds: 1, nanoseconds: 0), uploader: "alice"))
        }
        planner.answered(.stat(.directory(path: "d", files: 2, bytes: 2)))
        planner.answered(.list(ListPage(entries: [entry("d/x"), entry("d/x.1"), entry("d/x.part")], nextCursor: "")))
        guard case .file(let other) = entry("e/x") else { return XCTFail() }
        planner.answered(.stat(.file(other)))
        XCTAssertNil(planner.nextRequest)
        XCTAssertEqual(planner.jobs.map(\.local), ["out/d/x", "out/d/x.1", "out/d/x.part"])
        // x's partial cannot be x.part (a file of this get) and takes x.1.part; x.1's then cannot be that either.
        XCTAssertEqual(planner.jobs.map(\.partPath), ["out/d/x.1.part", "out/d/x.1.1.part", "out/d/x.part.part"])
        XCTAssertEqual(failed.map(\.remote), ["e/x"])
        XCTAssertTrue(failed.first?.error?.contains("d/x goes to the same place") == true, "\(failed)")
    }

    func testAPartialAnotherWriterHoldsIsRefused() throws {
        let directory = try makeTemporaryDirectory("get-lock")
        let destination = directory.url.appendingPathComponent("f.bin").path
        let first = try PartFile(destination: destination)
        XCTAssertThrowsError(try PartFile(destination: destination)) { error in
            XCTAssertTrue("\(error)".contains("another ferry get is writing"), "\(error)")
        }
        first.keepForLater()
        // Let go (and, empty and made by it, removed): the next writer takes it.
        XCTAssertFalse(FileManager.default.fileExists(atPath: destination + ".part"))
        let second = try PartFile(destination: destination)
        try second.append(Array("kept".utf8)[...])
        XCTAssertEqual(second.keepForLater(), 4, "what the partial holds")
        XCTAssertTrue(FileManager.default.fileExists(atPath: destination + ".part"), "a partial with bytes stays")
        // One that an earlier run left stays even when nothing is added to it.
        let third = try PartFile(destination: destination)
        XCTAssertTrue(third.needsPrefixHash)
        try third.hashPrefix()
        XCTAssertEqual(third.length, 4)
        XCTAssertEqual(third.keepForLater(), 4)
        XCTAssertTrue(FileManager.default.fileExists(atPath: destination + ".part"))
    }

    func testTheProgressSumsSaturate() {
        XCTAssertEqual(GetProgress.sum(.max - 1, 5), .max)
        XCTAssertEqual(GetProgress.sum(2, 3), 5)
        let jobs = [GetJob(remote: "a", local: "a", size: 1 << 63, modified: nil),
                    GetJob(remote: "b", local: "b", size: 1 << 63, modified: nil)]
        _ = GetProgress(jobs: jobs)  // no trap
    }
}
