// A BlockingExecutor the test steps by hand: `run` only queues, and each job runs (its work on the calling thread,
// then its completion) when the test says so, in FIFO order, jobs queued by a completion included. So a test decides
// exactly when each of the store's jobs happens — a slow disk is a job not run yet — and can act between a job's work
// and its completion (the job is then "running": its owner has not heard of it yet).
import Store
import XCTest

public final class SteppedExecutor: BlockingExecutor {
    private var queue: [(resultType: Any.Type, run: (_ beforeCompletion: () -> Void) -> Void)] = []
    /// Jobs run so far (work and completion).
    public private(set) var completed = 0

    public init() {}

    /// The result types of the queued jobs, oldest first (which tells what each job is).
    public var queuedResultTypes: [Any.Type] { queue.map(\.resultType) }
    public var isIdle: Bool { queue.isEmpty }

    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T, then completion: @escaping (T) -> Void) {
        queue.append((T.self, { beforeCompletion in
            let result = work()
            beforeCompletion()
            completion(result)
        }))
    }

    /// Runs the oldest job: its work, then `beforeCompletion` (the job is running), then its completion. False when
    /// nothing is queued.
    @discardableResult
    public func runNext(beforeCompletion: () -> Void = {}) -> Bool {
        guard !queue.isEmpty else { return false }
        let job = queue.removeFirst()
        job.run(beforeCompletion)
        completed += 1
        return true
    }

    /// Runs jobs until none is queued (those queued by completions too); fails the test past `limit` jobs.
    public func runAll(limit: Int = 100_000, file: StaticString = #filePath, line: UInt = #line) {
        var steps = 0
        while runNext() {
            steps += 1
            if steps >= limit { return XCTFail("jobs still queued after \(limit)", file: file, line: line) }
        }
    }
}
