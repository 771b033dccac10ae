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

struct UploadReport: Encodable {
    let ok: Bool
    let bytes: UInt64
    let seconds: Double
    let files: [FileEntry]

    struct FileEntry: Encodable {
        let path: String
        let stored: String?
        let bytes: UInt64
        let sha256: String?
        let seconds: Double
        let rotations: Int
        let attempts: Int
        let resumedBytes: UInt64
        let sentBytes: UInt64
        let alreadyStored: Bool
        let ok: Bool
        let error: String?
        let status: String
        let skipped: String?

        enum CodingKeys: String, CodingKey {
            case path, stored, bytes, sha256, seconds, rotations, attempts, ok, error, status, skipped
            case resumedBytes = "resumed_bytes"
            case sentBytes = "sent_bytes"
            case alreadyStored = "already_stored"
        }

        // Optional fields are written as null rather than left out, so scripts can rely on every key being there.
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(stored, forKey: .stored)
            try container.encode(bytes, forKey: .bytes)
            try container.encode(sha256, forKey: .sha256)
            try container.encode(seconds, forKey: .seconds)
            try container.encode(rotations, forKey: .rotations)
            try container.encode(attempts, forKey: .attempts)
            try container.encode(resumedBytes, forKey: .resumedBytes)
            try container.encode(sentBytes, forKey: .sentBytes)
            try container.encode(alreadyStored, forKey: .alreadyStored)
            try container.encode(ok, forKey: .ok)
            try container.encode(error, forKey: .error)
            try container.encode(status, forKey: .status)
            try container.encode(skipped, forKey: .skipped)
        }
    }

    init(results: [FileResult], seconds: Double) {
        files = results.map {
            FileEntry(path: $0.file.localPath, stored: $0.stored, bytes: $0.bytes, sha256: $0.sha256,
                      seconds: ($0.seconds * 1000).rounded() / 1000, rotations: $0.rotations, attempts: $0.attempts,
                      resumedBytes: $0.resumedBytes, sentBytes: $0.sentBytes, alreadyStored: $0.alreadyStored,
                      ok: $0.ok, error: $0.error,
                      status: $0.status.rawValue, skipped: $0.skipped)
        }
        ok = results.allSatisfy(\.ok)
        bytes = results.filter(\.ok).reduce(0) { $0 + $1.bytes }
        self.seconds = (seconds * 1000).rounded() / 1000
    }

    func json() -> String { Self.json(self) }

    /// One report as `--json` prints it: keys sorted, slashes as they are; `{"ok":false}` should encoding ever fail.
    static func json(_ report: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(report) else { return "{\"ok\":false}" }
        return String(decoding: data, as: UTF8.self)
    }
}
