// A BlockingExecutor the test steps by hand: `run` only queues, and each job runs (its work on the calling thread,
// then its completion) when the test says so, in FIFO order, jobs queued by a completion included. So a test decides
// exactly when each prepare, hash, write, commit and discard happens, and can act between a job's work and its
// completion (the job is then "running": the writer has not heard of it yet).
import Platform
import XCTest

@testable import Store

final class SteppedExecutor: BlockingExecutor {
    /// What a queued job is, told from its result type (a hash and a discard both return Void).
    enum Kind: Equatable {
        case prepare, write, commit, hashOrDiscard, other
    }

    private var queue: [(kind: Kind, run: (_ beforeCompletion: () -> Void) -> Void)] = []
    /// Jobs run so far (work and completion).
    private(set) var completed = 0

    var queuedKinds: [Kind] { queue.map(\.kind) }
    var isIdle: Bool { queue.isEmpty }

    func run<T: Sendable>(_ work: @escaping @Sendable () -> T, then completion: @escaping (T) -> Void) {
        queue.append((Self.kind(of: T.self), { beforeCompletion in
            let result = work()
            beforeCompletion()
            completion(result)
        }))
    }

    /// Runs the oldest job: its work, then `beforeCompletion` (the job is running), then its completion. False when
    /// nothing is queued.
    @discardableResult
    func runNext(beforeCompletion: () -> Void = {}) -> Bool {
        guard !queue.isEmpty else { return false }
        let job = queue.removeFirst()
        job.run(beforeCompletion)
        completed += 1
        return true
    }

    /// Runs jobs until none is queued (those queued by completions too); fails the test past `limit` jobs.
    func runAll(limit: Int = 100_000, file: StaticString = #filePath, line: UInt = #line) {
        var steps = 0
        while runNext() {
            steps += 1
            if steps >= limit { return XCTFail("jobs still queued after \(limit)", file: file, line: line) }
        }
    }

    private static func kind<T>(of type: T.Type) -> Kind {
        if type == Void.self { return .hashOrDiscard }
        // The write's result reaches `run` as an unlabelled tuple (the label is only in UploadJobs.write's signature).
        if type == (Result<Int, SystemError>, Bool).self || type == (Result<Int, SystemError>, fellBack: Bool).self {
            return .write
        }
        if type == Result<Void, StoreFailure>.self { return .commit }
        if type == Result<(PreparedUpload, direct: Bool), StoreFailure>.self { return .prepare }
        return .other
    }
}
