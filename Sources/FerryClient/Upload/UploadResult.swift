// The outcome of each file, and the JSON document `ferry upload --json` prints:
// {"ok":bool,"bytes":N,"seconds":x,"files":[{"path":…,"stored":…,"bytes":N,"sha256":hex,"seconds":x,"rotations":n,
//   "attempts":n,"resumed_bytes":N,"sent_bytes":N,"already_stored":bool,"ok":bool,"error":null|"…",
//   "status":"stored"|"already stored"|"failed"|"interrupted"|"skipped","skipped":null|"…"}]}
// `attempts` counts the Opens sent for the file (1 when nothing went wrong), `resumed_bytes` is the offset the server
// accepted the last attempt at (what it had kept; 0 when none), `sent_bytes` the Data bytes sent over all attempts.
// `already_stored`: the server held this very file (name, size, SHA-256) and nothing was sent (PROTOCOL.md §8.7).
// An entry is also written for a path that failed before anything was sent (missing, unreadable) and for one skipped
// (an empty directory): "skipped" says why, and a skipped entry is ok (it does not fail the run). A file the run
// stopped before it was done (Ctrl-C, SIGTERM: UploadEngine.stop) is "interrupted", with what happens to it when the
// command is run again in "error".
import Foundation

struct FileResult: Sendable {
    let file: PlannedFile
    var stored: String?
    var bytes: UInt64
    var sha256: String?
    var seconds: Double
    var rotations: Int
    var error: String?
    /// What kind of failure `error` is, for the exit status (UploadExitStatus).
    var failure: FailureKind = .other
    /// Why this entry was left out on purpose (an empty directory): nothing to send, nothing failed.
    var skipped: String? = nil
    /// Filled in by the engine, over all attempts (see the top of this file).
    var attempts = 0
    var resumedBytes: UInt64 = 0
    var sentBytes: UInt64 = 0
    /// The server already held this file: nothing was sent (PROTOCOL.md §8.7).
    var alreadyStored = false
    /// The run was stopped before this file was done (`error` then says so too).
    var interruption: Interruption?
    /// A dry run's answer for the file (nil in an upload); a failure or a skip is `error` or `skipped`, as in an upload.
    var dryRun: DryRunVerdict?

    var ok: Bool { error == nil && (stored != nil || skipped != nil) }

    enum Status: String {
        case stored
        case alreadyStored = "already stored"
        case failed
        case interrupted
        case skipped
    }

    var status: Status {
        if interruption != nil { return .interrupted }
        if error != nil { return .failed }
        if skipped != nil { return .skipped }
        return alreadyStored ? .alreadyStored : .stored
    }
}

/// What a dry run learnt of a file from the server's answer to its probe (PROTOCOL.md §8.10).
enum DryRunVerdict: String, Sendable {
    /// `absent`: the upload would send it.
    case wouldSend = "would send"
    /// Committed: the server holds this very file (name, size, SHA-256); the upload would send nothing.
    case alreadyStored = "already stored"
    /// `exists` with --overwrite: the upload would replace the server's file, if the server allows overwriting.
    case wouldReplace = "would replace"
    /// The server cannot be asked (no pipelining, so no probes): the upload would send it, unless it is there.
    case notAsked = "would send (not asked)"
}

/// Why a file is not done: the user stopped the run (SIGINT, SIGTERM), and what the next run will do with it.
struct Interruption: Sendable, Equatable {
    let signal: Int32
    /// Open was sent for it: some of it may be with the server.
    let started: Bool
    /// The offset the next run resumes at, when known: every byte sealed reached the server before Goodbye, which
    /// keeps the partial (PROTOCOL.md §8.3), at that offset rounded down to `resumeAlignment`. nil when the data did
    /// not all go out, or there is none: the next run sends the file again, from wherever the server kept it.
    let resumeFrom: UInt64?

    /// ferryd resumes a partial at its durable offset rounded down to the direct-I/O block (PROTOCOL.md §8.3).
    static let resumeAlignment: UInt64 = 4096

    /// The resume point after `sent` bytes of a file all reached the server: nil when nothing would be kept.
    static func resumePoint(sent: UInt64) -> UInt64? {
        let aligned = sent - sent % resumeAlignment
        return aligned > 0 ? aligned : nil
    }

    /// "SIGINT", "SIGTERM".
    var signalName: String { Self.name(of: signal) }

    static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        default: "signal \(signal)"
        }
    }

    /// What happens to the file when the command is run again, for people ("will resume from 1.2 GiB …").
    var outlook: String {
        guard started else { return "will be sent when run again" }
        guard let resumeFrom else { return "will be sent again" }
        return "will resume from \(Figures.bytes(resumeFrom)) when run again"
    }

    /// The JSON `error`: the same, with the exact offset.
    var message: String {
        let what = "interrupted by \(signalName)"
        guard started else { return what + " before it was started: it will be sent when run again" }
        guard let resumeFrom else { return what + ": it will be sent again" }
        return what + ": it will resume from byte \(resumeFrom) when run again"
    }
}

/// The `--json` document of a run, written file by file (`write`): a run of 100,000 files prints 30 MB, which is never
/// held whole. Keys in sorted order, every key present (null for what is not there), so scripts can rely on them.
struct UploadReport {
    let ok: Bool
    let bytes: UInt64
    let seconds: Double
    let results: [FileResult]

    init(results: [FileResult], seconds: Double) {
        self.results = results
        ok = results.allSatisfy(\.ok)
        bytes = results.reduce(0) { $0 + ($1.ok ? $1.bytes : 0) }  // not filter: a copy of every result
        self.seconds = seconds
    }

    /// The whole document, one line.
    func json() -> String {
        var text = ""
        write { text += $0 }
        return text
    }

    /// The document in pieces of about `chunk` characters, in order (no newline at the end).
    func write(chunk: Int = 64 * 1024, _ emit: (String) -> Void) {
        var out = "{\"bytes\":\(bytes),\"files\":["
        for (index, result) in results.enumerated() {
            if index > 0 { out += "," }
            Self.appendEntry(result, to: &out)
            if out.utf8.count >= chunk {
                emit(out)
                out = ""
            }
        }
        out += "],\"ok\":\(ok),\"seconds\":\(JSONValue.format(seconds))}"
        emit(out)
    }

    /// One file's object, its keys sorted.
    private static func appendEntry(_ result: FileResult, to out: inout String) {
        func text(_ value: String?) {
            if let value { JSONText.appendQuoted(value, to: &out) } else { out += "null" }
        }
        out += "{\"already_stored\":\(result.alreadyStored),\"attempts\":\(result.attempts),\"bytes\":\(result.bytes),\"error\":"
        text(result.error)
        out += ",\"ok\":\(result.ok),\"path\":"
        text(result.file.localPath)
        out += ",\"resumed_bytes\":\(result.resumedBytes),\"rotations\":\(result.rotations),\"seconds\":"
        out += JSONValue.format(result.seconds)
        out += ",\"sent_bytes\":\(result.sentBytes),\"sha256\":"
        text(result.sha256)
        out += ",\"skipped\":"
        text(result.skipped)
        out += ",\"status\":"
        text(result.status.rawValue)
        out += ",\"stored\":"
        text(result.stored)
        out += "}"
    }

    /// One Encodable report as `--json` prints it (the dry run's): keys sorted, slashes as they are; `{"ok":false}`
    /// should encoding ever fail.
    static func json(_ report: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(report) else { return "{\"ok\":false}" }
        return String(decoding: data, as: UTF8.self)
    }
}
