// One session's share of `ferry get`'s files (PROTOCOL.md §14.4): it takes the next job from the queue the sessions
// share, skips a file whose local copy already has the server's size and modification time (rsync's quick check: a
// re-run gets only what is missing), and otherwise gets it into its `.part` (PartFile) from where an earlier run or
// attempt stopped, checks it and renames it. A file whose bytes do not hash to the server's record is not kept: got
// again from the start once when a resumed prefix may be to blame, else an error (the server's copy is damaged).
//
//   next job ─quick check─► unchanged
//            └─Get(offset = .part's size)─► header ─► data… ─► end ─► digest ok: renamed │ mismatch: from 0 once, or failed
//                                                └─OperationError: failed (the .part kept for a later run)
import Foundation
import Protocol

/// The files still to get, shared by the sessions of one `ferry get`, and what became of each.
final class GetJobs {
    private var pending: ArraySlice<GetJob>
    private(set) var results: [GetResult] = []
    var onResult: ((GetResult) -> Void)?

    init(_ jobs: [GetJob]) { pending = jobs[...] }

    func next() -> GetJob? { pending.popFirst() }

    /// The jobs no session took (every session gave up).
    func takeRemaining() -> [GetJob] {
        defer { pending = [] }
        return Array(pending)
    }

    func record(_ result: GetResult) {
        results.append(result)
        onResult?(result)
    }
}

final class GetDownloader: StoreConversation {
    /// The file being got.
    private final class Getting {
        let job: GetJob
        var part: PartFile
        var header: GetHeader?
        /// Its bytes do not matter any more (a local write failed): the stream is read to its end and dropped.
        var failure: String?
        var restarted = false
        let startedAt = Date()

        init(job: GetJob, part: PartFile) {
            self.job = job
            self.part = part
        }
    }

    private let jobs: GetJobs
    private var getting: Getting?
    private var exhausted = false

    init(jobs: GetJobs) { self.jobs = jobs }

    /// The job this session holds, if its session ends before it is done (it is then failed with the session's reason).
    var unfinished: GetJob? { getting?.job }

    /// The file being got and the bytes its .part holds (the progress line).
    var inFlight: (remote: String, bytes: UInt64)? { getting.map { ($0.job.remote, $0.part.length) } }

    var nextRequest: StoreRequest? {
        if getting == nil, !exhausted { takeNext() }
        guard let getting else { return nil }
        return .get(GetRequest(path: getting.job.remote, offset: getting.part.length))
    }

    func answered(_ answer: StoreAnswer) {
        // Refused, or the server could not send the rest: what arrived stays in the .part for a later run.
        guard let getting, case .failed(let failure) = answer else { return }
        getting.part.keepForLater()
        jobs.record(GetResult(remote: getting.job.remote, local: getting.job.local, status: .failed,
                              bytes: getting.part.length, error: failure.message))
        self.getting = nil
    }

    func getStarted(_ header: GetHeader) {
        guard let getting else { return }
        getting.header = header
        do { try getting.part.keep(upTo: header.offset, expecting: header.size - min(header.offset, header.size)) } catch { getting.failure = "\(error)" }
    }

    func getData(_ bytes: ArraySlice<UInt8>) {
        guard let getting, getting.failure == nil else { return }
        do { try getting.part.append(bytes) } catch { getting.failure = "\(error)" }
    }

    func getFinished() {
        guard let getting, let header = getting.header else { return }
        self.getting = nil
        var result = GetResult(remote: getting.job.remote, local: getting.job.local, status: .got, bytes: header.size,
                               sha256: header.sha256, resumedFrom: header.offset,
                               seconds: Date().timeIntervalSince(getting.startedAt))
        if let failure = getting.failure {
            getting.part.keepForLater()
            result.status = .failed
            result.error = failure
            return jobs.record(result)
        }
        do {
            if try getting.part.finish(header) { return jobs.record(result) }
        } catch {
            result.status = .failed
            result.error = "\(error)"
            return jobs.record(result)
        }
        // The bytes do not hash to the server's record. A resumed prefix may be someone else's: once from the start.
        if header.offset > 0, !getting.restarted, let fresh = try? PartFile(destination: getting.job.local) {
            let again = Getting(job: getting.job, part: fresh)
            again.restarted = true
            self.getting = again
            return
        }
        result.status = .failed
        result.error = "the bytes received do not hash to the SHA-256 the server recorded for this file: its copy on the "
            + "server is damaged (nothing was kept; tell the server's operator)"
        jobs.record(result)
    }

    /// The next job that needs the server: those whose local copy passes the quick check are reported unchanged.
    private func takeNext() {
        while let job = jobs.next() {
            if Self.unchanged(job) {
                jobs.record(GetResult(remote: job.remote, local: job.local, status: .unchanged, bytes: job.size))
                continue
            }
            do {
                // A name with no directory in it ("copy.bin") goes into the current one: nothing to make.
                let parent = (job.local as NSString).deletingLastPathComponent
                if !parent.isEmpty { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
                getting = Getting(job: job, part: try PartFile(destination: job.local))
                return
            } catch {
                jobs.record(GetResult(remote: job.remote, local: job.local, status: .failed, error: "\(error)"))
            }
        }
        exhausted = true
    }

    /// rsync's quick check: the local file has the server's size and modification time (which ferry get sets).
    static func unchanged(_ job: GetJob) -> Bool {
        guard let modified = job.modified else { return false }
        var info = stat()
        guard lstat(job.local, &info) == 0, info.st_mode & S_IFMT == S_IFREG, UInt64(info.st_size) == job.size else {
            return false
        }
        return Int64(info.st_mtim.tv_sec) == modified.seconds && Int(info.st_mtim.tv_nsec) == Int(modified.nanoseconds)
    }
}
