// The outcome of each file, and the JSON document `ferry upload --json` prints:
// {"ok":bool,"bytes":N,"seconds":x,"files":[{"path":…,"stored":…,"bytes":N,"sha256":hex,"seconds":x,"rotations":n,
//   "attempts":n,"resumed_bytes":N,"sent_bytes":N,"ok":bool,"error":null|"…"}]}
// `attempts` counts the Opens sent for the file (1 when nothing went wrong), `resumed_bytes` is the offset the server
// accepted the last attempt at (what it had kept; 0 when none), `sent_bytes` the Data bytes sent over all attempts.
import Foundation

struct FileResult: Sendable {
    let file: PlannedFile
    var stored: String?
    var bytes: UInt64
    var sha256: String?
    var seconds: Double
    var rotations: Int
    var error: String?
    /// Filled in by the engine, over all attempts (see the top of this file).
    var attempts = 0
    var resumedBytes: UInt64 = 0
    var sentBytes: UInt64 = 0

    var ok: Bool { error == nil && stored != nil }
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
        let ok: Bool
        let error: String?

        enum CodingKeys: String, CodingKey {
            case path, stored, bytes, sha256, seconds, rotations, attempts, ok, error
            case resumedBytes = "resumed_bytes"
            case sentBytes = "sent_bytes"
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
            try container.encode(ok, forKey: .ok)
            try container.encode(error, forKey: .error)
        }
    }

    init(results: [FileResult], seconds: Double) {
        files = results.map {
            FileEntry(path: $0.file.localPath, stored: $0.stored, bytes: $0.bytes, sha256: $0.sha256,
                      seconds: ($0.seconds * 1000).rounded() / 1000, rotations: $0.rotations, attempts: $0.attempts,
                      resumedBytes: $0.resumedBytes, sentBytes: $0.sentBytes, ok: $0.ok, error: $0.error)
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
