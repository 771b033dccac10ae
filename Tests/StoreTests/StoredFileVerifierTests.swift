// Verify's re-read (StoredFileVerifier, PROTOCOL.md §14.10): the recorded SHA-256 and the one of the bytes on disk now,
// a step of at most 16 MiB at a time; a copy changed in place is told apart; what cannot be read is refused.
import Foundation
import Index
import Platform
import Protocol
import TestSupport
import XCTest

@testable import Store

final class StoredFileVerifierTests: StoreTestCase {
    private func verifier(_ store: Store, _ index: JournaledIndex, _ path: String) throws -> StoredFileVerifier {
        StoredFileVerifier(store: store, index: index, path: try store.rules.storedPath(identity: "alice", relativePath: path))
    }

    /// Steps until done; returns the steps taken and the last.
    private func run(_ verifier: StoredFileVerifier) -> (steps: Int, last: StoredFileVerifier.Step) {
        var steps = 0
        while true {
            steps += 1
            let step = verifier.stepNow()
            if case .reading = step { continue }
            return (steps, step)
        }
    }

    func testAnIntactFileReadsAsRecordedInStepsOfAtMost16MiB() throws {
        let index = try makeIndex()
        let store = try makeStore(index: index)
        let big = pattern(Int(StoredFileVerifier.stepBytes) * 2 + 1)
        let runs = [try upload(store, "big.bin", big, chunk: 1 << 20), try upload(store, "empty.bin", [])]
        drive(runs, on: executor)
        XCTAssertTrue(runs.allSatisfy { $0.receipt != nil })
        let digest = DigestContext.hash(.sha256, big)
        let (steps, last) = run(try verifier(store, index, "big.bin"))
        XCTAssertEqual(steps, 3)
        guard case .done(let result) = last else { return XCTFail("\(last)") }
        XCTAssertEqual(result, VerifyResult(size: UInt64(big.count), recorded: digest, read: digest))
        guard case .done(let empty) = run(try verifier(store, index, "empty.bin")).last else { return XCTFail("empty") }
        XCTAssertEqual(empty.read, DigestContext.hash(.sha256, []))
        XCTAssertEqual(empty.read, empty.recorded)
    }

    func testACopyChangedInPlaceReadsOtherThanRecorded() throws {
        let index = try makeIndex()
        let store = try makeStore(index: index)
        let content = pattern(10_000)
        drive([try upload(store, "d/x.bin", content)], on: executor)
        var changed = content
        changed[5_000] ^= 0xFF
        try writeFile(path("alice/d/x.bin"), changed)
        guard case .done(let result) = run(try verifier(store, index, "d/x.bin")).last else { return XCTFail("not done") }
        XCTAssertEqual(result.recorded, DigestContext.hash(.sha256, content))
        XCTAssertEqual(result.read, DigestContext.hash(.sha256, changed))
        try writeFile(path("alice/d/x.bin"), Array(content.prefix(10)))
        guard case .done(let truncated) = run(try verifier(store, index, "d/x.bin")).last else { return XCTFail("not done") }
        XCTAssertEqual(truncated.size, 10)
        XCTAssertNotEqual(truncated.read, truncated.recorded)
    }

    func testWhatCannotBeVerifiedIsRefused() throws {
        let index = try makeIndex()
        let store = try makeStore(index: index)
        drive([try upload(store, "dir/f.bin", pattern(10)), try upload(store, "linked.bin", pattern(10))], on: executor)
        func code(_ path: String) throws -> UploadErrorCode? {
            if case .refused(let failure) = run(try verifier(store, index, path)).last { failure.failure.code } else { nil }
        }
        XCTAssertEqual(try code("missing.bin"), .notFound, "no row")
        XCTAssertEqual(try code("dir"), .notFound, "a directory has no row")
        XCTAssertEqual(unlink(path("alice/linked.bin")), 0)
        try symlink("alice/linked.bin", to: path("alice/dir/f.bin"))
        XCTAssertEqual(try code("linked.bin"), .permissionDenied, "a link where the file was is never followed")
    }
}
