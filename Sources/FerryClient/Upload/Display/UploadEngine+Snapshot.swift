// The run as the progress display draws it: the files in flight with their state, and the totals.
import EventLoop

extension UploadEngine {
    func snapshot() -> ProgressSnapshot {
        let over = results.filter { $0.stored != nil || $0.error != nil }
        return ProgressSnapshot(
            rows: inFlight.map {
                ProgressSnapshot.Row(path: results[$0.index].file.localPath, size: results[$0.index].file.size, state: $0.state)
            },
            finishedBytes: over.reduce(0) { $0 + $1.bytes },
            totalBytes: results.reduce(0) { $0 + $1.file.size },
            filesFinished: over.count,
            filesFailed: over.filter { $0.error != nil && $0.interruption == nil }.count,
            fileCount: results.count,
            elapsedSeconds: Double(EventLoop.hrtimeNanoseconds - startedAt) / 1e9)
    }
}
