// What `ferry upload` says about the plan before sending and about every entry at the end, and its exit status
// (UploadExitStatus): the entries the plan failed or skipped are reported beside the files sent, in command-line order.
import ArgumentParser
import Foundation

extension UploadCommand {
    /// Before sending: each path that failed (always: a failure is what even --quiet shows) and each skipped one.
    func reportPlanned(_ plan: UploadPlan.Plan) {
        for entry in plan.entries {
            switch entry {
            case .file:
                break
            case .failed(_, let reason):
                FileHandle.standardError.write(Data("ferry: \(reason)\n".utf8))
            case .skipped(let path, let reason):
                if !quiet { FileHandle.standardError.write(Data("ferry: skipped \(path): \(reason)\n".utf8)) }
            }
        }
    }

    /// The JSON document or the human summary of `results` (one per plan entry), then the exit status.
    func finish(_ results: [FileResult], seconds: Double) throws {
        let report = UploadReport(results: results, seconds: seconds)
        if json {
            print(report.json())
        } else if !quiet {
            for result in results {
                if let reason = result.skipped {
                    print("skipped \(result.file.localPath): \(reason)")
                } else {
                    print(ProgressDisplay.summary(result))
                }
            }
            let stored = results.filter { $0.stored != nil && $0.error == nil }.count
            let files = results.filter { $0.skipped == nil }.count
            let rate = seconds > 0 ? Double(report.bytes) / seconds : 0
            print("\(stored) of \(files) files, \(ProgressDisplay.bytes(report.bytes)) in "
                + String(format: "%.2f s (%@/s)", seconds, ProgressDisplay.bytes(UInt64(rate))))
        }
        let status = UploadExitStatus.of(results)
        if status != 0 { throw ExitCode(status) }
    }
}
