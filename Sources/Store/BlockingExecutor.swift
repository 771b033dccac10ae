// Where the store runs its blocking work (the file-system calls, the SHA-256 of each batch): a thread pool it is given,
// so the store knows nothing of the event loop. The daemon passes libuv's pool (ThreadPool.run on the session's loop);
// tests pass one they step by hand.

public protocol BlockingExecutor {
    /// Runs `work` off the caller's thread, then `completion` with its result back on the caller's (loop) thread, never
    /// before `run` returned. Whatever `work` touches must not be used by the caller until `completion` runs.
    func run<T: Sendable>(_ work: @escaping @Sendable () -> T, then completion: @escaping (T) -> Void)
}
