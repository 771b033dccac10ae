// BatchPipeline on its own (internal: @testable): the worker's budget shared by its uploads, batches cut at the
// direct-I/O alignment while receiving (the remainder carried into the next), the whole rest at finish, and the two
// job chains (hashes in file order one at a time, writes likewise, each independent of the other).
import Platform
import XCTest

@testable import Store

final class BatchPipelineTests: XCTestCase {
    /// A lone upload may queue the worker's whole 16 MiB budget; uploads sharing a worker split it, never below
    /// 256 KiB each; once the others gave their buffers back a lone upload gets the maximum again. (From
    /// DaemonTests/UploadSinkTests.testUploadsShareTheWorkersBacklogBudget; UploadPacingTests checks the writers.)
    func testUploadsShareTheWorkersBudget() {
        let buffers = BatchPipeline.makeBufferPool()
        var pipelines = [BatchPipeline(buffers: buffers, direct: false, durable: false)]
        XCTAssertEqual(pipelines[0].highWater, BatchPipeline.maximumHighWater)
        XCTAssertEqual(pipelines[0].lowWater, BatchPipeline.maximumHighWater / 4)
        pipelines += (1..<8).map { _ in BatchPipeline(buffers: buffers, direct: false, durable: false) }
        XCTAssertEqual(pipelines[0].highWater, BatchPipeline.workerBudget / 8)
        XCTAssertEqual(pipelines[7].lowWater, BatchPipeline.workerBudget / 32)
        pipelines += (8..<200).map { _ in BatchPipeline(buffers: buffers, direct: false, durable: false) }
        XCTAssertEqual(pipelines[0].highWater, BatchPipeline.minimumHighWater)
        XCTAssertEqual(buffers.outstanding, 200 * BatchPipeline.slots)
        pipelines.removeAll()  // buffers given back
        XCTAssertEqual(buffers.outstanding, 0)
        XCTAssertEqual(BatchPipeline(buffers: buffers, direct: false, durable: false).highWater, BatchPipeline.maximumHighWater)
    }

    /// Odd chunks, with direct I/O: every batch cut while receiving starts and ends on a 4096-byte boundary (its
    /// remainder carried into the next), the one cut at finish takes the rest, and the batches hold the file's bytes in
    /// order. Without direct I/O a batch takes all that is pending.
    func testDirectBatchesAreCutAtBlockMultiplesWhileReceiving() {
        let content = (0..<(3 << 20) + 4321).map { UInt8(truncatingIfNeeded: $0 &* 131 ^ $0 >> 11) }
        for direct in [true, false] {
            let pipeline = BatchPipeline(buffers: BatchPipeline.makeBufferPool(), direct: direct, durable: false)
            var stored: [UInt8] = [], receivingBatches = 0
            func take(_ batch: BatchPipeline.Batch, pendingBefore: Int, finishing: Bool) {
                XCTAssertEqual(batch.offset, Int64(stored.count), "batches follow each other in the file")
                XCTAssertEqual(batch.direct, direct)
                if !finishing && direct {
                    XCTAssertEqual(batch.length % BatchPipeline.directAlignment, 0, "a batch cut while receiving")
                    XCTAssertEqual(pipeline.pendingBytes, pendingBefore - batch.length, "the remainder is carried")
                    XCTAssertLessThan(pipeline.pendingBytes, BatchPipeline.directAlignment)
                } else {
                    XCTAssertEqual(batch.length, pendingBefore, "everything pending goes")
                }
                batch.buffer.withUnsafeBytes { stored += $0[..<batch.length] }
                XCTAssertIdentical(pipeline.nextHash(), batch)
                XCTAssertIdentical(pipeline.nextWrite(), batch)
                batch.hash = .done
                batch.write = .done
                pipeline.retireFinished()
            }
            for start in stride(from: 0, to: content.count, by: 65_537) {
                let chunk = content[start..<min(start + 65_537, content.count)]
                let room = pipeline.reserve(chunk.count)
                chunk.withUnsafeBytes { room.copyMemory(from: $0) }
                pipeline.didAppend(chunk.count)
                let pendingBefore = pipeline.pendingBytes
                if let batch = pipeline.cutBatch(finishing: false) {
                    receivingBatches += 1
                    take(batch, pendingBefore: pendingBefore, finishing: false)
                }
            }
            let pendingBefore = pipeline.pendingBytes
            if let last = pipeline.cutBatch(finishing: true) { take(last, pendingBefore: pendingBefore, finishing: true) }
            XCTAssertGreaterThan(receivingBatches, 5, "direct = \(direct)")
            XCTAssertTrue(pipeline.isEmpty)
            XCTAssertEqual(stored, content, "direct = \(direct)")
        }
    }

    /// The hash of batch 2 waits for the hash of batch 1, not for its write; a write waits only for the previous
    /// write; a buffer comes back once both jobs of its batch are done, in file order; and no batch is cut with every
    /// buffer out.
    func testTheHashAndWriteChainsAreIndependent() {
        let pipeline = BatchPipeline(buffers: BatchPipeline.makeBufferPool(), direct: false, durable: false)
        func fill() -> BatchPipeline.Batch? {
            pipeline.didAppend(pipeline.reserve(BatchPipeline.minimumBatch).count)
            return pipeline.cutBatch(finishing: false)
        }
        let batches = (1..<BatchPipeline.slots).compactMap { _ in fill() }
        XCTAssertEqual(batches.count, BatchPipeline.slots - 1)
        XCTAssertNil(fill(), "every buffer is out")
        XCTAssertIdentical(pipeline.nextHash(), batches[0])
        XCTAssertNil(pipeline.nextHash(), "one hash at a time")
        XCTAssertIdentical(pipeline.nextWrite(), batches[0])
        XCTAssertNil(pipeline.nextWrite(), "one write at a time")
        batches[0].hash = .done
        XCTAssertIdentical(pipeline.nextHash(), batches[1], "hashed while batch 1 is still being written")
        batches[1].hash = .done
        pipeline.retireFinished()
        XCTAssertEqual(pipeline.batches.count, 3, "batch 1's write is still running")
        XCTAssertTrue(pipeline.hasJobRunning)
        batches[0].write = .done
        pipeline.retireFinished()
        XCTAssertEqual(pipeline.batches.count, 2)
        XCTAssertEqual(pipeline.backlog, pipeline.pendingBytes + 2 * BatchPipeline.minimumBatch)
        XCTAssertNotNil(pipeline.cutBatch(finishing: true), "a buffer came back: the pending bytes go")
        XCTAssertIdentical(pipeline.nextWrite(), batches[1])
        for batch in pipeline.batches {  // every job done (a pipeline must not go with a job running: it traps)
            batch.hash = .done
            batch.write = .done
        }
        pipeline.retireFinished()
        XCTAssertTrue(pipeline.isEmpty)
        XCTAssertEqual(pipeline.backlog, 0)
    }
}
