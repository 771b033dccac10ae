// What `ferry get` asks (PROTOCOL.md §14), argument by argument: Stat says whether it is a file or a directory; a
// directory is listed with -R, page by page, into the files to get; each file is then got into its `.part`
// (PartFile) from where an earlier run stopped, checked, and renamed. A file whose local copy already has the server's
// size and modification time is left as it is (the quick check of rsync: a re-run after an interruption gets only what
// is missing). A file whose bytes do not hash to the server's record is not kept: got again from the start once when
// a resumed prefix may be to blame, else an error (the server's copy is damaged).
//
//   argument ─Stat─┬─file──────────────────────────────► jobs ─┐
//                  ├─directory─► List -R pages ─────────► jobs ─┤
//                  └─OperationError─► failed                    ▼
//   job ─quick check─► unchanged │ ─Get(offset = .part's size)─► header ─► data… ─► end ─► digest ok: renamed
//                                                                   └─OperationError: failed (the .part kept)
import Foundation
import Protocol

final class GetConversation: StoreConversation {
    struct Argument {
        let remote: String
        /// Where it goes if it is a file, and below what if it is a directory.
        let asFile: String
        let asDirectory: String
    }

    struct Job {
        let remote: String
        let local: String
        let size: UInt64
        let modified: WireTime?
    }

    enum Status: String {
        case got, unchanged, failed
    }

    struct Result {
        let remote: String
        let local: String
        var status: Status
        var bytes: UInt64 = 0
        var sha256: [UInt8]? = nil
        var resumedFrom: UInt64 = 0
        var seconds: Double = 0
        var error: String? = nil
    }

    private enum Step {
        case stat(Argument)
        case listing(ListRequest, Argument)
        case getting(Getting)
        case done
    }

    /// The file being got.
    private final class Getting {
        let job: Job
        var part: PartFile
        var header: GetHeader?
        /// Its bytes do not matter any more (a local write failed): the stream is read to its end and dropped.
        var failure: String?
        var restarted = false
        let startedAt = Date()
        init(job: Job, part: PartFile) {
            self.job = job
            self.part = part
        }
    }

    private var arguments: ArraySlice<Argument>
    private var jobs: [Job] = []
    private var step = Step.done
    private(set) var results: [Result] = []
    var onResult: ((Result) -> Void)?

    init(arguments: [Argument]) {
        self.arguments = arguments[...]
    }

    /// Call once `onResult` is set.
    func start() { advance() }

    var nextRequest: StoreRequest? {
        switch step {
        case .stat(let argument): .stat(StatRequest(path: argument.remote))
        case .listing(let request, _): .list(request)
        case .getting(let getting): .get(GetRequest(path: getting.job.remote, offset: getting.part.length))
        case .done: nil
        }
    }

    func answered(_ answer: StoreAnswer) {
        switch (step, answer) {
        case (.stat(let argument), .stat(.file(let entry))):
            jobs.append(Job(remote: entry.path, local: argument.asFile, size: entry.size, modified: entry.modified))
            advance()
        case (.stat(let argument), .stat(.directory)):
            step = .listing(ListRequest(directory: argument.remote.isEmpty ? "" : argument.remote + "/", recursive: true),
                            argument)
        case (.listing(var request, let argument), .list(let page)):
            for case .file(let entry) in page.entries {
                let relative = String(decoding: entry.path.utf8.dropFirst(request.directory.utf8.count), as: UTF8.self)
                guard let local = Self.localPath(relative, below: argument.asDirectory) else {
                    record(Result(remote: entry.path, local: "", status: .failed,
                                  error: "the server sent a name that is no safe local path: \(TerminalText.printable(relative))"))
                    continue
                }
                jobs.append(Job(remote: entry.path, local: local, size: entry.size, modified: entry.modified))
            }
            guard page.nextCursor.isEmpty else {
                request.cursor = page.nextCursor
                step = .listing(request, argument)
                return
            }
            advance()
        case (.stat(let argument), .failed(let failure)), (.listing(_, let argument), .failed(let failure)):
            record(Result(remote: argument.remote, local: argument.asFile, status: .failed, error: failure.message))
            advance()
        case (.getting(let getting), .failed(let failure)):
            // Refused, or the server could not send the rest: what arrived stays in the .part for a later run.
            getting.part.keepForLater()
            record(Result(remote: getting.job.remote, local: getting.job.local, status: .failed,
                          bytes: getting.part.length, error: failure.message))
            advance()
        default:
            advance()  // never: the protocol checks every answer against its request
        }
    }

