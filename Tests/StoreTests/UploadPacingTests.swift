// How an UploadWriter paces its reader (from DaemonTests/UploadSinkTests, which tested the UploadSink it replaces): a
// writer's share of the worker's budget, `.room` as soon as the filling batch goes to the executor, a paused upload
// resumed when its share grows, and direct I/O storing the exact bytes whatever the chunking.
import Foundation
import Platform
import Protocol
import XCTest

@testable import Store

final class UploadPacingTests: StoreTestCase {
    /// A lone upload may queue the worker's whole budget; 8 uploads each an 8th; 200 uploads the minimum share; once
    /// the others are dropped, a new lone upload the maximum again.
    func testWritersShareTheWorkersBudget() throws {
        let store = try makeStore()
        var runs = [try upload(store, "s0")]
        runs[0].stopAt = 0  // receiving, never finished
        drive(runs, on: executor)
        XCTAssertEqual(runs[0].writer.highWater, BatchPipeline.maximumHighWater)
        runs += try (1..<8).map { try upload(store, "s\($0)") }
        runs.forEach { $0.stopAt = 0 }
        drive(runs, on: executor)
        XCTAssertEqual(runs[0].writer.highWater, BatchPipeline.workerBudget / 8)
        runs += try (8..<200).map { try upload(store, "s\($0)") }
        runs.forEach { $0.stopAt = 0 }
        drive(runs, on: executor)
        XCTAssertTrue(runs.allSatisfy(\.isReady))
        XCTAssertEqual(runs[0].writer.highWater, BatchPipeline.minimumHighWater)
        runs.forEach { $0.writer.abandon() }
        executor.runAll()
        XCTAssertEqual(buffers.outstanding, 0)
        let again = try upload(store, "again")
        again.stopAt = 0
        drive([again], on: executor)
        XCTAssertEqual(again.writer.highWater, BatchPipeline.maximumHighWater)
        again.writer.abandon()
        executor.runAll()
        assertNothingHeld(store)
    }

    /// The reader is paused when the filling batch holds its share of the high-water mark, and resumed as soon as that
    /// batch goes to the executor (not when everything is written): the network, the hash and the disk overlap. The
    /// backlog never passes the high-water mark by more than one chunk per buffer.
    func testReadingResumesWhenTheFillingBatchGoesToTheExecutor() throws {
        let store = try makeStore()
        let chunk = 64 << 10
        let run = try upload(store, "overlap.bin", pattern(3 * BatchPipeline.maximumHighWater), chunk: chunk)
        var peakBacklog = 0, smallestBacklogAtResume = Int.max
        run.afterAppend = { peakBacklog = max(peakBacklog, $0.backlog) }
        run.beforeResume = { smallestBacklogAtResume = min(smallestBacklogAtResume, $0.backlog) }
        drive([run], on: executor)
        XCTAssertNotNil(run.receipt)
        XCTAssertGreaterThan(run.pauses, 1, "an upload of three high-water marks fills its filling batch several times")
        XCTAssertEqual(run.resumes, run.pauses, "every pause ended when its batch went to the executor")
        XCTAssertGreaterThanOrEqual(smallestBacklogAtResume,
                                    BatchPipeline.maximumHighWater / BatchPipeline.slots - BatchPipeline.directAlignment,
                                    "resumed as the full batch went to the executor, not after the disk had caught up")
        XCTAssertLessThanOrEqual(peakBacklog, BatchPipeline.maximumHighWater + BatchPipeline.slots * chunk)
        XCTAssertEqual(contents("alice/overlap.bin"), run.content)
        assertNothingHeld(store)
    }

