// `ferry upload`'s exit status from the typed outcome of each file (issue #15, point 9), the kind a handshake error
// maps to, and the JSON entries of failed and skipped paths.
import Foundation
import Protocol
import XCTest
@testable import Client
@testable import FerryClient

final class UploadExitStatusTests: XCTestCase {
    func testNothingFailedIsZeroAndSkippedEntriesDoNotCount() {
        XCTAssertEqual(UploadExitStatus.of([]), 0)
        XCTAssertEqual(UploadExitStatus.of([stored("a")]), 0)
        XCTAssertEqual(UploadExitStatus.of([stored("a"), skipped("empty")]), 0)
        XCTAssertEqual(UploadExitStatus.of([skipped("empty")]), 0)
    }

    func testEveryFileFailingForOneReasonGivesThatReasonsStatus() {
        XCTAssertEqual(UploadExitStatus.of([failed("a", .unreachable), failed("b", .unreachable)]), 69)
        XCTAssertEqual(UploadExitStatus.of([failed("a", .timeout)]), 75)
        XCTAssertEqual(UploadExitStatus.of([failed("a", .refused), failed("b", .refused)]), 77)
        XCTAssertEqual(UploadExitStatus.of([failed("a", .other)]), 1)
        // A skipped empty directory beside them changes nothing.
        XCTAssertEqual(UploadExitStatus.of([failed("a", .unreachable), skipped("empty")]), 69)
    }

    func testMixedReasonsOrFilesStoredBesideTheFailuresGiveOne() {
        XCTAssertEqual(UploadExitStatus.of([failed("a", .unreachable), failed("b", .other)]), 1)
        XCTAssertEqual(UploadExitStatus.of([failed("a", .timeout), failed("b", .refused)]), 1)
        XCTAssertEqual(UploadExitStatus.of([stored("a"), failed("b", .timeout)]), 1)
        XCTAssertEqual(UploadExitStatus.of([stored("a"), failed("b", .other)]), 1)
    }

    func testSessionFailuresMapToTheirKind() {
        func kind(_ error: ProtocolError) -> FailureKind { FailureKind(SessionFailure.from(error)) }
        XCTAssertEqual(kind(ProtocolError(.unknownCA, "")), .refused)
        XCTAssertEqual(kind(ProtocolError(.badCertificate, "name mismatch")), .refused)
        XCTAssertEqual(kind(ProtocolError(.certificateExpired, "", origin: .peer)), .refused)
        XCTAssertEqual(kind(ProtocolError(.noCommonCipherSuite, "", origin: .peer)), .refused)
        XCTAssertEqual(kind(ProtocolError(.tooManySessions, "", origin: .peer)), .unreachable)
        XCTAssertEqual(kind(ProtocolError(.closedByPeer, "shutting down", origin: .peer)), .unreachable)
        XCTAssertEqual(FailureKind(SessionFailure(.cannotConnect, "")), .unreachable)
        XCTAssertEqual(FailureKind(SessionFailure(.unresolvable, "")), .unreachable)
        XCTAssertEqual(FailureKind(SessionFailure(.timedOut, "")), .timeout)
        XCTAssertEqual(FailureKind(SessionFailure(.connectionLost, "")), .other)
        XCTAssertEqual(FailureKind(SessionFailure(.busy, "")), .other)
    }

    /// Every entry has every key; a skipped one is ok and says why, a failed one has its error and status "failed".
    func testTheJSONCarriesFailedAndSkippedEntriesWithTheirStatus() throws {
        let report = UploadReport(results: [stored("a"), failed("gone", .other), skipped("empty")], seconds: 1)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        XCTAssertEqual(object["ok"] as? Bool, false)
        let files = try XCTUnwrap(object["files"] as? [[String: Any]])
        XCTAssertEqual(files.map { $0["status"] as? String }, ["stored", "failed", "skipped"])
        XCTAssertEqual(files.map { $0["ok"] as? Bool }, [true, false, true])
        XCTAssertEqual(files[1]["error"] as? String, "cannot read gone")
        XCTAssertEqual(files[2]["skipped"] as? String, "empty directory")
        XCTAssertTrue(files[0]["skipped"] is NSNull, "\(files[0])")
        XCTAssertTrue(files[2]["error"] is NSNull, "\(files[2])")

        let onlySkipped = UploadReport(results: [stored("a"), skipped("empty")], seconds: 1)
        XCTAssertTrue(onlySkipped.ok)
    }

    // MARK: Helpers

    private func file(_ name: String) -> PlannedFile { PlannedFile(localPath: name, remotePath: name, size: 1) }

    private func stored(_ name: String) -> FileResult {
        FileResult(file: file(name), stored: name, bytes: 1, sha256: "00", seconds: 0, rotations: 0, error: nil)
    }

    private func failed(_ name: String, _ kind: FailureKind) -> FileResult {
        FileResult(file: file(name), stored: nil, bytes: 0, sha256: nil, seconds: 0, rotations: 0,
                   error: "cannot read \(name)", failure: kind)
    }

    private func skipped(_ name: String) -> FileResult {
        FileResult(file: file(name), stored: nil, bytes: 0, sha256: nil, seconds: 0, rotations: 0, error: nil,
                   skipped: "empty directory")
    }
}