    func getStarted(_ header: GetHeader) {
        guard case .getting(let getting) = step else { return }
        getting.header = header
        do { try getting.part.keep(upTo: header.offset) } catch { getting.failure = "\(error)" }
    }

    func getData(_ bytes: ArraySlice<UInt8>) {
        guard case .getting(let getting) = step, getting.failure == nil else { return }
        do { try getting.part.append(bytes) } catch { getting.failure = "\(error)" }
    }

    func getFinished() {
        guard case .getting(let getting) = step, let header = getting.header else { return advance() }
        var result = Result(remote: getting.job.remote, local: getting.job.local, status: .got, bytes: header.size,
                            sha256: header.sha256, resumedFrom: header.offset,
                            seconds: Date().timeIntervalSince(getting.startedAt))
        if let failure = getting.failure {
            getting.part.keepForLater()
            result.status = .failed
            result.error = failure
            record(result)
            return advance()
        }
        do {
            if try getting.part.finish(header) {
                record(result)
                return advance()
            }
        } catch {
            result.status = .failed
            result.error = "\(error)"
            record(result)
            return advance()
        }
        // The bytes do not hash to the server's record. A resumed prefix may be someone else's: once from the start.
        if header.offset > 0, !getting.restarted, let fresh = try? PartFile(destination: getting.job.local) {
            let again = Getting(job: getting.job, part: fresh)
            again.restarted = true
            step = .getting(again)
            return
        }
        result.status = .failed
        result.error = "the bytes received do not hash to the SHA-256 the server recorded for this file: its copy on the "
            + "server is damaged (nothing was kept; tell the server's operator)"
        record(result)
        advance()
    }

    private func record(_ result: Result) {
        results.append(result)
        onResult?(result)
    }

    private func advance() {
        while !jobs.isEmpty {
            let job = jobs.removeFirst()
            if Self.unchanged(job) {
                record(Result(remote: job.remote, local: job.local, status: .unchanged, bytes: job.size))
                continue
            }
            do {
                try FileManager.default.createDirectory(atPath: (job.local as NSString).deletingLastPathComponent,
                                                        withIntermediateDirectories: true)
                step = .getting(Getting(job: job, part: try PartFile(destination: job.local)))
                return
            } catch {
                record(Result(remote: job.remote, local: job.local, status: .failed, error: "\(error)"))
            }
        }
        guard let argument = arguments.popFirst() else { return step = .done }
        step = .stat(argument)
    }

    /// rsync's quick check: the local file has the server's size and modification time (which ferry get sets).
    static func unchanged(_ job: Job) -> Bool {
        guard let modified = job.modified else { return false }
        var info = stat()
        guard lstat(job.local, &info) == 0, info.st_mode & S_IFMT == S_IFREG, UInt64(info.st_size) == job.size else {
            return false
        }
        return Int64(info.st_mtim.tv_sec) == modified.seconds && Int(info.st_mtim.tv_nsec) == Int(modified.nanoseconds)
    }

    /// `relative` (a path below a listed directory, as the server sent it) below `directory`, or nil when it could
    /// leave it: an empty, "." or ".." component, a NUL. The server refuses such names; the client does not rely on it.
    static func localPath(_ relative: String, below directory: String) -> String? {
        let components = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !components.isEmpty, components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.contains("\0") })
        else { return nil }
        return directory.isEmpty ? relative : (directory.hasSuffix("/") ? directory : directory + "/") + relative
    }
}