    /// An upload paused on a small share (64 uploads on the worker) resumes when the others end and its share grows,
    /// although what it holds is then under the new batch floor and no batch leaves: the job that finishes next says
    /// `.room` (without it the reader would stay paused for good).
    func testAPausedUploadResumesWhenItsShareGrows() throws {
        let store = try makeStore()
        var others = try (0..<63).map { try upload(store, "other\($0)") }
        others.forEach { $0.stopAt = 0 }
        let run = try upload(store, "grows.bin", pattern(4 << 20), chunk: 64 << 10)
        var shareAtStart: Int?
        run.afterAppend = { shareAtStart = shareAtStart ?? $0.highWater }
        run.whenPaused = { [unowned self] writer in
            guard !others.isEmpty else { return }
            others.forEach { $0.writer.abandon() }  // the other uploads end while this one waits: its share grows
            others.removeAll()
            XCTAssertEqual(writer.highWater, BatchPipeline.maximumHighWater)
            XCTAssertFalse(writer.isFull)
            // All it holds is at most the floor, and some of it is in batches on the executor: the filling batch is
            // under min(minimumBatch, lowWater), so no batch can leave.
            XCTAssertLessThanOrEqual(writer.backlog, min(BatchPipeline.minimumBatch, writer.highWater / 4))
            XCTAssertTrue(executor.queuedKinds.contains(.write))
        }
        drive(others + [run], on: executor)
        XCTAssertEqual(shareAtStart, BatchPipeline.minimumHighWater)
        XCTAssertNotNil(run.receipt)
        XCTAssertGreaterThanOrEqual(run.pauses, 1)
        XCTAssertEqual(run.resumes, run.pauses, "every pause ended")
        XCTAssertEqual(contents("alice/grows.bin"), run.content)
        assertNothingHeld(store)
    }

    /// A file of odd size in odd chunks, with direct I/O on and off: stored byte for byte. With it on, the .part is
    /// really open with O_DIRECT where the file system supports it, and every write but the last (partial) block's
    /// kept O_DIRECT: an unaligned batch, or a write that fell back to buffered, clears it (fcntl) with writes still
    /// to come — the flag is read from /proc/self/fdinfo before each job.
    func testDirectIOStoresTheExactBytesWhateverTheChunking() throws {
        let store = try makeStore()
        let content = (0..<(3 << 20) + 4321).map { UInt8(truncatingIfNeeded: $0 &* 131 ^ $0 >> 11) }
        for directIO in [true, false] {
            let run = try upload(store, "direct-\(directIO).bin", content, directIO: directIO, chunk: 65_537)
            var sawDirect = false, clearedWithWritesToCome = false
            let check = { [unowned self] in
                guard let flags = openFlags(ofPart: run.partName) else { return }
                if flags & BlockingFileIO.directIOFlag != 0 {
                    sawDirect = true
                } else if sawDirect, executor.queuedKinds.contains(.write) {
                    clearedWithWritesToCome = true  // writes go in file order: only the last may clear it
                }
            }
            run.afterAppend = { [unowned self] _ in  // jobs run while receiving: many batches cut before finish
                check()
                executor.runNext()
            }
            drive([run], on: executor, between: check)
            XCTAssertNotNil(run.receipt, "direct_io = \(directIO)")
            XCTAssertEqual(contents("alice/direct-\(directIO).bin"), content, "direct_io = \(directIO)")
            if !directIO {
                XCTAssertFalse(sawDirect)
            } else if try Self.fileSystemSupportsDirectIO(rootPath) {
                XCTAssertTrue(sawDirect, "the .part was not opened with O_DIRECT")
                XCTAssertFalse(clearedWithWritesToCome, "a write fell back to buffered: a batch was not block-aligned")
            }
        }
        assertNothingHeld(store)
    }

    /// The open flags of this process's descriptor on the staging file `name`, from /proc/self/fdinfo.
    private func openFlags(ofPart name: String) -> Int32? {
        let suffix = "/" + Self.staging + "/" + name
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd),
                  target.hasSuffix(suffix), target.hasPrefix(rootPath),
                  let info = try? String(contentsOfFile: "/proc/self/fdinfo/" + fd, encoding: .utf8) else { continue }
            for line in info.split(separator: "\n") where line.hasPrefix("flags:") {
                return Int32(line.dropFirst("flags:".count).trimmingCharacters(in: .whitespaces), radix: 8)
            }
        }
        return nil
    }

    /// ext4, xfs and btrfs do O_DIRECT; elsewhere the test only checks the bytes (the writer falls back). The type from
    /// `stat -f` (statfs(2) is not in Swift's Glibc module); ext4 shows as "ext2/ext3" (one magic number for all three).
    private static func fileSystemSupportsDirectIO(_ path: String) throws -> Bool {
        let stat = Process()
        stat.executableURL = URL(fileURLWithPath: "/usr/bin/stat")
        stat.arguments = ["-f", "-c", "%T", path]
        let output = Pipe()
        stat.standardOutput = output
        try stat.run()
        stat.waitUntilExit()
        let type = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return ["ext2/ext3", "xfs", "btrfs"].contains(type.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
