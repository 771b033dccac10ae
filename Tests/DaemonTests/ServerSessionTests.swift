// The server session without a socket (ServerSession + UploadHandler + a real Store stepped by hand): an upload, a
// failure in mid-upload, a slow store that pauses the socket, and a dropped connection — each with more than one
// upload in the session where it matters, and nothing left behind.
import Foundation
import Platform
import Protocol
import Store
import TestSupport
import XCTest

#if canImport(Glibc)
import Glibc
#endif

@testable import Daemon

final class ServerSessionTests: XCTestCase {
    /// Two uploads in one session: Open → the store prepares → Accepted → Data → Close → the commit job → Committed;
    /// the files are byte-exact and nothing else is under the root.
    func testUploadsAreStoredOneAfterAnother() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("session"))
        try rig.handshake()
        for (name, size) in [("docs/a.bin", 300_000), ("docs/deeper/b.bin", 70_001)] {
            let content = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 ^ $0 >> 9) }
            rig.open(name, size: size)
            try rig.pump()
            XCTAssertEqual(rig.executor.queuedResultTypes.count, 1, "\(name): the prepare job waits for the store")
            XCTAssertFalse(rig.events.contains(.uploadAccepted(offset: 0)) && name == "docs/a.bin", "accepted before the store was ready")
            try rig.runJobs()
            XCTAssertEqual(rig.events.last, .uploadAccepted(offset: 0), name)
            try rig.send(content)
            try rig.finish(digest: DigestContext.hash(.sha256, content))
            try rig.runJobs()
            XCTAssertEqual(rig.events.last, .uploadCommitted(UploadReceipt(storedName: name, size: UInt64(size),
                                                                           digest: DigestContext.hash(.sha256, content))))
            XCTAssertEqual([UInt8](try Data(contentsOf: rig.root.appendingPathComponent("alice/\(name)"))), content)
        }
        XCTAssertEqual(rig.storedFiles(), ["alice/docs/a.bin", "alice/docs/deeper/b.bin"])
        XCTAssertFalse(rig.session.isBusy)
        XCTAssertEqual(rig.store.heldDirectories, 0)
        XCTAssertFalse(rig.closed)
    }

    /// A write that fails in mid-upload (the file-size limit, as a full disk would): the client hears the failure
    /// while it sends, nothing is stored, the directories the upload made are gone, and the next upload in the same
    /// session commits. A wrong digest and a client's Abort end their uploads the same clean way.
    func testAFailureInMidUploadEndsThatUploadOnly() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("session"))
        try rig.handshake()

        // 1. The disk refuses the write: RLIMIT_FSIZE (EFBIG once past it; SIGXFSZ ignored so the write just fails).
        let big = Array(repeating: UInt8(0xA5), count: 3 << 20)
        rig.open("new/dir/big.bin", size: big.count)
        try rig.pump()
        try rig.runJobs()
        XCTAssertEqual(rig.events.last, .uploadAccepted(offset: 0))
        let previousHandler = signal(SIGXFSZ, SIG_IGN)
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        var lowered = limit
        lowered.rlim_cur = 1 << 20
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &lowered), 0)
        do {
            defer {
                _ = setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
                signal(SIGXFSZ, previousHandler)
            }
            try rig.send(big)
            try rig.runJobs()
        }
        guard case .uploadFailed(let failure)? = rig.events.last else { return XCTFail("no failure: \(rig.events.suffix(2))") }
        XCTAssertEqual(failure.code, .storageFailure, failure.message)
        XCTAssertTrue(failure.message.contains("writing 'new/dir/big.bin'"), failure.message)
        XCTAssertTrue(rig.client.canStartUpload, "the client's upload ended with the failure")
        XCTAssertEqual(rig.storedFiles(), [], "no .part, no final file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: rig.root.appendingPathComponent("alice/new").path),
                       "the directories the failed upload made are gone")

        // 2. A wrong digest: refused at Close.
        let small = Array("small".utf8)
        try rig.upload("wrong.txt", small, digest: [UInt8](repeating: 0, count: 32))
        guard case .uploadFailed(let mismatch)? = rig.events.last else { return XCTFail("\(rig.events.suffix(2))") }
        XCTAssertEqual(mismatch.code, .digestMismatch)

        // 3. The client aborts in mid-upload.
        rig.open("aborted/x.bin", size: 1 << 20)
        try rig.pump()
        try rig.runJobs()
        try rig.send(Array(repeating: 1, count: 100_000))
        rig.client.abortUpload(now: rig.now)
        try rig.pump()
        try rig.runJobs()
        XCTAssertEqual(rig.storedFiles(), [])

        // 4. The session goes on.
        try rig.upload("new/dir/after.txt", small)
        guard case .uploadCommitted? = rig.events.last else { return XCTFail("\(rig.events.suffix(2))") }
        XCTAssertEqual(rig.storedFiles(), ["alice/new/dir/after.txt"])
        XCTAssertFalse(rig.closed)
        XCTAssertEqual(rig.store.heldDirectories, 0)
        XCTAssertEqual(rig.buffers.outstanding, 0)
    }

    /// A store that does not keep up: with no job run, the session asks to stop reading once the upload holds its
    /// share, and stops decrypting what it already received (the backlog stays bounded); when the store catches up
    /// it resumes by itself, processes what waited, and the upload commits byte-exact.
    func testASlowStorePausesReadingAndResumes() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("session"))
        try rig.handshake()
        let content = (0..<(12 << 20)).map { UInt8(truncatingIfNeeded: $0 >> 3) }
        rig.open("slow.bin", size: content.count)
        try rig.pump()
        try rig.runJobs()
        try rig.send(content)  // the store runs no job meanwhile
        XCTAssertTrue(rig.actions.contains(.pauseReading), "the session never paused the socket")
        XCTAssertFalse(rig.reading)
        XCTAssertTrue(rig.session.pausedForStore)
        let writer = try XCTUnwrap(rig.actions.compactMap { if case .watch(let w) = $0 { w } else { nil } }.last)
        XCTAssertLessThanOrEqual(writer.backlog, writer.highWater + Limits.maxDataChunk,
                                 "past the upload's share: the session went on decrypting while paused")
        XCTAssertLessThan(writer.received, UInt64(content.count), "everything was taken in despite the pause")

        try rig.runJobs()  // the disk catches up: .room resumes the session, which processes what waited
        XCTAssertTrue(rig.actions.contains(.resumeReading))
        XCTAssertTrue(rig.reading)
        XCTAssertEqual(writer.received, UInt64(content.count))
        try rig.finish(digest: DigestContext.hash(.sha256, content))
        try rig.runJobs()
        guard case .uploadCommitted? = rig.events.last else { return XCTFail("\(rig.events.suffix(2))") }
        XCTAssertEqual([UInt8](try Data(contentsOf: rig.root.appendingPathComponent("alice/slow.bin"))), content)
    }

    /// The connection drops after Close, while the commit job is queued: the file was whole and verified, so the
    /// commit completes, and its outcome is counted as committed (not as an aborted upload) although no client hears it.
    func testACommitUnderWayWhenTheConnectionDropsCompletesAndCounts() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("session"))
        try rig.handshake()
        let content = Array("late but whole".utf8)
        rig.open("late.bin", size: content.count)
        try rig.pump()
        try rig.runJobs()
        try rig.send(content)
        try rig.finish(digest: DigestContext.hash(.sha256, content))
        // Run the hash and the write, stopping at the commit job.
        while rig.executor.queuedResultTypes.first.map({ $0 != Result<Void, StoreFailure>.self }) ?? false {
            try rig.runJobs(1)
        }
        XCTAssertFalse(rig.executor.isIdle, "the commit job is queued")
        rig.session.peerEnded()
        rig.session.connectionClosed()
        rig.executor.runAll()
        XCTAssertEqual(rig.storedFiles(), ["alice/late.bin"])
        let samples = Exposition.samples(String(decoding: rig.metrics.exposition(), as: UTF8.self))
        XCTAssertEqual(samples[#"ferry_uploads_total{result="committed",reason="none"}"#], 1)
        XCTAssertEqual(samples[#"ferry_uploads_total{result="failed",reason="aborted"}"#] ?? 0, 0)
        XCTAssertEqual(rig.store.heldDirectories, 0)
    }

    /// The connection drops in mid-upload (after a first upload committed): once its jobs end, the upload in flight is
    /// kept for resume — its .part and record in staging, nothing under its final name, none of its directories, every
    /// buffer back — and the committed file stays.
    func testADroppedConnectionKeepsThePartialAndOnlyWhatWasCommitted() throws {
        let rig = try SessionRig(directory: makeTemporaryDirectory("session"))
        try rig.handshake()
        let kept = Array("kept".utf8)
        try rig.upload("kept.txt", kept)

        rig.open("a/b/c/dropped.bin", size: 8 << 20)
        try rig.pump()
        try rig.runJobs()
        try rig.send(Array(repeating: 7, count: 2 << 20))
        XCTAssertFalse(rig.executor.isIdle, "jobs still queued when the connection drops")
        rig.session.peerEnded()
        rig.session.connectionClosed()
        try rig.runJobs()
        let part = rig.store.rules.partName(identity: "alice", relativePath: "a/b/c/dropped.bin")
        let record = String(part.dropLast(".part".count)) + ".resume"
        XCTAssertEqual(rig.storedFiles(), [".staging/\(part)", ".staging/\(record)", "alice/kept.txt"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: rig.root.appendingPathComponent("alice/a").path))
        XCTAssertEqual(rig.store.partials.kept.count, 1)
        XCTAssertEqual(rig.store.partials.kept.bytes, 2 << 20, "the bytes received before the drop")
        XCTAssertEqual(rig.store.heldDirectories, 0)
        XCTAssertEqual(rig.buffers.outstanding, 0)
        XCTAssertFalse(rig.session.isBusy)
    }
}
