// The metadata index's upkeep on the main loop: every `upkeepPeriodMilliseconds`, and at each metrics scrape, a job on
// the thread pool writes the rows still waiting in memory (JournaledIndex writes them in batches of 256 or when read:
// this bounds how long an intent stays in the journal, so how much a start after a crash settles, on a quiet server
// too) and reads the totals the metrics show. One job at a time.
import EventLoop
import Index
import Logging
import Synchronization

extension Server {
    static let upkeepPeriodMilliseconds: UInt64 = 30_000

    /// Starts the periodic upkeep; nil without an index. `refresh` also runs it at once (from a scrape), unless a run
    /// is in flight.
    func startIndexUpkeep(on loop: EventLoop) -> (timer: LoopTimer, refresh: () -> Void)? {
        guard let index = store.index else { return nil }
        let running = Atomic<Bool>(false)
        let metrics = shared.metrics
        let refresh: () -> Void = { [logger] in
            guard !running.exchange(true, ordering: .acquiring) else { return }
            ThreadPool.run(loop, { () -> Result<Usage, IndexError> in
                do throws(IndexError) {
                    try index.flush()
                    return .success(try index.totalUsage())
                } catch {
                    return .failure(error)
                }
            }, then: { result in
                running.store(false, ordering: .releasing)
                switch result {
                case .success(let usage): metrics.stored(bytes: usage.bytes, files: usage.files)
                case .failure(let error):
                    logger.warning("the metadata index could not be written or read", metadata: ["error": "\(error)"])
                }
            })
        }
        let timer = LoopTimer(loop: loop)
        timer.start(afterMilliseconds: 0, repeatMilliseconds: Self.upkeepPeriodMilliseconds) { refresh() }
        return (timer, refresh)
    }
}
