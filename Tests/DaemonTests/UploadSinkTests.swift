// UploadSink against a real loop and a temporary directory: the batch floor (a tail below it is written at finish,
// digest and bytes intact), the per-worker backlog budget, and storage.fsync = false still committing atomically.
import EventLoop
import Foundation
import Protocol
import XCTest

@testable import Daemon

final class UploadSinkTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-sink-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func makeSink(_ loop: EventLoop, _ name: String, size: Int, buffers: IOBufferPool,
                          durable: Bool = true) -> UploadSink {
        UploadSink(loop: loop, request: UploadRequest(path: name, size: UInt64(size)), relativePath: name,
                   partURL: directory.appendingPathComponent("\(name).part"),
                   finalURL: directory.appendingPathComponent(name), directories: [], overwrite: false,
                   durable: durable, buffers: buffers)
    }

    /// Chunks that never reach the batch floor stay queued (nothing is written yet), and `finish` writes them: the
    /// committed file and its digest are exact, for a durable and a non-durable sink, and no .part is left.
    func testATailBelowTheBatchFloorIsWrittenAtFinish() throws {
        for durable in [true, false] {
            let loop = try EventLoop()
            let buffers = UploadSink.makeBufferPool()
            let content = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 31 ^ $0 >> 7) }
            XCTAssertLessThan(content.count, UploadSink.minimumBatch)
            let name = "tail-\(durable).bin"
            var sink: UploadSink? = makeSink(loop, name, size: content.count, buffers: buffers, durable: durable)
            var backlogBeforeFinish = -1
            var outcome: String?
            sink?.prepare { result in
                guard case .success = result, let upload = sink else { return outcome = "prepare failed" }
                for start in stride(from: 0, to: content.count, by: 10_000) {
                    upload.append(content[start..<min(start + 10_000, content.count)])
                }
                backlogBeforeFinish = upload.backlog
                upload.finish(clientDigest: DigestContext.hash(.sha256, content)) { result in
                    switch result {
                    case .success(let receipt):
                        outcome = receipt.size == UInt64(content.count) && receipt.digest == DigestContext.hash(.sha256, content)
                            ? "committed" : "wrong receipt"
                    case .failure(let failure): outcome = "failed: \(failure.message)"
                    }
                    sink = nil
                }
            }
            runLoopUntilDone(loop)
            XCTAssertEqual(outcome, "committed", "durable = \(durable)")
            XCTAssertEqual(backlogBeforeFinish, content.count, "below the floor nothing is written before finish")
            XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent(name)), Data(content))
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory.appendingPathComponent("\(name).part").path))
            XCTAssertEqual(buffers.outstanding, 0, "the upload gave its buffers back")
        }
    }

    /// One upload may queue up to 4 MiB; uploads sharing a worker split its 16 MiB budget, never below 256 KiB each.
    func testUploadsShareTheWorkersBacklogBudget() throws {
        let loop = try EventLoop()
        let buffers = UploadSink.makeBufferPool()
        var sinks = [makeSink(loop, "a", size: 1, buffers: buffers)]
        XCTAssertEqual(sinks[0].highWater, UploadSink.maximumHighWater)
        XCTAssertEqual(sinks[0].lowWater, UploadSink.maximumHighWater / 4)
        sinks += (1..<8).map { makeSink(loop, "s\($0)", size: 1, buffers: buffers) }
        XCTAssertEqual(sinks[0].highWater, UploadSink.workerBudget / 8)
        sinks += (8..<200).map { makeSink(loop, "s\($0)", size: 1, buffers: buffers) }
        XCTAssertEqual(sinks[0].highWater, UploadSink.minimumHighWater)
        sinks.removeAll()  // buffers given back: a lone upload gets the maximum again
        XCTAssertEqual(buffers.outstanding, 0)
        XCTAssertEqual(makeSink(loop, "again", size: 1, buffers: buffers).highWater, UploadSink.maximumHighWater)
        XCTAssertTrue(loop.close())
    }

    private func runLoopUntilDone(_ loop: EventLoop) {
        loop.run()
        XCTAssertTrue(loop.close())
    }
}
