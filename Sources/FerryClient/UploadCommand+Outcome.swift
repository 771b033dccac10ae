// What `ferry upload` says at the end — the JSON document, or the human report (ProgressDisplay.report) — and its
// exit status (UploadExitStatus). The entries the plan failed or skipped are reported beside the files sent, in
// command-line order.
import ArgumentParser
import Foundation

extension UploadCommand {
    /// The JSON document or the human report of `results` (one per plan entry), then the exit status.
    func finish(_ results: [FileResult], seconds: Double, display: ProgressDisplay) throws {
        if json {
            UploadReport(results: results, seconds: seconds).write { print($0, terminator: "") }
            print()
        }
        display.report(results, seconds: seconds)  // with --json or --quiet, only an interruption's note, on stderr
        let status = UploadExitStatus.of(results)
        if status != 0 { throw ExitCode(status) }
    }
}
