// UploadSink against a real loop and a temporary directory: the batch floor (a tail below it is written at finish,
// digest and bytes intact), the per-worker backlog budget, reading resumed while a batch is written or when the
// upload's share grows, an upload dropped with batches on the pool, and direct I/O (whole blocks with O_DIRECT, the
// last partial block without) storing the exact bytes.
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
                          durable: Bool = true, directIO: Bool = true) -> UploadSink {
        UploadSink(loop: loop, request: UploadRequest(path: name, size: UInt64(size)), relativePath: name,
                   partURL: directory.appendingPathComponent("\(name).part"),
                   finalURL: directory.appendingPathComponent(name), directories: [], overwrite: false,
                   durable: durable, directIO: directIO, buffers: buffers)
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

    /// A lone upload may queue the worker's whole 16 MiB budget; uploads sharing a worker split it, never below 256 KiB each.
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

    /// A file of odd size in odd chunks, with direct I/O on and off: stored byte for byte, digest right. With it on,
    /// the .part is really open with O_DIRECT where the file system is one that supports it (so the batches were cut
    /// at block multiples), and every write but the last partial block kept O_DIRECT (an unaligned batch would have
    /// been refused and fallen back to buffered).
    func testDirectIOStoresTheExactBytesWhateverTheChunking() throws {
        let content = (0..<(3 << 20) + 4321).map { UInt8(truncatingIfNeeded: $0 &* 131 ^ $0 >> 11) }
        for directIO in [true, false] {
            let loop = try EventLoop()
            let buffers = UploadSink.makeBufferPool()
            let name = "direct-\(directIO).bin"
            var sink: UploadSink? = makeSink(loop, name, size: content.count, buffers: buffers, directIO: directIO)
            var outcome: String?
            var openedDirect: Bool?, directAtTheEnd: Bool?
            sink?.prepare { result in
                guard case .success = result, let upload = sink else { return outcome = "prepare failed" }
                openedDirect = upload.direct
                for start in stride(from: 0, to: content.count, by: 65_537) {
                    upload.append(content[start..<min(start + 65_537, content.count)])
                }
                upload.finish(clientDigest: DigestContext.hash(.sha256, content)) { result in
                    directAtTheEnd = upload.direct
                    switch result {
                    case .success(let receipt): outcome = receipt.size == UInt64(content.count) ? "committed" : "wrong size"
                    case .failure(let failure): outcome = "failed: \(failure.message)"
                    }
                    sink = nil
                }
            }
            runLoopUntilDone(loop)
            XCTAssertEqual(outcome, "committed", "direct_io = \(directIO)")
            XCTAssertEqual(try Data(contentsOf: directory.appendingPathComponent(name)), Data(content), "direct_io = \(directIO)")
            if !directIO {
                XCTAssertEqual(openedDirect, false)
            } else if try Self.fileSystemSupportsDirectIO(directory) {
                XCTAssertEqual(openedDirect, true, "the .part was not opened with O_DIRECT")
                XCTAssertEqual(directAtTheEnd, true, "a write fell back to buffered: a batch was not block-aligned")
            }
        }
    }

    /// The reader is paused when the filling batch holds its share of the high-water mark, and resumed as soon as that
    /// batch goes to the thread pool (not when everything is written): the network, the hash and the disk overlap.
    /// The backlog never passes the high-water mark by more than one chunk per buffer (each may pass its share by
    /// the chunk that filled it).
    func testReadingResumesWhenTheFillingBatchGoesToDisk() throws {
        let loop = try EventLoop()
        let buffers = UploadSink.makeBufferPool()
        let chunk = [UInt8](repeating: 7, count: 64 << 10)
        let total = 3 * UploadSink.maximumHighWater
        let feeder = PacedFeeder(makeSink(loop, "overlap.bin", size: total, buffers: buffers, durable: false),
                                 chunk: chunk, total: total)
        var peakBacklog = 0, smallestBacklogAtResume = Int.max
        feeder.afterAppend = { peakBacklog = max(peakBacklog, $0.backlog) }
        feeder.beforeResume = { smallestBacklogAtResume = min(smallestBacklogAtResume, $0.backlog) }
        feeder.start()
        runLoopUntilDone(loop)
        XCTAssertEqual(feeder.outcome, "committed")
        XCTAssertGreaterThan(feeder.pauses, 1, "an upload of three high-water marks fills its filling batch several times")
        XCTAssertEqual(feeder.resumes, feeder.pauses, "every pause ended when its batch went to disk")
        XCTAssertGreaterThanOrEqual(smallestBacklogAtResume,
                                    UploadSink.maximumHighWater / UploadSink.slots - UploadSink.directAlignment,
                                    "resumed as the full batch went to the pool, not after the disk had caught up")
        XCTAssertLessThanOrEqual(peakBacklog, UploadSink.maximumHighWater + UploadSink.slots * chunk.count)
        XCTAssertEqual(buffers.outstanding, 0)
    }

    /// An upload paused on a small share (64 uploads on the worker) resumes when the others end and its share grows,
    /// although what it holds is then under the new batch floor and no batch leaves: the job that finishes next tells
    /// the reader (before, the session stayed paused for good: two loadtest sessions timed out that way).
    func testAPausedUploadResumesWhenItsShareGrows() throws {
        let loop = try EventLoop()
        let buffers = UploadSink.makeBufferPool()
        var others = (0..<63).map { makeSink(loop, "other\($0)", size: 1, buffers: buffers) }
        let feeder = PacedFeeder(makeSink(loop, "grows.bin", size: 4 << 20, buffers: buffers, durable: false),
                                 chunk: [UInt8](repeating: 3, count: 64 << 10), total: 4 << 20)
        XCTAssertEqual(feeder.sink?.highWater, UploadSink.minimumHighWater)
        feeder.whenPaused = { upload in
            guard !others.isEmpty else { return }
            others.removeAll()  // the other uploads end while this one waits: its share grows to the whole budget
            XCTAssertFalse(upload.isFull)
            XCTAssertLessThan(upload.pendingBytes, min(UploadSink.minimumBatch, upload.lowWater), "no batch can leave")
        }
        feeder.start()
        runLoopUntilDone(loop)
        XCTAssertEqual(feeder.outcome, "committed")
        XCTAssertGreaterThanOrEqual(feeder.pauses, 1)
        XCTAssertEqual(feeder.resumes, feeder.pauses, "every pause ended")
        XCTAssertEqual(buffers.outstanding, 0)
    }

    /// Dropping an upload while several batches are on the thread pool (hashes and writes running or queued): the
    /// jobs already running finish, the queued ones never start, the .part file is removed once the last job is done
    /// (never while a write may still use its descriptor), no final name appears, and every buffer goes back.
    func testAbandonWithBatchesOnThePoolLeavesNothingBehind() throws {
        let loop = try EventLoop()
        let buffers = UploadSink.makeBufferPool()
        let chunk = [UInt8](repeating: 0x5a, count: 64 << 10)
        var sink: UploadSink? = makeSink(loop, "dropped.bin", size: 64 << 20, buffers: buffers)
        var batchesOnPool = -1
        sink?.prepare { result in
            guard case .success = result, let upload = sink else { return XCTFail("prepare failed") }
            // One loop turn: every slot's batch is handed to the pool and none can have come back yet.
            for _ in 0..<(UploadSink.slots * UploadSink.minimumBatch / chunk.count + 8) { upload.append(chunk[...]) }
            batchesOnPool = (upload.backlog - upload.pendingBytes) / UploadSink.minimumBatch
            upload.abandon()
            sink = nil
        }
        runLoopUntilDone(loop)
        XCTAssertEqual(batchesOnPool, UploadSink.slots - 1, "every batch slot was on the pool when the upload dropped")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [], "no .part, no final file")
        XCTAssertEqual(buffers.outstanding, 0, "the upload gave all its buffers back")
    }

    /// ext4, xfs and btrfs do O_DIRECT; elsewhere the test only checks the bytes (the sink falls back). The type from
    /// `stat -f` (statfs(2) is not in Swift's Glibc module); ext4 shows as "ext2/ext3" (one magic number for all three).
    private static func fileSystemSupportsDirectIO(_ url: URL) throws -> Bool {
        let stat = Process()
        stat.executableURL = URL(fileURLWithPath: "/usr/bin/stat")
        stat.arguments = ["-f", "-c", "%T", url.path]
        let output = Pipe()
        stat.standardOutput = output
        try stat.run()
        stat.waitUntilExit()
        let type = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return ["ext2/ext3", "xfs", "btrfs"].contains(type.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private func runLoopUntilDone(_ loop: EventLoop) {
        loop.run()
        XCTAssertTrue(loop.close())
    }
}

/// Feeds an upload the way a session does: `chunk` after `chunk` until `total`, stopping when the sink is full and
/// going on when it says there is room (`onDrained`), then `finish` with the right digest. The hooks see the sink
/// after each chunk, at each pause and before each resume.
private final class PacedFeeder {
    /// Released when the upload is finished (so its buffers go back to the pool).
    private(set) var sink: UploadSink?
    private let chunk: [UInt8]
    private let total: Int
    private let digest = DigestContext(.sha256)
    private var sent = 0
    private var paused = false
    private(set) var pauses = 0, resumes = 0
    private(set) var outcome: String?
    var afterAppend: (UploadSink) -> Void = { _ in }
    var whenPaused: (UploadSink) -> Void = { _ in }
    var beforeResume: (UploadSink) -> Void = { _ in }

    init(_ sink: UploadSink, chunk: [UInt8], total: Int) {
        self.sink = sink
        self.chunk = chunk
        self.total = total
        sink.onDrained = { [unowned self] in resume() }
    }

    func start() {
        sink?.prepare { [self] result in
            guard case .success = result else { return outcome = "prepare failed" }
            pump()
        }
    }

    private func resume() {
        guard paused, let upload = sink else { return }
        beforeResume(upload)
        paused = false
        resumes += 1
        pump()
    }

    private func pump() {
        guard let upload = sink else { return }
        while sent < total, !paused {
            upload.append(chunk[...])
            digest.update(chunk)
            sent += chunk.count
            afterAppend(upload)
            if upload.isFull {
                paused = true
                pauses += 1
                whenPaused(upload)
            }
        }
        guard sent == total, !paused else { return }
        upload.finish(clientDigest: digest.snapshot()) { [self] result in
            if case .failure(let failure) = result { outcome = "failed: \(failure.message)" } else { outcome = "committed" }
            sink = nil
        }
    }
}
