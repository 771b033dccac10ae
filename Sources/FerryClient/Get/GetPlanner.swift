// What `ferry get` will fetch (PROTOCOL.md §14), found before any file is: each argument asked with Stat — a file is
// one job, a directory is listed with -R page by page into a job per file below it. One session; the jobs then go to
// `--parallel` sessions of GetDownloader.
//
//   argument ─Stat─┬─file──────────────────────────► job
//                  ├─directory─► List -R pages ──────► a job per file (names that could leave LOCAL refused)
//                  └─OperationError─► failed
import Foundation
import Protocol

/// One file to get: where it is on the server, where it goes here, and what the server says of it (for the quick
/// check of a re-run).
struct GetJob: Equatable {
    let remote: String
    let local: String
    let size: UInt64
    let modified: WireTime?
    /// The SHA-256 the server recorded (for the quick check of a file whose time the server does not know).
    var sha256: [UInt8]? = nil
    /// Where it is written until it is whole and checked (PartName): `local`.part unless that is taken or too long.
    var partPath: String
    /// For a file found by listing a directory: the local directory the server's names are below (LOCAL, as typed),
    /// where no link is followed — a name from the server never reaches through a symbolic link that happens to be
    /// in the destination.
    let below: String?

    init(remote: String, local: String, size: UInt64, modified: WireTime?, partPath: String? = nil, below: String? = nil) {
        self.remote = remote
        self.local = local
        self.size = size
        self.modified = modified
        self.partPath = partPath ?? PartName.partial(for: local, taken: [])
        self.below = below
    }
}

/// What became of one file (or of an argument that named nothing).
struct GetResult {
    enum Status: String { case got, unchanged, failed, interrupted }

    let remote: String
    let local: String
    var status: Status
    var bytes: UInt64 = 0
    var sha256: [UInt8]? = nil
    var resumedFrom: UInt64 = 0
    var seconds: Double = 0
    var error: String? = nil
}

final class GetPlanner: StoreConversation {
    struct Argument {
        let remote: String
        /// Where it goes if it is a file, and below what if it is a directory.
        let asFile: String
        let asDirectory: String
    }

    private enum Step {
        case stat(Argument)
        case listing(ListRequest, Argument)
        case done
    }

    private var arguments: ArraySlice<Argument>
    private var step = Step.done
    private(set) var jobs: [GetJob] = []
    /// Arguments (or listed names) that cannot be got, with why.
    private(set) var failures: [GetResult] = []
    var onFailure: ((GetResult) -> Void)?

    init(arguments: [Argument]) {
        self.arguments = arguments[...]
        advance()
    }

    var nextRequest: StoreRequest? {
        switch step {
        case .stat(let argument): .stat(StatRequest(path: argument.remote))
        case .listing(let request, _): .list(request)
        case .done: nil
        }
    }

    func answered(_ answer: StoreAnswer) {
        switch (step, answer) {
        case (.stat(let argument), .stat(.file(let entry))):
            var job = GetJob(remote: entry.path, local: argument.asFile, size: entry.size, modified: entry.modified)
            job.sha256 = entry.sha256
            jobs.append(job)
            advance()
        case (.stat(let argument), .stat(.directory)):
            step = .listing(ListRequest(directory: argument.remote.isEmpty ? "" : argument.remote + "/", recursive: true),
                            argument)
        case (.listing(var request, let argument), .list(let page)):
            for case .file(let entry) in page.entries {
                let relative = String(decoding: entry.path.utf8.dropFirst(request.directory.utf8.count), as: UTF8.self)
                guard let local = Self.localPath(relative, below: argument.asDirectory) else {
                    fail(GetResult(remote: entry.path, local: "", status: .failed,
                                   error: "the server sent a name that is no safe local path: \(TerminalText.printable(relative))"))
                    continue
                }
                var job = GetJob(remote: entry.path, local: local, size: entry.size, modified: entry.modified,
                                 below: argument.asDirectory)
                job.sha256 = entry.sha256
                jobs.append(job)
            }
            guard page.nextCursor.isEmpty else {
                request.cursor = page.nextCursor
                step = .listing(request, argument)
                return
            }
            advance()
        case (.stat(let argument), .failed(let failure)), (.listing(_, let argument), .failed(let failure)):
            fail(GetResult(remote: argument.remote, local: argument.asFile, status: .failed, error: failure.message))
            advance()
        default:
            advance()  // never: the protocol checks every answer against its request
        }
    }

    private func fail(_ result: GetResult) {
        failures.append(result)
        onFailure?(result)
    }

    private func advance() {
        guard let argument = arguments.popFirst() else {
            if case .done = step {} else { settleDestinations() }
            return step = .done
        }
        step = .stat(argument)
    }

    /// Every job's own destination and partial: a second file for a place another already goes to is refused (it
    /// would overwrite it, or write into its partial at once), and a partial name that is another job's destination
    /// (`x` beside `x.part`, as a browser's downloads folder holds) takes another name (PartName).
    private func settleDestinations() {
        var first: [String: String] = [:]
        var kept: [GetJob] = []
        for job in jobs {
            if let earlier = first[job.local] {
                fail(GetResult(remote: job.remote, local: job.local, status: .failed,
                               error: "\(TerminalText.printable(earlier)) goes to the same place: get one of them elsewhere"))
                continue
            }
            first[job.local] = job.remote
            kept.append(job)
        }
        // Destinations and the partials given out so far: no two files share either.
        var taken = Set(first.keys)
        jobs = kept.map { job in
            var job = job
            job.partPath = PartName.partial(for: job.local, taken: taken)
            taken.insert(job.partPath)
            return job
        }
    }

    /// `relative` (a path below a listed directory, as the server sent it) below `directory`, or nil when it could
    /// leave it: an empty, "." or ".." component, a NUL. The server refuses such names; the client does not rely on it.
    /// Split at the byte "/", as the kernel splits: a "/" followed by a combining mark is one Swift Character, which
    /// a split on Characters would not see (`../\u{301}x` is a ".." to the kernel).
    static func localPath(_ relative: String, below directory: String) -> String? {
        let components = relative.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        let dot = Array(".".utf8), dotDot = Array("..".utf8)
        guard !components.isEmpty, components.allSatisfy({ component in
            !component.isEmpty && !component.elementsEqual(dot) && !component.elementsEqual(dotDot) && !component.contains(0)
        }) else { return nil }
        return LocalPath.appending(relative, to: directory)
    }
}
