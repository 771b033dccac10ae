// Drives an UploadWriter through a whole upload the way a session does: once `.ready` comes it appends `chunk` after
// `chunk`, stops when the writer `isFull` and goes on when `.room` comes, then `finish`es with the digest (the right
// one unless the test sets another). Every event is recorded. `drive` interleaves several runs with the jobs of one
// SteppedExecutor: the runs feed, one job runs, the runs feed again, until nothing is queued.
import Protocol
import Platform
import Store
import TestSupport
import XCTest

final class UploadRun {
    let writer: UploadWriter
    let content: [UInt8]
    let chunk: Int
    /// The name of this upload's .part file in the staging directory.
    let partName: String
    /// What `finish` sends (the content's SHA-256 unless changed).
    var clientDigest: [UInt8]
    /// Feed only this many bytes and never finish (for tests that drop the upload midway); nil: the whole content.
    var stopAt: Int?
    private(set) var events: [UploadWriter.Event] = []
    private(set) var sent = 0
    private(set) var finished = false
    private(set) var paused = false
    private(set) var pauses = 0, resumes = 0
    private var roomWhilePaused = false
    var afterAppend: (UploadWriter) -> Void = { _ in }
    var whenPaused: (UploadWriter) -> Void = { _ in }
    var beforeResume: (UploadWriter) -> Void = { _ in }

    init(store: Store, path: StoredPath, content: [UInt8], declaredSize: UInt64? = nil, chunk: Int,
         expectedDigest: [UInt8]? = nil,
         settings: UploadWriter.Settings, executor: BlockingExecutor, buffers: IOBufferPool, quota: StoreQuota? = nil) {
        self.content = content
        self.chunk = chunk
        clientDigest = DigestContext.hash(.sha256, content)
        partName = store.rules.partName(identity: path.identity, relativePath: path.relativePath)
        writer = UploadWriter(store: store, path: path, size: declaredSize ?? UInt64(content.count), expectedDigest: expectedDigest,
                              settings: settings, executor: executor, buffers: buffers, quota: quota)
        writer.onEvent = { [unowned self] event in
            events.append(event)
            if case .ready = event { sent = Int(writer.resumedAt) }  // as a client does: from the server's offset
            if case .room = event, paused { roomWhilePaused = true }
        }
    }

    var isReady: Bool { events.contains(.ready) }

    var receipt: UploadReceipt? {
        for case .committed(let receipt) in events { return receipt }
        return nil
    }

    var failure: StoreFailure? {
        for case .failed(let failure) in events { return failure }
        return nil
    }

    /// Events other than `.room`, which may come any number of times.
    var milestones: [UploadWriter.Event] { events.filter { $0 != .room } }

    /// Appends what the writer takes now (resuming first if `.room` came while paused), and finishes once all is sent.
    func feed() {
        guard isReady, failure == nil, !finished else { return }
        if paused {
            guard roomWhilePaused else { return }
            beforeResume(writer)
            paused = false
            roomWhilePaused = false
            resumes += 1
        }
        let limit = stopAt ?? content.count
        while sent < limit, !paused {
            let end = min(sent + chunk, limit)
            writer.append(content[sent..<end])
            sent = end
            afterAppend(writer)
            if writer.isFull {
                paused = true
                pauses += 1
                whenPaused(writer)
            }
        }
        guard stopAt == nil, sent == content.count, !paused else { return }
        finished = true
        writer.finish(clientDigest: clientDigest)
    }
}

/// Feeds `runs` and runs `executor`'s jobs one at a time until nothing is queued (every upload committed, failed,
/// waiting for `.room` that will not come, or stopped at `stopAt`). `between` runs before each job.
func drive(_ runs: [UploadRun], on executor: SteppedExecutor, limit: Int = 200_000, between: () -> Void = {},
           file: StaticString = #filePath, line: UInt = #line) {
    var steps = 0
    repeat {
        for run in runs { run.feed() }
        between()
        steps += 1
        if steps > limit { return XCTFail("uploads still running after \(limit) jobs", file: file, line: line) }
    } while executor.runNext()
}
