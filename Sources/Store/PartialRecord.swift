// What the store remembers of a partial upload it keeps for resume: `<staging>/<stem>.resume` beside the data in
// `<staging>/<stem>.part`. The record says whose file it is, its declared size, and the offset up to which the .part's
// bytes are on stable storage (written, then fdatasync'ed, before the record saying so was written). A crash can lose
// bytes after that offset, never before it, so that is all a resuming server offers.
//
// Format (UTF-8 text, one field per line, fixed order; names cannot hold control characters, NameRules):
//
//     ferry-partial 1
//     size <decimal>
//     offset <decimal>
//     identity <identity>
//     path <relative path>
//
// The file is always `fileLength` bytes: the text, then NUL bytes. Each update overwrites it in place (PartialJobs:
// no rename, no truncation, nothing allocated after the first write). A crash can tear one; anything that does not
// parse is not a record, and the partial is dropped.

struct PartialRecord: Equatable, Sendable {
    var identity: String
    var path: String
    var size: UInt64
    /// Bytes of the .part known to be on stable storage.
    var offset: UInt64

    static let magic = "ferry-partial 1"
    /// A record is a few hundred bytes (a path is at most 4,096): anything longer is not one.
    static let maximumLength = 8192

    /// The size of a record file (a path is at most 4,096 bytes and an identity 255: the text always fits).
    static let fileLength = maximumLength

    var encoded: [UInt8] {
        Array("\(Self.magic)\nsize \(size)\noffset \(offset)\nidentity \(identity)\npath \(path)\n".utf8)
    }

    /// The text padded with NUL bytes to `fileLength`.
    var fileBytes: [UInt8] {
        let text = encoded
        return text + [UInt8](repeating: 0, count: max(Self.fileLength - text.count, 0))
    }

    /// The record in `bytes` (a record file: the text, then NUL padding), or nil when they are not a well-formed one.
    static func decode(_ file: ArraySlice<UInt8>) -> PartialRecord? {
        guard file.count <= maximumLength else { return nil }
        let bytes = file.prefix { $0 != 0 }
        guard file[bytes.endIndex...].allSatisfy({ $0 == 0 }), bytes.last == UInt8(ascii: "\n") else { return nil }
        let lines = bytes.dropLast().split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        guard lines.count == 5, lines[0] == magic,
              let size = field("size", lines[1]).flatMap({ UInt64($0) }),
              let offset = field("offset", lines[2]).flatMap({ UInt64($0) }), offset <= size,
              let identity = field("identity", lines[3]), !identity.isEmpty,
              let path = field("path", lines[4]), !path.isEmpty else { return nil }
        return PartialRecord(identity: identity, path: path, size: size, offset: offset)
    }

    /// On bytes: a value that begins with a combining mark joins the space before it into one Swift Character, and
    /// `hasPrefix` on Characters would never find the field (the partial then discarded at every look).
    private static func field(_ name: String, _ line: String) -> String? {
        let prefix = Array((name + " ").utf8)
        guard line.utf8.starts(with: prefix) else { return nil }
        return String(decoding: line.utf8.dropFirst(prefix.count), as: UTF8.self)
    }
}
