// An upload that resumes a kept partial, let go while its prepare is still on the executor: abandon() (the client
// aborted, or lost its access) drops the partial, suspend() (the connection dropped) keeps it where it was.
import Foundation
import Platform
import Protocol
@testable import Store
import TestSupport
import XCTest

final class PartialLetGoWhilePreparingTests: StoreTestCase {
    private let size = 3 << 20

    /// A kept partial of `relativePath` at 1,000,000 bytes, then a new upload of it whose prepare is queued.
    private func resumingUpload(_ store: Store, _ relativePath: String) throws -> UploadRun {
        let content = pattern(size, seed: 9)
        let first = try upload(store, relativePath, content)
        first.stopAt = 1_000_000
        drive([first], on: executor)
        first.writer.suspend()
        executor.runAll()
        XCTAssertEqual(partialRecord(store, relativePath)?.offset, 1_000_000)
        let again = try upload(store, relativePath, content)
        XCTAssertEqual(executor.queuedKinds, [.prepare])
        return again
    }

    func testAbandonWhilePreparingDropsThePartial() throws {
        let store = try makeStore()
        let run = try resumingUpload(store, "a.bin")
        run.writer.abandon()
        executor.runAll()
        XCTAssertTrue(run.writer.hasEnded)
        XCTAssertNil(partialRecord(store, "a.bin"), "an abandoned upload keeps nothing for resume")
        XCTAssertEqual(store.partials.kept.count, 0)
        XCTAssertEqual(run.events, [])
    }

    func testSuspendWhilePreparingKeepsThePartial() throws {
        let store = try makeStore()
        let run = try resumingUpload(store, "b.bin")
        run.writer.suspend()
        executor.runAll()
        XCTAssertTrue(run.writer.hasEnded)
        XCTAssertEqual(partialRecord(store, "b.bin")?.offset, 1_000_000 / 4096 * 4096, "kept, at the offset it resumed from")
        XCTAssertEqual(store.partials.kept.count, 1)
    }
}
