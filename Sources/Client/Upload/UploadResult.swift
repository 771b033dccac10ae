// The outcome of each file, and the JSON document `ferry upload --json` prints:
// {"ok":bool,"bytes":N,"seconds":x,"files":[{"path":…,"stored":…,"bytes":N,"sha256":hex,"seconds":x,"rotations":n,
//   "ok":bool,"error":null|"…","status":"stored"|"failed"|"skipped","skipped":null|"…"}]}
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
        let ok: Bool
        let error: String?
        let status: String
        let skipped: String?

        enum CodingKeys: String, CodingKey { case path, stored, bytes, sha256, seconds, rotations, ok, error, status, skipped }

        // Optional fields are written as null rather than left out, so scripts can rely on every key being there.
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(stored, forKey: .stored)
            try container.encode(bytes, forKey: .bytes)
            try container.encode(sha256, forKey: .sha256)
            try container.encode(seconds, forKey: .seconds)
            try container.encode(rotations, forKey: .rotations)
            try container.encode(ok, forKey: .ok)
            try container.encode(error, forKey: .error)
            try container.encode(status, forKey: .status)
            try container.encode(skipped, forKey: .skipped)
        }
    }

    init(results: [FileResult], seconds: Double) {
        files = results.map {
            FileEntry(path: $0.file.localPath, stored: $0.stored, bytes: $0.bytes, sha256: $0.sha256,
                      seconds: ($0.seconds * 1000).rounded() / 1000, rotations: $0.rotations, ok: $0.ok, error: $0.error,
                      status: $0.error != nil ? "failed" : $0.skipped != nil ? "skipped" : "stored", skipped: $0.skipped)
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
