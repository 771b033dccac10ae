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

extension UploadCommand {
    /// --dry-run: each file as it would be stored (with its size), what would fail or be skipped, and the totals; on
    /// stdout (a JSON document with --json), nothing sent, no connection made. Whether the server already holds a file
    /// takes a question the protocol cannot ask yet without side effects (an Open would take a slot and drop a kept
    /// partial on Abort): that awaits the store's Stat (issue #18).
    func dryRun(_ plan: UploadPlan.Plan) throws {
        let files = plan.files
        let total = files.reduce(UInt64(0)) { $0 + $1.size }
        if json {
            print(DryRunReport(plan).json())
        } else {
            for entry in plan.entries {
                switch entry {
                case .file(let file):
                    print("would send \(file.localPath) → \(file.remotePath) (\(Figures.bytes(file.size)))")
                case .skipped(let path, let reason):
                    if !quiet { print("would skip \(path): \(reason)") }
                case .failed(let path, let reason):
                    print("would fail \(path): \(reason)")
                }
            }
            if !quiet {
                print("dry run: \(files.count) files, \(Figures.bytes(total)); nothing was sent")
            }
        }
        let failed = plan.entries.contains { if case .failed = $0 { true } else { false } }
        if failed { throw ExitCode(UploadExitStatus.filesFailed) }
    }
}

/// `ferry upload --dry-run --json`: {"dry_run": true, "ok", "bytes", "files": [{"path", "stored", "bytes", "status":
/// "would send" | "would fail" | "would skip", "reason"}]}, every key present (null when it does not apply).
struct DryRunReport: Encodable {
    let dryRun = true
    let ok: Bool
    let bytes: UInt64
    let files: [Entry]

    struct Entry: Encodable {
        let path: String
        let stored: String?
        let bytes: UInt64
        let status: String
        let reason: String?

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(stored, forKey: .stored)
            try container.encode(bytes, forKey: .bytes)
            try container.encode(status, forKey: .status)
            try container.encode(reason, forKey: .reason)
        }

        enum CodingKeys: String, CodingKey { case path, stored, bytes, status, reason }
    }

    enum CodingKeys: String, CodingKey {
        case dryRun = "dry_run"
        case ok, bytes, files
    }

    init(_ plan: UploadPlan.Plan) {
        files = plan.entries.map { entry in
            switch entry {
            case .file(let file):
                Entry(path: file.localPath, stored: file.remotePath, bytes: file.size, status: "would send", reason: nil)
            case .skipped(let path, let reason):
                Entry(path: path, stored: nil, bytes: 0, status: "would skip", reason: reason)
            case .failed(let path, let reason):
                Entry(path: path, stored: nil, bytes: 0, status: "would fail", reason: reason)
            }
        }
        ok = !files.contains { $0.status == "would fail" }
        bytes = plan.files.reduce(0) { $0 + $1.size }
    }

    func json() -> String { UploadReport.json(self) }
}
