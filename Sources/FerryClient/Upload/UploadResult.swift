// The outcome of each file, and the JSON document `ferry upload --json` prints:
// {"ok":bool,"bytes":N,"seconds":x,"files":[{"path":…,"stored":…,"bytes":N,"sha256":hex,"seconds":x,"rotations":n,
//   "attempts":n,"resumed_bytes":N,"sent_bytes":N,"already_stored":bool,"ok":bool,"error":null|"…",
//   "status":"stored"|"already stored"|"failed"|"skipped","skipped":null|"…"}]}
// `attempts` counts the Opens sent for the file (1 when nothing went wrong), `resumed_bytes` is the offset the server
// accepted the last attempt at (what it had kept; 0 when none), `sent_bytes` the Data bytes sent over all attempts.
// `already_stored`: the server held this very file (name, size, SHA-256) and nothing was sent (PROTOCOL.md §8.7).
// An entry is also written for a path that failed before anything was sent (missing, unreadable) and for one skipped
// (an empty directory): "skipped" says why, and a skipped entry is ok (it does not fail the run).
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

    var ok: Bool { error == nil && (stored != nil || skipped != nil) }
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
                      status: $0.error != nil ? "failed" : $0.skipped != nil ? "skipped"
                          : $0.alreadyStored ? "already stored" : "stored", skipped: $0.skipped)
        }
        ok = results.allSatisfy(\.ok)
        bytes = results.filter(\.ok).reduce(0) { $0 + $1.bytes }
        self.seconds = (seconds * 1000).rounded() / 1000
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{\"ok\":false}" }
        return String(decoding: data, as: UTF8.self)
    }
}
