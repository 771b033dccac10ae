// `ferry upload -n/--dry-run`: what the upload would do, file by file, with nothing sent.
//
// With a server (flag, $FERRY_SERVER or the client configuration) the run connects as an upload would, hashes every
// file and probes it (ClientSession+DryRun.swift), so each file says whether it would be sent, is already stored,
// would replace the server's copy, would be skipped, or would fail, and why. With no server, the plan alone: every
// file "would send", and the report says the server was not asked.
//
//   text:  would send photos/a.jpg → photos/a.jpg (2.1 MiB)      already stored photos/b.jpg → photos/b.jpg
//          would replace …, would skip PATH: REASON, would fail PATH: REASON, then a summary line
//   JSON:  {"asked_server": bool, "bytes": N (what would be sent), "dry_run": true, "ok": bool,
//          "files": [{"bytes", "path", "reason", "status", "stored"}]}, status "would send" | "already stored" |
//          "would replace" | "would skip" | "would fail", every key present (null when it does not apply)
import ArgumentParser
import Foundation

extension UploadCommand {
    /// Prints the dry run's report and exits as the upload would (UploadExitStatus: a server that cannot be reached is
    /// 69, Ctrl-C 130, a file that would fail 1). `answers`: one result per plan entry when the server was asked, nil
    /// when there was none to ask.
    func dryRun(_ plan: UploadPlan.Plan, answers: [FileResult]?) throws {
        let report = DryRunReport(answers.map(DryRunReport.entries(answers:)) ?? DryRunReport.entries(plan: plan),
                                  askedServer: answers != nil)
        if json {
            print(report.json())
        } else {
            for entry in report.files {
                switch entry.status {
                case .send, .replace:
                    print("\(entry.status.rawValue) \(entry.path) → \(entry.stored ?? "") (\(Figures.bytes(entry.bytes)))")
                case .stored:
                    if !quiet { print("already stored \(entry.path) → \(entry.stored ?? "")") }
                case .skip:
                    if !quiet { print("would skip \(entry.path): \(entry.reason ?? "")") }
                case .fail:
                    print("would fail \(entry.path): \(entry.reason ?? "")")
                }
            }
            if !quiet { print(report.summary) }
        }
        let status = answers.map(UploadExitStatus.of) ?? (report.ok ? 0 : UploadExitStatus.filesFailed)
        if status != 0 { throw ExitCode(status) }
    }
}

struct DryRunReport: Encodable {
    enum Status: String, Encodable {
        case send = "would send"
        case stored = "already stored"
        case replace = "would replace"
        case skip = "would skip"
        case fail = "would fail"
    }

    struct Entry: Encodable {
        let path: String
        let stored: String?
        /// What the upload would send of it.
        let bytes: UInt64
        let status: Status
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

    let dryRun = true
    let askedServer: Bool
    let ok: Bool
    let bytes: UInt64
    let files: [Entry]

    enum CodingKeys: String, CodingKey {
        case dryRun = "dry_run"
        case askedServer = "asked_server"
        case ok, bytes, files
    }

    init(_ files: [Entry], askedServer: Bool) {
        self.files = files
        self.askedServer = askedServer
        ok = !files.contains { $0.status == .fail }
        bytes = files.reduce(0) { $0 + $1.bytes }
    }

    /// No server to ask: the plan as it stands.
    static func entries(plan: UploadPlan.Plan) -> [Entry] {
        plan.entries.map { entry in
            switch entry {
            case .file(let file):
                Entry(path: file.localPath, stored: file.remotePath, bytes: file.size, status: .send, reason: nil)
            case .skipped(let path, let reason):
                Entry(path: path, stored: nil, bytes: 0, status: .skip, reason: reason)
            case .failed(let path, let reason):
                Entry(path: path, stored: nil, bytes: 0, status: .fail, reason: reason)
            }
        }
    }

    /// The server's answers (one result per plan entry, the plan's own failures and skips among them).
    static func entries(answers: [FileResult]) -> [Entry] {
        answers.map { result in
            let path = result.file.localPath
            if let error = result.error { return Entry(path: path, stored: nil, bytes: 0, status: .fail, reason: error) }
            if let skipped = result.skipped { return Entry(path: path, stored: nil, bytes: 0, status: .skip, reason: skipped) }
            switch result.dryRun {
            case .alreadyStored:
                return Entry(path: path, stored: result.stored, bytes: 0, status: .stored, reason: nil)
            case .wouldReplace:
                return Entry(path: path, stored: result.stored, bytes: result.bytes, status: .replace,
                             reason: "the server holds other content under this name (replaced if it allows overwriting)")
            case .notAsked:
                return Entry(path: path, stored: result.stored, bytes: result.bytes, status: .send,
                             reason: "not asked: the server has no probes (an older ferryd)")
            case .wouldSend:
                return Entry(path: path, stored: result.stored, bytes: result.bytes, status: .send, reason: nil)
            case nil:
                return Entry(path: path, stored: nil, bytes: 0, status: .fail, reason: "internal error: no answer for the file")
            }
        }
    }

    /// "dry run: 12 entries — 3 would be sent (12 KiB), 8 already stored, 1 would fail; nothing was sent".
    var summary: String {
        func count(_ status: Status) -> Int { files.filter { $0.status == status }.count }
        var parts = ["\(count(.send)) would be sent (\(Figures.bytes(bytes - replacedBytes)))"]
        if count(.replace) > 0 { parts.append("\(count(.replace)) would replace the server's (\(Figures.bytes(replacedBytes)))") }
        if askedServer { parts.append("\(count(.stored)) already stored") }
        if count(.skip) > 0 { parts.append("\(count(.skip)) skipped") }
        if count(.fail) > 0 { parts.append("\(count(.fail)) would fail") }
        return "dry run: \(files.count) \(files.count == 1 ? "entry" : "entries") — " + parts.joined(separator: ", ")
            + (askedServer ? "; nothing was sent" : "; nothing was sent, and no server was asked what it holds "
                + "(pass --server to ask)")
    }

    private var replacedBytes: UInt64 { files.filter { $0.status == .replace }.reduce(0) { $0 + $1.bytes } }

    func json() -> String { UploadReport.json(self) }
}
