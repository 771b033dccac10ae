// One session's share of `ferry get`'s files (PROTOCOL.md §14.4): it takes the next job from the queue the sessions
// share, skips a file whose local copy already has the server's size and modification time (rsync's quick check: a
// re-run gets only what is missing), and otherwise gets it into its partial (PartFile) from where an earlier run or
// attempt stopped, checks it and renames it. A file whose bytes do not hash to the server's record is not kept: got
// again from the start once when a resumed prefix may be to blame, else an error (the server's copy is damaged).
//
//   next job ─quick check─► unchanged
//            └─partial locked (and what it held hashed, on the thread pool)
//                 └─Get(offset = its size)─► header ─► data… ─► end ─► (thread pool, the session going on with the next
//                                    │          │                           file) digest ok: synced, renamed │ mismatch:
//                                    │          │                           from 0 once, or failed
//                                    │          └─a local write fails: Get stopped (connection closed), failed, partial kept
//                                    └─OperationError: failed (the partial kept for a later run)
import EventLoop
import Foundation
import Platform
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
        var restarted = false
        let startedAt = Date()

        init(job: GetJob, part: PartFile) {
            self.job = job
            self.part = part
        }
    }

    private let jobs: GetJobs
    private var getting: Getting?
    private var loop: EventLoop?
    private var askAgain: () -> Void = {}
    /// A local file is being hashed on the thread pool — the partial an earlier run left, or a file compared by
    /// content (quickCheck): the Get is asked, or the file found unchanged, once it is.
    private var hashing = false
    /// Files whose last bytes arrived, being checked, synced and renamed on the thread pool.
    private var finishing = 0
    /// Files to get again from the start (a resumed prefix that was not the file's), before any other.
    private var restarts: [GetJob] = []

    /// Nothing to ask until the thread pool is done: a prefix being hashed, or (with nothing else to ask) a file
    /// being finished, which may yet need to be got again.
    var preparing: Bool { hashing || (finishing > 0 && getting == nil) }

    init(jobs: GetJobs) { self.jobs = jobs }

    func attach(loop: EventLoop, askAgain: @escaping () -> Void) {
        self.loop = loop
        self.askAgain = askAgain
    }

    /// The jobs this session holds, if its session ends before they are done (they are then failed with the
    /// session's reason).
    var unfinished: [GetJob] { (getting.map { [$0.job] } ?? []) + restarts }

    /// The run was interrupted (after its loop ended): the file being got lets its partial go, kept for the next run.
    /// Returns each job this session held, with the bytes its partial holds.
    func interrupt() -> [(job: GetJob, kept: UInt64)] {
        var held = restarts.map { (job: $0, kept: UInt64(0)) }
        if let getting { held.insert((getting.job, getting.part.keepForLater()), at: 0) }
        getting = nil
        restarts = []
        return held
    }

    /// The file being got and the bytes its partial holds (the progress line).
    var inFlight: (remote: String, bytes: UInt64)? { getting.map { ($0.job.remote, $0.part.length) } }

    var nextRequest: StoreRequest? {
        if getting == nil, !hashing { takeNext() }
        guard let getting, !hashing else { return nil }
        return .get(GetRequest(path: getting.job.remote, offset: getting.part.length))
    }

    func answered(_ answer: StoreAnswer) {
        // Refused, or the server could not send the rest: what arrived stays in the partial for a later run.
        guard let getting, case .failed(let failure) = answer else { return }
        self.getting = nil
        fail(getting, failure.message)
    }

    func getStarted(_ header: GetHeader) -> GetFlow {
        guard let getting else { return .more }
        getting.header = header
        do {
            try getting.part.keep(upTo: header.offset, expecting: header.size - min(header.offset, header.size))
            return .more
        } catch {
            return stop(getting, "\(error)")
        }
    }

    func getData(_ bytes: ArraySlice<UInt8>) -> GetFlow {
        guard let getting else { return .more }
        do {
            try getting.part.append(bytes)
            return .more
        } catch {
            return stop(getting, "\(error)")
        }
    }

    /// A local failure (the disk full, a write refused): the rest of the file would be read for nothing, so the Get
    /// is stopped (the session closes its connection, the one way to stop one: PROTOCOL.md §14.4) and the file
    /// failed with what its partial holds; the session goes on with the next file on a new connection.
    private func stop(_ getting: Getting, _ message: String) -> GetFlow {
        self.getting = nil
        fail(getting, message)
        return .stop
    }

    private func fail(_ getting: Getting, _ message: String) {
        let kept = getting.part.keepForLater()
        jobs.record(GetResult(remote: getting.job.remote, local: getting.job.local, status: .failed, bytes: kept,
                              error: message))
    }

    /// The whole file arrived: checked, synced and renamed on the thread pool (an fdatasync takes milliseconds, which
    /// the loop's other sessions must not wait for), while this session goes on with the next file.
    func getFinished() {
        guard let getting, let header = getting.header else { return }
        self.getting = nil
        guard let loop else { return finished(getting, header, Self.finish(getting.part, header)) }
        finishing += 1
        let work = FinishWork(part: getting.part, header: header)
        ThreadPool.run(loop, { Self.finish(work.part, work.header) }, then: { [self] outcome in
            finishing -= 1
            finished(getting, header, outcome)
            askAgain()
        })
    }

    /// What the pool thread is handed: the partial, which nothing on the loop touches any more.
    private struct FinishWork: @unchecked Sendable {
        let part: PartFile
        let header: GetHeader
    }

    private enum FinishOutcome: Sendable {
        case renamed
        case mismatch
        case failed(String)
    }

    private static func finish(_ part: PartFile, _ header: GetHeader) -> FinishOutcome {
        do { return try part.finish(header) ? .renamed : .mismatch } catch { return .failed("\(error)") }
    }

    private func finished(_ getting: Getting, _ header: GetHeader, _ outcome: FinishOutcome) {
        var result = GetResult(remote: getting.job.remote, local: getting.job.local, status: .got, bytes: header.size,
                               sha256: header.sha256, resumedFrom: header.offset,
                               seconds: Date().timeIntervalSince(getting.startedAt))
        switch outcome {
        case .renamed:
            return jobs.record(result)
        case .failed(let message):
            return fail(getting, message)
        case .mismatch where header.offset > 0 && !getting.restarted:
            // The bytes do not hash to the server's record, and a resumed prefix may be someone else's (the partial
            // is gone now): once more from the start.
            return restarts.append(getting.job)
        case .mismatch:
            result.status = .failed
            result.bytes = 0
            result.error = "the bytes received do not hash to the SHA-256 the server recorded for this file: its copy "
                + "on the server is damaged (nothing was kept; tell the server's operator)"
            jobs.record(result)
        }
    }

    /// The next job that needs the server: those whose local copy passes the quick check are reported unchanged. A
    /// partial an earlier run left is hashed on the thread pool first (`preparing`).
    private func takeNext() {
        while let (job, restarted) = restarts.isEmpty ? jobs.next().map({ ($0, false) }) : (restarts.removeFirst(), true) {
            if !restarted {
                switch Self.quickCheck(job) {
                case .unchanged:
                    jobs.record(GetResult(remote: job.remote, local: job.local, status: .unchanged, bytes: job.size))
                    continue
                case .hashToCompare(let recorded):
                    guard let loop else { break }
                    return compare(job, with: recorded, loop: loop)
                case .changed:
                    break
                }
            }
            if begin(job, restarted: restarted) { return }
        }
    }

    /// The file's partial locked, and what it held hashed: true when its Get can be asked (or will be, once hashed).
    private func begin(_ job: GetJob, restarted: Bool) -> Bool {
        do {
            try Self.makeRoom(for: job)
            let part = try PartFile(destination: job.local, partPath: job.partPath)
            let getting = Getting(job: job, part: part)
            getting.restarted = restarted
            self.getting = getting
            if part.needsPrefixHash, let loop { hashPrefix(getting, loop: loop) }
            return true
        } catch {
            jobs.record(GetResult(remote: job.remote, local: job.local, status: .failed, error: "\(error)"))
            return false
        }
    }

    /// A local file of the server's size whose time the server does not know (the upload carried none): hashed on
    /// the thread pool and compared with the recorded SHA-256 — reading it here costs less than getting it again.
    private func compare(_ job: GetJob, with recorded: [UInt8], loop: EventLoop) {
        hashing = true
        let path = job.local
        ThreadPool.run(loop, { LocalFileDigest.of(path: path) }, then: { [self] digest in
            hashing = false
            if let digest, constantTimeEqual(digest, recorded) {
                jobs.record(GetResult(remote: job.remote, local: job.local, status: .unchanged, bytes: job.size))
            } else {
                _ = begin(job, restarted: false)
            }
            askAgain()
        })
    }

    private func hashPrefix(_ getting: Getting, loop: EventLoop) {
        hashing = true
        getting.part.hashPrefix(loop: loop) { [self] failure in
            hashing = false
            if let failure, self.getting === getting {
                self.getting = nil
                fail(getting, failure.description)
            }
            askAgain()
        }
    }

    /// The destination's directory made (a name with none, "copy.bin", goes into the current one), and nothing in
    /// the way of the file's name that a rename could not replace. Below a listed directory's LOCAL, no component
    /// the server named may be a symbolic link: a server must not write outside LOCAL through one that is there.
    private static func makeRoom(for job: GetJob) throws {
        let local = job.local
        if let below = job.below {
            let base = below.isEmpty ? "" : (below.utf8.last == UInt8(ascii: "/") ? below : below + "/")
            var path = base
            // Split at the byte "/" (LocalPath.components), as the kernel reads the path.
            for component in LocalPath.components(String(decoding: local.utf8.dropFirst(base.utf8.count), as: UTF8.self)) {
                path += (path.utf8.count == base.utf8.count ? "" : "/") + component
                var info = stat()
                guard lstat(path, &info) == 0 else { break }  // not there yet: made below, as a directory
                if info.st_mode & S_IFMT == S_IFLNK {
                    throw PartFile.Failure(description: "\(path) is a symbolic link: a file from the server is never "
                        + "written through one (move it away, or get to another place)")
                }
            }
        }
        try LocalPath.makeDirectories(LocalPath.parent(of: local))
        var info = stat()
        if lstat(local, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            throw PartFile.Failure(description: "\(local) is a directory: move it away, or get the file to another place")
        }
    }

    enum QuickCheck: Equatable {
        case unchanged
        case changed
        /// The same size, and no time to compare: the content decides.
        case hashToCompare([UInt8])
    }

    /// rsync's quick check: the local file has the server's size and modification time (which ferry get sets). When
    /// the server has no time for the file (its upload carried none), a file of the right size is compared by content.
    static func quickCheck(_ job: GetJob) -> QuickCheck {
        var info = stat()
        guard lstat(job.local, &info) == 0, info.st_mode & S_IFMT == S_IFREG, UInt64(info.st_size) == job.size else {
            return .changed
        }
        guard let modified = job.modified else { return job.sha256.map { .hashToCompare($0) } ?? .changed }
        let same = Int64(info.st_mtim.tv_sec) == modified.seconds && Int(info.st_mtim.tv_nsec) == Int(modified.nanoseconds)
        return same ? .unchanged : .changed
    }
}

/// The SHA-256 of a local file (`ferry get`'s comparison by content), read in 1 MiB blocks; nil when it cannot be
/// read. Blocking: the thread pool's.
enum LocalFileDigest {
    static func of(path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        let digest = DigestContext(.sha256)
        let buffer = IOBuffer(capacity: 1 << 20)
        var offset: Int64 = 0
        while true {
            guard case .success(let count) = BlockingFileIO.read(fd: descriptor, into: buffer, count: buffer.capacity,
                                                                 offset: offset) else { return nil }
            if count == 0 { return digest.snapshot() }
            buffer.withUnsafeBytes { digest.update($0) }
            offset += Int64(count)
        }
    }
}
