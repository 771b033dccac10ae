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
                    print("would send \(file.localPath) → \(file.remotePath) (\(ProgressDisplay.bytes(file.size)))")
                case .skipped(let path, let reason):
                    if !quiet { print("would skip \(path): \(reason)") }
                case .failed(let path, let reason):
                    print("would fail \(path): \(reason)")
                }
            }
            if !quiet {
                print("dry run: \(files.count) files, \(ProgressDisplay.bytes(total)); nothing was sent")
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

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{\"ok\":false}" }
        return String(decoding: data, as: UTF8.self)
    }
}
