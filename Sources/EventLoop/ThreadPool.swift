// CPU or blocking work on libuv's thread pool (uv_queue_work), with the result handed back on the loop thread.
//
//     run(work, then:) ──uv_queue_work──▶ pool thread: result = work() ──▶ loop thread: then(result)
//
// The daemon hashes and writes each upload batch this way, and the client reads and hashes each file block, so the
// SHA-256 of the whole file (the largest per-byte cost after the AEAD, issue #7) runs on a core the loop is not
// using. Ordering is the caller's: one job per upload at a time keeps the digest updates in file order.
// The pool has 4 threads unless UV_THREADPOOL_SIZE was set before its first use (ferryd sets it from `workers`).
internal import CLibUV

public enum ThreadPool {
    /// Runs `work` on a pool thread, then `completion` with its result on the loop thread, in a later iteration.
    /// Whatever `work` touches must not be used by the loop thread until `completion` runs (libuv's queue and
    /// completion hand-off order the two threads' accesses).
    public static func run<T: Sendable>(_ loop: EventLoop, _ work: @escaping @Sendable () -> T,
                                        then completion: @escaping (T) -> Void) {
        precondition(!loop.isClosed, "ThreadPool.run on a closed EventLoop")
        let job = PoolJob<T>(work: work, completion: completion)
        let request = UnsafeMutablePointer<uv_work_t>.allocate(capacity: 1)
        request.initialize(to: uv_work_t())
        request.pointee.data = Unmanaged.passRetained(job as AnyPoolJob).toOpaque()
        let rc = uv_queue_work(loop.raw, request, poolJobWork, poolJobDidFinish)
        precondition(rc == 0, "uv_queue_work failed: \(rc)")  // only EINVAL for a nil work callback
    }
}

/// Type-erased so the C callbacks (which cannot be generic) can reach the job.
class AnyPoolJob: @unchecked Sendable {
    func runWork() {}
    func finish() {}
}

// @unchecked: `result` is written on the pool thread before libuv queues the completion, and read on the loop thread
// after; nothing else touches it.
private final class PoolJob<T: Sendable>: AnyPoolJob, @unchecked Sendable {
    private let work: @Sendable () -> T
    private let completion: (T) -> Void
    private var result: T?

    init(work: @escaping @Sendable () -> T, completion: @escaping (T) -> Void) {
        self.work = work
        self.completion = completion
    }

    override func runWork() { result = work() }

    override func finish() {
        guard let result else { preconditionFailure("thread-pool job finished without running") }
        completion(result)
    }
}

private func poolJobWork(_ request: UnsafeMutablePointer<uv_work_t>?) {
    Unmanaged<AnyPoolJob>.fromOpaque(request!.pointee.data!).takeUnretainedValue().runWork()
}

private func poolJobDidFinish(_ request: UnsafeMutablePointer<uv_work_t>?, _ status: Int32) {
    // status is ECANCELED only after uv_cancel, which this module never calls.
    let request = request!
    let job = Unmanaged<AnyPoolJob>.fromOpaque(request.pointee.data!).takeRetainedValue()
    request.deallocate()
    job.finish()
}
