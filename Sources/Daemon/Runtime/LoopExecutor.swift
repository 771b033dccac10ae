// The store's blocking work on libuv's thread pool, its completions back on the session's loop thread.
import EventLoop
import Store

struct LoopExecutor: BlockingExecutor {
    let loop: EventLoop

    func run<T: Sendable>(_ work: @escaping @Sendable () -> T, then completion: @escaping (T) -> Void) {
        ThreadPool.run(loop, work, then: completion)
    }
}
