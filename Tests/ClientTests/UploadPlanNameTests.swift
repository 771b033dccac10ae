// The Unicode policy on the client's side (NamePolicy): local names are sent in NFC, and a name that would hide part
// of itself fails alone before anything is sent.
import Foundation
import TestSupport
import XCTest
@testable import Client
@testable import FerryClient

final class UploadPlanNameTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory(label: "plan-names") }
    override func tearDown() { directory.remove() }

    private func make(_ relative: String) throws -> String {
        let url = directory.appending(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: url)
        return url.path
    }

    func testDecomposedNamesAreSentComposed() throws {
        let path = try make("dir/re\u{301}sume\u{301}.txt")  // as a Mac makes it
        let plan = try UploadPlan.make(paths: [directory.appending("dir").path], destination: nil)
        XCTAssertEqual(plan.files.map { Array($0.remotePath.unicodeScalars) }, [Array("dir/r\u{E9}sum\u{E9}.txt".unicodeScalars)])
        XCTAssertEqual(plan.files.first?.localPath, path, "read from the name on disk")
    }

    func testANameThatHidesPartOfItselfFailsAloneAndSaysWhy() throws {
        _ = try make("dir/invoice\u{202E}fdp.exe")
        _ = try make("dir/fine.txt")
        let plan = try UploadPlan.make(paths: [directory.appending("dir").path], destination: nil)
        XCTAssertEqual(plan.files.map(\.remotePath), ["dir/fine.txt"])
        let failures = plan.entries.compactMap { entry -> String? in
            if case .failed(_, let reason) = entry { return reason }
            return nil
        }
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures.first?.contains("invisible character (U+202E)") ?? false, failures.first ?? "")
        XCTAssertTrue(failures.first?.contains("invoice\\u{202E}fdp.exe") ?? false, failures.first ?? "")
    }

    /// Two files whose names differ only in normalisation would be one stored name: the second fails alone, saying so
    /// (the first is sent).
    func testTwoNamesThatDifferOnlyInNormalizationCollide() throws {
        _ = try make("a/caf\u{E9}")
        _ = try make("b/cafe\u{301}")
        let plan = try UploadPlan.make(paths: [directory.appending("a/caf\u{E9}").path,
                                               directory.appending("b/cafe\u{301}").path], destination: nil)
        XCTAssertEqual(plan.files.map(\.remotePath), ["caf\u{E9}"])
        let failures = plan.entries.compactMap { entry -> String? in
            if case .failed(_, let reason) = entry { return reason }
            return nil
        }
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures.first?.contains("differ only in Unicode normalisation") ?? false, failures.first ?? "")
    }
}
